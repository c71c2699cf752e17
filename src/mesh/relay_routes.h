// RelayRoutes: the relay trees of relay once (docs/ARCHITECTURE.md "Relay trees"). Every node
// keeps, for every node it can reach (by node tag: the first 8 bytes of the endpoint id, which is
// also the tag of the timestamps it writes), the hop count and the neighbour it chose as its
// parent toward it: distance-vector routing (Bellman-Ford) over the neighbours' adverts, ties to
// the smallest neighbour tag, poisoned reverse, at most kMaxHops hops. A relay pushes a state
// whole to a neighbour that named it parent for the state's writer and offers it to the others;
// a receiver expects its parent's copy before fetching an offer. Each change then travels once
// per node, along a shortest path. The table is advisory: while it converges after a topology
// change, offers still deliver everything.
//
// Pure data; not thread-safe (the mesh's loop owns it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peat::mesh {

struct RelayRoute {
  uint64_t origin = 0;  // the node tag this route leads to
  uint32_t hops = 0;    // kUnreachableHops: "not through me" (poisoned reverse)
  uint64_t parent = 0;  // the advertiser's next hop toward `origin` (0: it is the origin)
  friend bool operator==(const RelayRoute&, const RelayRoute&) = default;
};

// The node tag of an endpoint id, or of an offer's writer hint (the first 16 hex digits), 0 if
// it has none.
uint64_t NodeTagOfEndpoint(std::string_view endpoint_id);
// The 16 lowercase hex digits of a node tag (an endpoint id's prefix).
std::string NodeTagHex(uint64_t tag);
// The writer of a document state: the node tag of its newest timestamp; 0 if it does not decode.
uint64_t WriterTag(std::string_view state);

// Routes accepted in one RouteAdvert (a formation larger than this relays by offers alone).
inline constexpr size_t kMaxAdvertRoutes = 65536;

class RelayRoutes {
 public:
  static constexpr uint32_t kMaxHops = 32;
  static constexpr uint32_t kUnreachableHops = UINT32_MAX;

  explicit RelayRoutes(uint64_t self_tag) : self_(self_tag) { Recompute(); }

  // A neighbour's advert (replaces its previous one). A neighbour is reachable in one hop even
  // before its first advert. Returns true when our own table changed (advertise it again).
  bool SetNeighbour(uint64_t neighbour, const std::vector<RelayRoute>& advert);
  // The link to `neighbour` is gone. Returns true when our table changed.
  bool RemoveNeighbour(uint64_t neighbour);

  // Our next hop toward `origin`: nullopt when `origin` is us or unreachable.
  std::optional<uint64_t> Parent(uint64_t origin) const;
  // Whether `neighbour`'s last advert named us its parent toward `origin`.
  bool NamesUsParent(uint64_t neighbour, uint64_t origin) const;
  // Our table as advertised to `neighbour`: every reachable origin; the ones we reach through
  // `neighbour` with kUnreachableHops (so it never routes back through us) and parent = it.
  std::vector<RelayRoute> AdvertFor(uint64_t neighbour) const;
  bool HasNeighbour(uint64_t neighbour) const { return adverts_.count(neighbour) > 0; }
  std::vector<uint64_t> neighbours() const;
  // Reachable origins, ourselves included.
  size_t size() const { return table_.size(); }
  uint64_t self() const { return self_; }

 private:
  struct Entry {
    uint32_t hops = 0;
    uint64_t parent = 0;
    friend bool operator==(const Entry&, const Entry&) = default;
  };
  // Rebuilds table_ from the adverts; true if it changed.
  bool Recompute();

  uint64_t self_;
  // Per neighbour: its advert, by origin.
  std::map<uint64_t, std::map<uint64_t, RelayRoute>> adverts_;
  std::map<uint64_t, Entry> table_;  // by origin
};

}  // namespace peat::mesh

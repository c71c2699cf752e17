#include "mesh/relay_routes.h"

#include <charconv>
#include <cstdio>

#include "crdt/document.h"

namespace peat::mesh {

uint64_t NodeTagOfEndpoint(std::string_view endpoint_id) {
  if (endpoint_id.size() < 16) return 0;
  uint64_t tag = 0;
  auto [end, ec] = std::from_chars(endpoint_id.data(), endpoint_id.data() + 16, tag, 16);
  if (ec != std::errc() || end != endpoint_id.data() + 16) return 0;
  return tag == 0 ? 1 : tag;  // as the node's own tag (node.cc NodeTag)
}

std::string NodeTagHex(uint64_t tag) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(tag));
  return std::string(buf, 16);
}

uint64_t WriterTag(std::string_view state) {
  auto doc = crdt::Document::Decode(state);
  return doc.ok() ? doc->MaxTimestamp().node_tag : 0;
}

bool RelayRoutes::SetNeighbour(uint64_t neighbour, const std::vector<RelayRoute>& advert) {
  auto& routes = adverts_[neighbour];
  routes.clear();
  for (const RelayRoute& r : advert) routes[r.origin] = r;
  return Recompute();
}

bool RelayRoutes::RemoveNeighbour(uint64_t neighbour) {
  if (adverts_.erase(neighbour) == 0) return false;
  return Recompute();
}

std::vector<uint64_t> RelayRoutes::neighbours() const {
  std::vector<uint64_t> out;
  for (const auto& [n, routes] : adverts_) out.push_back(n);
  return out;
}

std::optional<uint64_t> RelayRoutes::Parent(uint64_t origin) const {
  auto it = table_.find(origin);
  if (it == table_.end() || it->second.parent == 0) return std::nullopt;
  return it->second.parent;
}

bool RelayRoutes::NamesUsParent(uint64_t neighbour, uint64_t origin) const {
  auto n = adverts_.find(neighbour);
  if (n == adverts_.end()) return false;
  auto r = n->second.find(origin);
  return r != n->second.end() && r->second.parent == self_;
}

std::vector<RelayRoute> RelayRoutes::AdvertFor(uint64_t neighbour) const {
  std::vector<RelayRoute> out;
  out.reserve(table_.size());
  for (const auto& [origin, e] : table_) {
    const bool through_it = e.parent == neighbour;
    out.push_back(RelayRoute{origin, through_it ? kUnreachableHops : e.hops, e.parent});
  }
  return out;
}

bool RelayRoutes::Recompute() {
  std::map<uint64_t, Entry> next;
  next[self_] = Entry{0, 0};
  for (const auto& advert : adverts_) {
    // A plain variable, not a structured binding: clang 14 cannot capture those in a lambda.
    const uint64_t neighbour = advert.first;
    // The neighbour itself, one hop away, whatever its advert says.
    auto consider = [&](uint64_t origin, uint32_t hops) {
      if (origin == self_ || hops > kMaxHops) return;
      auto [it, fresh] = next.try_emplace(origin, Entry{hops, neighbour});
      if (fresh) return;
      Entry& e = it->second;
      if (hops < e.hops || (hops == e.hops && neighbour < e.parent)) e = Entry{hops, neighbour};
    };
    consider(neighbour, 1);
    for (const auto& [origin, r] : advert.second) {
      if (r.hops >= kMaxHops) continue;  // unreachable through it, or too far
      consider(origin, r.hops + 1);
    }
  }
  if (next == table_) return false;
  table_ = std::move(next);
  return true;
}

}  // namespace peat::mesh

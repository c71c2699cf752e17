// RelayRoutes (mesh/relay_routes.h): distance vectors exchanged in rounds over small graphs until
// nothing changes — hop counts, parents (ties to the smaller tag), who names whom parent, the
// poisoned reverse, a link going away, and the helpers for tags and writers.
#include "mesh/relay_routes.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <utility>

#include "crdt/document.h"

namespace peat::mesh {
namespace {

// A graph of nodes tagged 1..n; every round each node advertises to each neighbour.
class Graph {
 public:
  explicit Graph(int n) {
    for (uint64_t t = 1; t <= static_cast<uint64_t>(n); ++t) nodes_.emplace(t, RelayRoutes(t));
  }
  void Link(uint64_t a, uint64_t b) {
    links_.insert({std::min(a, b), std::max(a, b)});
    nodes_.at(a).SetNeighbour(b, {});
    nodes_.at(b).SetNeighbour(a, {});
  }
  void Cut(uint64_t a, uint64_t b) {
    links_.erase({std::min(a, b), std::max(a, b)});
    nodes_.at(a).RemoveNeighbour(b);
    nodes_.at(b).RemoveNeighbour(a);
  }
  // Rounds until no table changes; returns how many it took.
  int Settle() {
    for (int round = 1; round <= 100; ++round) {
      std::map<std::pair<uint64_t, uint64_t>, std::vector<RelayRoute>> sent;
      for (auto [a, b] : links_) {
        sent[{a, b}] = nodes_.at(a).AdvertFor(b);
        sent[{b, a}] = nodes_.at(b).AdvertFor(a);
      }
      bool changed = false;
      for (auto& [edge, advert] : sent)
        changed |= nodes_.at(edge.second).SetNeighbour(edge.first, advert);
      if (!changed) return round;
    }
    return -1;
  }
  RelayRoutes& operator[](uint64_t t) { return nodes_.at(t); }

 private:
  std::map<uint64_t, RelayRoutes> nodes_;
  std::set<std::pair<uint64_t, uint64_t>> links_;
};

TEST(RelayRoutesTest, ALineRoutesEachWayThroughTheNextNode) {
  Graph g(4);  // 1 - 2 - 3 - 4
  g.Link(1, 2);
  g.Link(2, 3);
  g.Link(3, 4);
  EXPECT_GT(g.Settle(), 0);
  EXPECT_EQ(g[4].Parent(1), 3u);
  EXPECT_EQ(g[3].Parent(1), 2u);
  EXPECT_EQ(g[2].Parent(1), 1u);
  EXPECT_EQ(g[1].Parent(4), 2u);
  EXPECT_FALSE(g[1].Parent(1));   // ourselves
  EXPECT_FALSE(g[1].Parent(99));  // unknown
  EXPECT_EQ(g[1].size(), 4u);
  // 3 is 4's parent toward 1: 3 pushes 1's states to 4, 2 does not (not its neighbour anyway).
  EXPECT_TRUE(g[3].NamesUsParent(4, 1));
  EXPECT_FALSE(g[3].NamesUsParent(2, 1));  // 2 routes toward 1 directly
  EXPECT_TRUE(g[2].NamesUsParent(3, 1));
}

TEST(RelayRoutesTest, EqualPathsPickTheSmallerNeighbourTagSoOnlyOneRelayPushes) {
  Graph g(4);  // a diamond: 1 - 2 - 4 and 1 - 3 - 4
  g.Link(1, 2);
  g.Link(1, 3);
  g.Link(2, 4);
  g.Link(3, 4);
  g.Settle();
  EXPECT_EQ(g[4].Parent(1), 2u);
  EXPECT_TRUE(g[2].NamesUsParent(4, 1));
  EXPECT_FALSE(g[3].NamesUsParent(4, 1));
  EXPECT_EQ(g[1].Parent(4), 2u);
}

TEST(RelayRoutesTest, TheAdvertToTheParentIsPoisoned) {
  Graph g(3);
  g.Link(1, 2);
  g.Link(2, 3);
  g.Settle();
  for (const RelayRoute& r : g[3].AdvertFor(2)) {
    if (r.origin == 1) {
      EXPECT_EQ(r.hops, RelayRoutes::kUnreachableHops);  // "not through me"
      EXPECT_EQ(r.parent, 2u);
    }
    if (r.origin == 3) {
      EXPECT_EQ(r.hops, 0u);
    }
  }
}

TEST(RelayRoutesTest, ACutLinkMovesTheTreeAndAnIsolatedNodeIsForgotten) {
  Graph g(5);  // a ring 1-2-3-4-5-1
  for (uint64_t t = 1; t <= 5; ++t) g.Link(t, t % 5 + 1);
  g.Settle();
  EXPECT_EQ(g[3].Parent(1), 2u);
  g.Cut(1, 2);
  EXPECT_GT(g.Settle(), 0);
  EXPECT_EQ(g[3].Parent(1), 4u);  // the long way round: 3 - 4 - 5 - 1
  EXPECT_EQ(g[2].Parent(1), 3u);
  g.Cut(2, 3);  // 2 is alone now
  EXPECT_GT(g.Settle(), 0);
  EXPECT_FALSE(g[2].Parent(1));
  EXPECT_FALSE(g[3].Parent(2));
  EXPECT_EQ(g[2].size(), 1u);
}

TEST(RelayRoutesTest, TablesChangeOnlyWhenSomethingChanged) {
  RelayRoutes r(1);
  EXPECT_TRUE(r.SetNeighbour(2, {}));
  EXPECT_FALSE(r.SetNeighbour(2, {}));
  EXPECT_TRUE(r.SetNeighbour(2, {{3, 1, 2}}));  // 3 behind 2
  EXPECT_EQ(r.Parent(3), 2u);
  EXPECT_TRUE(r.SetNeighbour(2, {{3, RelayRoutes::kMaxHops + 5, 0}}));
  EXPECT_FALSE(r.Parent(3));  // too far: unreachable
  EXPECT_TRUE(r.RemoveNeighbour(2));
  EXPECT_FALSE(r.RemoveNeighbour(2));
}

TEST(RelayRoutesTest, TagsOfEndpointsAndWritersOfStates) {
  const std::string id = "00000000000000ab" + std::string(48, 'f');
  EXPECT_EQ(NodeTagOfEndpoint(id), 0xabu);
  EXPECT_EQ(NodeTagOfEndpoint("00000000000000ab"), 0xabu);
  EXPECT_EQ(NodeTagOfEndpoint(std::string(64, '0')), 1u);  // as node.cc: never 0
  EXPECT_EQ(NodeTagOfEndpoint("xyz"), 0u);
  EXPECT_EQ(NodeTagOfEndpoint("zzzzzzzzzzzzzzzz"), 0u);
  EXPECT_EQ(NodeTagHex(0xab), "00000000000000ab");
  crdt::Document doc;
  ASSERT_TRUE(doc.Put(R"({"a":1})", crdt::Timestamp{5 << 16, 0x77}).ok());
  ASSERT_TRUE(doc.Put(R"({"b":2})", crdt::Timestamp{9 << 16, 0x42}).ok());
  EXPECT_EQ(WriterTag(doc.Encode()), 0x42u);
  EXPECT_EQ(WriterTag("not a document"), 0u);
}

}  // namespace
}  // namespace peat::mesh

// Relay once (protocol 3): a change merged from a peer is passed on as an offer, and a node
// fetches each offered state once, whichever neighbours offer it; when the peer it asked goes
// away, it asks another. Four meshes over the in-memory network (mesh_fixture.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mesh/mesh_fixture.h"
#include "peat/mesh/v1/mesh.pb.h"

namespace peat::mesh {
namespace {

using store::testing::PutSync;
using testing::kAddrA;
using testing::kAddrB;
using testing::kAddrC;
using testing::kIdA;
using testing::kIdB;
using testing::kIdC;

const std::string kIdD(64, 'd');
const std::string kAddrD = "127.0.0.1:4004";

class RelayOnceTest : public testing::MeshFixture {
 protected:
  // A node of these tests: offers only (the protocol 3 machinery, still every relay tree's
  // fallback) unless `trees_` is set, as it is in the relay-tree tests below.
  TestNode& Node(const std::string& id, const std::string& address,
                 std::vector<store::PeerRecord> static_peers = {}) {
    TestNode& n = AddNode(id, address, std::move(static_peers));
    if (!trees_) {
      n.tweak = [](MeshOptions& o) { o.session.relay_trees = false; };
      Recreate(n);
    }
    return n;
  }
  // A diamond: A–B, A–C, B–D, and C–D unless `c_meets_d` is false (each edge dialed by its
  // first node).
  void Diamond(bool c_meets_d = true) {
    a_ = &Node(kIdA, kAddrA, {{kIdB, {kAddrB}, true}, {kIdC, {kAddrC}, true}});
    b_ = &Node(kIdB, kAddrB, {{kIdD, {kAddrD}, true}});
    c_ = &Node(kIdC, kAddrC,
               c_meets_d ? std::vector<store::PeerRecord>{{kIdD, {kAddrD}, true}}
                         : std::vector<store::PeerRecord>{});
    d_ = &Node(kIdD, kAddrD);
  }
  // A triangle: A–B, A–D, B–D (each edge dialed by its first node), started and connected.
  void StartTriangle() {
    a_ = &Node(kIdA, kAddrA, {{kIdB, {kAddrB}, true}, {kIdD, {kAddrD}, true}});
    b_ = &Node(kIdB, kAddrB, {{kIdD, {kAddrD}, true}});
    d_ = &Node(kIdD, kAddrD);
    for (TestNode* n : {d_, b_, a_}) Start(*n);
    ASSERT_TRUE(WaitUntil(
        [&] { return Connected(*a_, kIdB) && Connected(*a_, kIdD) && Connected(*b_, kIdD); }));
  }
  void StartAll() {
    for (TestNode* n : {d_, c_, b_, a_}) Start(*n);  // listeners before their dialers
    ASSERT_TRUE(WaitUntil(
        [&] { return Connected(*a_, kIdB) && Connected(*a_, kIdC) && Connected(*d_, kIdB); }));
  }
  void PushEverywhere() {
    for (TestNode* n : {a_, b_, c_, d_}) {
      n->tweak = [](MeshOptions& o) { o.session.relay_offers = false; };  // no trees either
      Recreate(*n);
    }
  }
  uint64_t Metric(TestNode& n, const std::string& name) { return MetricValue(n, name); }

  // Relay trees: waits until `child` routes toward `origin` through `parent` and `parent` knows.
  bool TreeSettled(TestNode& child, TestNode& parent, const std::string& origin) {
    const uint64_t tag = NodeTagOfEndpoint(origin);
    return WaitUntil([&] {
      return child.mesh->RelayParent(tag) == NodeTagOfEndpoint(parent.id) &&
             parent.mesh->NamedParentBy(child.id, tag);
    });
  }

  bool trees_ = false;
  TestNode* a_ = nullptr;
  TestNode* b_ = nullptr;
  TestNode* c_ = nullptr;
  TestNode* d_ = nullptr;
};

v1::Frame Parse(const std::string& bytes) {
  v1::Frame f;
  f.ParseFromString(bytes);
  return f;
}

TEST_F(RelayOnceTest, EachNodeReceivesAChangeOnceThoughTwoNeighboursRelayIt) {
  Diamond();
  StartAll();
  ASSERT_TRUE(WaitUntil([&] { return Connected(*d_, kIdC); }));
  auto everyone_has = [&](const char* json) {
    return Get(*b_, "doc") == json && Get(*c_, "doc") == json && Get(*d_, "doc") == json;
  };
  auto received = [&](TestNode& n) { return Metric(n, "peat_mesh_changes_received_total"); };
  ASSERT_TRUE(PutSync(*a_->store, "c", "doc", R"({"v":1})").ok());
  ASSERT_TRUE(WaitUntil([&] { return everyone_has(R"({"v":1})"); }));
  // B, C and D each received the state once, though D hears of it from B and from C (which one
  // offers it first, and whether C gets A's copy before D's offer, depends on timing); D fetched
  // it once, and relays went as offers.
  EXPECT_EQ(received(*d_), 1u);
  EXPECT_EQ(Metric(*d_, "peat_mesh_states_wanted_total"), 1u);
  EXPECT_EQ(received(*b_) + received(*c_) + received(*d_), 3u);
  EXPECT_GE(Metric(*b_, "peat_mesh_offers_sent_total") + Metric(*c_, "peat_mesh_offers_sent_total"),
            1u);
  // A later update travels the same way.
  ASSERT_TRUE(PutSync(*a_->store, "c", "doc", R"({"v":2})").ok());
  ASSERT_TRUE(WaitUntil([&] { return everyone_has(R"({"v":2})"); }));
  EXPECT_EQ(received(*d_), 2u);
  EXPECT_EQ(received(*b_) + received(*c_) + received(*d_), 6u);
}

TEST_F(RelayOnceTest, PushModeSendsEveryRelayedChangeWhole) {
  Diamond();
  PushEverywhere();
  StartAll();
  ASSERT_TRUE(WaitUntil([&] { return Connected(*d_, kIdC); }));
  ASSERT_TRUE(PutSync(*a_->store, "c", "doc", R"({"v":1})").ok());
  // Counted as they arrive; merged a moment later.
  ASSERT_TRUE(WaitUntil([&] { return Metric(*d_, "peat_mesh_changes_received_total") >= 2; }));
  ASSERT_TRUE(WaitUntil([&] { return Get(*d_, "doc").has_value(); }));
  EXPECT_EQ(Get(*d_, "doc"), R"({"v":1})");
  EXPECT_EQ(Metric(*d_, "peat_mesh_offers_received_total"), 0u);
  EXPECT_EQ(Metric(*b_, "peat_mesh_offers_sent_total"), 0u);
}

TEST_F(RelayOnceTest, AnOfferWaitsForTheFetchUnderWayAndAsksItsOwnPeerWhenThatOneGoesAway) {
  // B never answers a want: D's fetch from B hangs until B goes away.
  net_.DropFrames(kIdB, [](const std::string& bytes) { return Parse(bytes).has_want_reply(); });
  Diamond(/*c_meets_d=*/false);
  StartAll();
  ASSERT_TRUE(PutSync(*a_->store, "c", "doc", R"({"v":1})").ok());
  ASSERT_TRUE(WaitUntil([&] { return Metric(*d_, "peat_mesh_states_wanted_total") == 1; }));
  ASSERT_TRUE(WaitUntil([&] { return Metric(*c_, "peat_mesh_changes_received_total") == 1; }));
  // C meets D now and offers the same state: D waits for the fetch from B instead of asking C.
  ASSERT_EQ(ConnectPeer(*c_, kIdD, kAddrD).ToString(), "OK");
  ASSERT_TRUE(WaitUntil([&] { return Metric(*d_, "peat_mesh_offers_received_total") >= 2; }));
  Settle();
  EXPECT_EQ(Metric(*d_, "peat_mesh_states_wanted_total"), 1u);
  EXPECT_FALSE(Get(*d_, "doc").has_value());
  // B goes away: the batch from C asks C, and D gets the document (once).
  Stop(*b_);
  ASSERT_TRUE(WaitUntil([&] { return Get(*d_, "doc").has_value(); }));
  EXPECT_EQ(Get(*d_, "doc"), R"({"v":1})");
  EXPECT_EQ(Metric(*d_, "peat_mesh_states_wanted_total"), 2u);
  EXPECT_EQ(Metric(*d_, "peat_mesh_changes_received_total"), 1u);
}

TEST_F(RelayOnceTest, AnOfferFromTheWritersNeighbourWaitsForTheWritersOwnCopy) {
  // A triangle: D hears of A's change from A itself and from B (an offer naming A as its
  // source). Whichever arrives first, D fetches nothing.
  ASSERT_NO_FATAL_FAILURE(StartTriangle());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(PutSync(*a_->store, "c", "doc" + std::to_string(i), R"({"v":1})").ok());
  }
  ASSERT_TRUE(WaitUntil([&] { return Get(*d_, "doc19").has_value(); }));
  ASSERT_TRUE(WaitUntil([&] { return Metric(*d_, "peat_mesh_offers_received_total") >= 20; }));
  Settle();
  EXPECT_EQ(Metric(*d_, "peat_mesh_states_wanted_total"), 0u);
  EXPECT_EQ(Metric(*d_, "peat_mesh_changes_received_total"), 20u);
}

TEST_F(RelayOnceTest, AnExpectedCopyThatDoesNotComeIsFetchedFromTheOfferingPeer) {
  // A and B, B and D are linked; the link A–D made later loses every batch A sends on it.
  a_ = &Node(kIdA, kAddrA, {{kIdB, {kAddrB}, true}});
  b_ = &Node(kIdB, kAddrB, {{kIdD, {kAddrD}, true}});
  d_ = &Node(kIdD, kAddrD);
  for (TestNode* n : {d_, b_, a_}) Start(*n);
  ASSERT_TRUE(WaitUntil([&] { return Connected(*a_, kIdB) && Connected(*b_, kIdD); }));
  net_.DropFrames(kIdA, [](const std::string& bytes) { return Parse(bytes).has_changes(); });
  ASSERT_EQ(ConnectPeer(*d_, kIdA, kAddrA).ToString(), "OK");
  ASSERT_TRUE(WaitUntil([&] { return Connected(*a_, kIdD); }));
  ASSERT_TRUE(PutSync(*a_->store, "c", "doc", R"({"v":1})").ok());
  // B's offer names A, whose stream D reads: D waits for A's copy (which never comes) ...
  ASSERT_TRUE(WaitUntil([&] { return Metric(*d_, "peat_mesh_offers_received_total") == 1; }));
  Settle();
  EXPECT_EQ(Metric(*d_, "peat_mesh_states_wanted_total"), 0u);
  EXPECT_FALSE(Get(*d_, "doc").has_value());
  // ... for max(2 × RTT + 10 ms, 200 ms) (no RTT sample yet: 200 ms), then asks B.
  clock_.Advance(std::chrono::milliseconds(199));
  Settle();
  EXPECT_EQ(Metric(*d_, "peat_mesh_states_wanted_total"), 0u);
  clock_.Advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(WaitUntil([&] { return Get(*d_, "doc").has_value(); }));
  EXPECT_EQ(Metric(*d_, "peat_mesh_states_wanted_total"), 1u);
  EXPECT_EQ(Metric(*d_, "peat_mesh_changes_received_total"), 1u);
}

TEST_F(RelayOnceTest, ABatchWithNothingToMergeIsAcknowledgedAtOnceAndCheckpointedASecondLater) {
  // A triangle, offers only: B's batches to D offer states D got from A itself.
  ASSERT_NO_FATAL_FAILURE(StartTriangle());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(PutSync(*a_->store, "c", "doc" + std::to_string(i), R"({"v":1})").ok());
    ASSERT_TRUE(WaitUntil([&] { return Get(*d_, "doc" + std::to_string(i)).has_value(); }));
  }
  ASSERT_TRUE(WaitUntil([&] { return Metric(*d_, "peat_mesh_offers_received_total") >= 20; }));
  Settle();
  EXPECT_GT(Metric(*d_, "peat_mesh_checkpoints_deferred_total"), 0u);
  // D acknowledged B's whole feed (B's drain does not wait for D) ...
  EXPECT_TRUE(b_->mesh->Drain(clock_.Now() + std::chrono::seconds(5)));
  // ... and writes the checkpoint of the deferred batches a second later.
  clock_.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(WaitUntil([&] {
    auto cp = d_->store->GetCheckpoint(kIdB);
    return cp.ok() && cp->seq == b_->store->LastSeq();
  }));
}

TEST_F(RelayOnceTest, ATreeParentPushesWholeAndTheOtherNeighbourOnlyOffers) {
  trees_ = true;
  Diamond();
  StartAll();
  ASSERT_TRUE(WaitUntil([&] { return Connected(*d_, kIdC); }));
  // D reaches A through B and through C, two hops each: the smaller tag, B, is its parent.
  ASSERT_TRUE(TreeSettled(*d_, *b_, kIdA));
  ASSERT_TRUE(TreeSettled(*b_, *a_, kIdA));
  ASSERT_TRUE(TreeSettled(*c_, *a_, kIdA));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(PutSync(*a_->store, "c", "doc" + std::to_string(i), R"({"v":1})").ok());
  }
  ASSERT_TRUE(WaitUntil([&] { return Get(*d_, "doc9").has_value(); }));
  ASSERT_TRUE(WaitUntil([&] { return Metric(*d_, "peat_mesh_offers_received_total") >= 10; }));
  Settle();
  // Every change reached D once, whole, from B; C offered each and D never had to ask.
  EXPECT_EQ(Metric(*d_, "peat_mesh_changes_received_total"), 10u);
  EXPECT_EQ(Metric(*d_, "peat_mesh_states_wanted_total"), 0u);
  EXPECT_EQ(Metric(*b_, "peat_mesh_offers_sent_total"), 0u);
  EXPECT_EQ(Metric(*c_, "peat_mesh_offers_sent_total"), 10u);
  // Offers held back while a batch was in flight all went out, and D's checkpoints of both
  // relays' feeds reach their heads.
  clock_.Advance(std::chrono::seconds(1));
  for (TestNode* relay : {b_, c_}) {
    ASSERT_TRUE(WaitUntil([&] {
      auto cp = d_->store->GetCheckpoint(relay->id);
      return cp.ok() && cp->seq == relay->store->LastSeq();
    })) << relay->id;
  }
}

TEST_F(RelayOnceTest, WhenTheParentGoesAwayTheTreeMovesToTheOtherNeighbour) {
  trees_ = true;
  Diamond();
  StartAll();
  ASSERT_TRUE(WaitUntil([&] { return Connected(*d_, kIdC); }));
  ASSERT_TRUE(TreeSettled(*d_, *b_, kIdA));
  Stop(*b_);
  ASSERT_TRUE(TreeSettled(*d_, *c_, kIdA));
  ASSERT_TRUE(PutSync(*a_->store, "c", "doc", R"({"v":1})").ok());
  ASSERT_TRUE(WaitUntil([&] { return Get(*d_, "doc").has_value(); }));
  Settle();
  EXPECT_EQ(Metric(*d_, "peat_mesh_changes_received_total"), 1u);
  EXPECT_EQ(Metric(*d_, "peat_mesh_states_wanted_total"), 0u);
  EXPECT_EQ(Metric(*c_, "peat_mesh_offers_sent_total"), 0u);  // C pushed it whole
}

TEST_F(RelayOnceTest, ARelayPassesAStateToItsTreeChildBeforeItsOwnFeedHasIt) {
  trees_ = true;
  // Every change batch B sends (to A they carry nothing of A's): the through_seq it claims and
  // the documents whose states it carries.
  struct Sent {
    uint64_t through;
    std::vector<std::string> docs;
  };
  std::mutex mu;
  std::vector<Sent> sent;
  net_.DropFrames(kIdB, [&](const std::string& bytes) {
    v1::Frame f = Parse(bytes);
    if (f.has_changes()) {
      Sent s{f.changes().through_seq(), {}};
      for (const auto& c : f.changes().changes()) {
        if (!c.state().empty()) s.docs.push_back(c.doc_id());
      }
      std::lock_guard lock(mu);
      sent.push_back(std::move(s));
    }
    return false;  // observed, not dropped
  });
  Diamond();
  StartAll();
  ASSERT_TRUE(WaitUntil([&] { return Connected(*d_, kIdC); }));
  ASSERT_TRUE(TreeSettled(*d_, *b_, kIdA));
  ASSERT_TRUE(TreeSettled(*b_, *a_, kIdA));
  ASSERT_TRUE(PutSync(*a_->store, "c", "doc", R"({"v":1})").ok());
  ASSERT_TRUE(WaitUntil([&] { return Get(*d_, "doc").has_value(); }));
  ASSERT_TRUE(b_->mesh->Drain(clock_.Now() + std::chrono::seconds(5)));
  Settle();
  // B merged the change as its feed entry `seq`; the batch that carried the state to D claimed
  // less (it went out before that entry existed) and no later batch carried it again.
  const uint64_t seq = b_->store->LastSeq();
  std::lock_guard lock(mu);
  size_t carried = 0;
  for (const auto& s : sent) {
    if (std::find(s.docs.begin(), s.docs.end(), "doc") == s.docs.end()) continue;
    ++carried;
    EXPECT_LT(s.through, seq);
  }
  EXPECT_EQ(carried, 1u);
  EXPECT_EQ(Metric(*b_, "peat_mesh_states_sent_ahead_total"), 1u);
  EXPECT_EQ(Metric(*d_, "peat_mesh_changes_received_total"), 1u);
  EXPECT_EQ(Metric(*d_, "peat_mesh_states_wanted_total"), 0u);
  // D's checkpoint of B's feed still reaches B's head (its feed batch moved it, state-less).
  clock_.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(WaitUntil([&] {
    auto cp = d_->store->GetCheckpoint(kIdB);
    return cp.ok() && cp->seq == seq;
  }));
}

TEST_F(RelayOnceTest, ABatchSentAheadDoesNotHoldBackTheFeedsOwnBatch) {
  trees_ = true;
  // From when `drop` is set, D's acknowledgements vanish: what B sends D stays in flight.
  auto drop = std::make_shared<std::atomic<bool>>(false);
  net_.DropFrames(kIdD, [drop, acks = AckFrames()](const std::string& bytes) {
    return drop->load() && acks(bytes);
  });
  Diamond(/*c_meets_d=*/false);  // D's only link is B
  for (TestNode* n : {a_, b_, c_, d_}) {
    n->tweak = [](MeshOptions& o) { o.session.window_batches = 1; };
    Recreate(*n);
  }
  StartAll();
  ASSERT_TRUE(TreeSettled(*d_, *b_, kIdA));
  ASSERT_TRUE(b_->mesh->Drain(clock_.Now() + std::chrono::seconds(5)));
  drop->store(true);
  // A's change reaches D in a batch B sends ahead, which is never acknowledged.
  ASSERT_TRUE(PutSync(*a_->store, "c", "relayed", R"({"v":1})").ok());
  ASSERT_TRUE(WaitUntil([&] { return Get(*d_, "relayed").has_value(); }));
  EXPECT_EQ(Metric(*b_, "peat_mesh_states_sent_ahead_total"), 1u);
  // D allows one batch in flight, yet B's own change goes out at once: the ahead batch is
  // counted apart from the feed's.
  ASSERT_TRUE(PutSync(*b_->store, "c", "local", R"({"v":2})").ok());
  EXPECT_TRUE(WaitUntil([&] { return Get(*d_, "local").has_value(); }));
  EXPECT_EQ(Metric(*d_, "peat_mesh_changes_received_total"), 2u);
}

}  // namespace
}  // namespace peat::mesh

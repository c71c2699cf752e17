// Mesh over an in-memory network (fake_network.h) with a fake clock: two or three meshes, each
// with its own SQLite store, on their real loop threads. Time moves only when a test advances
// it, so backoffs and deadlines are checked to the millisecond without sleeping; the tests wait
// for conditions by round trips through the mesh loops (a real-time bound is only a safety net).
#include "mesh/mesh.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/host_port.h"
#include "mesh/mesh_fixture.h"
#include "peat/mesh/v1/mesh.pb.h"

namespace peat::mesh {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using store::testing::PutSync;
using testing::Await;
using testing::kAddrA;
using testing::kAddrB;
using testing::kIdA;
using testing::kIdB;
using testing::kSafetyNet;
using MeshTest = testing::MeshFixture;

TEST_F(MeshTest, SimultaneousDialsEndWithTheSessionTheSmallerIdDialed) {
  // Both nodes boot with the other as a static peer and dial at once.
  net_.HoldDials();
  auto& a = AddNode(kIdA, kAddrA, {store::PeerRecord{kIdB, {kAddrB}, true}});
  auto& b = AddNode(kIdB, kAddrB, {store::PeerRecord{kIdA, {kAddrA}, true}});
  Start(a);
  Start(b);
  ASSERT_TRUE(WaitUntil([&] { return net_.held_dials() == 2; }));
  net_.ReleaseDials();

  ASSERT_TRUE(WaitUntil(
      [&] { return net_.open_links().size() == 1 && Connected(a, kIdB) && Connected(b, kIdA); }));
  // Both connections passed the handshake on both sides, then each side dropped the same one.
  EXPECT_EQ(MetricValue(a, "peat_mesh_sessions_established_total"), 2u);
  EXPECT_EQ(MetricValue(b, "peat_mesh_sessions_established_total"), 2u);
  auto links = net_.open_links();
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].dialer, kIdA);
  EXPECT_EQ(links[0].listener, kIdB);
  // The survivor is A's dial on both sides: A uses B's listen address, B the dialer's.
  auto a_view = Peer(a, kIdB);
  auto b_view = Peer(b, kIdA);
  ASSERT_TRUE(a_view && b_view);
  EXPECT_EQ(a_view->addresses, std::vector<std::string>{kAddrB});
  EXPECT_NE(b_view->addresses, std::vector<std::string>{kAddrA});
  EXPECT_EQ(a.mesh->connected_peers(), 1u);
  EXPECT_EQ(b.mesh->connected_peers(), 1u);
  // Neither side treats the dropped duplicate as a lost peer: nothing is redialed.
  Settle();
  EXPECT_EQ(net_.dial_count(kIdA), 1u);
  EXPECT_EQ(net_.dial_count(kIdB), 1u);
  EXPECT_EQ(net_.open_links().size(), 1u);
}

TEST_F(MeshTest, ADownPeerIsRedialedWithJitteredBackoffCappedAt60sAndResetAfterSuccess) {
  auto& a = AddNode(kIdA, kAddrA, {store::PeerRecord{kIdB, {kAddrB}, true}});
  Start(a);
  // Dialed at once at boot; the peer is not there.
  ASSERT_TRUE(WaitUntil([&] { return net_.dial_count(kIdA) == 1 && clock_.NextExpiry(); }));
  EXPECT_EQ(net_.dials()[0].at, clock_.Now());
  EXPECT_EQ(net_.dials()[0].address, kAddrB);

  const int64_t bases_ms[] = {1'000, 2'000, 4'000, 8'000, 16'000, 32'000, 60'000, 60'000, 60'000};
  for (size_t i = 0; i < std::size(bases_ms); ++i) {
    SCOPED_TRACE("redial " + std::to_string(i + 1));
    const auto delay = PendingDelay();
    // Equal jitter: uniform in [base/2, base].
    EXPECT_GE(delay.count(), bases_ms[i] / 2);
    EXPECT_LE(delay.count(), bases_ms[i]);
    const auto due = clock_.Now() + delay;
    // Not a millisecond early...
    clock_.AdvanceTo(due - milliseconds(1));
    Settle();
    EXPECT_EQ(net_.dial_count(kIdA), i + 1);
    // ...and on time.
    clock_.AdvanceTo(due);
    ASSERT_TRUE(WaitUntil([&] { return net_.dial_count(kIdA) == i + 2 && clock_.NextExpiry(); }));
    EXPECT_EQ(net_.dials().back().at, due);
  }

  // The peer comes up: the next redial connects.
  auto& b = AddNode(kIdB, kAddrB);
  Start(b);
  clock_.AdvanceTo(clock_.Now() + PendingDelay());
  ASSERT_TRUE(WaitUntil([&] { return Connected(a, kIdB) && Connected(b, kIdA); }));
  const size_t dials = net_.dial_count(kIdA);

  // It goes away again: redials start over from 1 s.
  Stop(b);
  ASSERT_TRUE(WaitUntil([&] { return !Connected(a, kIdB) && clock_.pending_timers() == 1; }));
  auto delay = PendingDelay();
  EXPECT_GE(delay.count(), 500);
  EXPECT_LE(delay.count(), 1'000);
  clock_.Advance(delay);
  ASSERT_TRUE(WaitUntil([&] { return net_.dial_count(kIdA) == dials + 1 && clock_.NextExpiry(); }));
  delay = PendingDelay();
  EXPECT_GE(delay.count(), 1'000);
  EXPECT_LE(delay.count(), 2'000);
}

TEST_F(MeshTest, ALostPeerIsRedialedAtMostTwoSecondsApartForTwoMinutesThenBacksOff) {
  auto& a = AddNode(kIdA, kAddrA, {store::PeerRecord{kIdB, {kAddrB}, true}});
  auto& b = AddNode(kIdB, kAddrB);
  Start(b);
  Start(a);
  ASSERT_TRUE(WaitUntil([&] { return Connected(a, kIdB) && Connected(b, kIdA); }));
  Stop(b);  // the link is cut
  ASSERT_TRUE(WaitUntil([&] { return !Connected(a, kIdB) && clock_.pending_timers() == 1; }));
  const auto lost = clock_.Now();
  int redials = 0;
  while (clock_.Now() + PendingDelay() - lost < seconds(120)) {
    const auto delay = PendingDelay();
    EXPECT_LE(delay.count(), 2'000) << "redial " << redials + 1;
    const size_t dials = net_.dial_count(kIdA);
    clock_.Advance(delay);
    ASSERT_TRUE(
        WaitUntil([&] { return net_.dial_count(kIdA) == dials + 1 && clock_.NextExpiry(); }));
    ++redials;
  }
  EXPECT_GE(redials, 60);  // ≥ one every 2 s
  // Past the window the backoff has grown underneath: the next delays are the long ones.
  clock_.Advance(PendingDelay());
  ASSERT_TRUE(WaitUntil([&] { return clock_.NextExpiry().has_value(); }));
  Settle();
  EXPECT_GE(PendingDelay().count(), 30'000);
}

TEST_F(MeshTest, ASavedAddressTodaysGrammarRefusesIsLoggedAndNotDialed) {
  auto& a = AddNode(kIdA, kAddrA);
  // As an older build may have saved it: one address with a zone id, one good one.
  auto saved = Await<Status>([&](auto done) {
    a.store->SavePeer(store::PeerRecord{kIdB, {"[fe80::1%eth0]:4002", kAddrB}, false}, done);
  });
  ASSERT_TRUE(saved.has_value() && saved->ok());
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  Start(a);
  spdlog::set_default_logger(previous);
  EXPECT_NE(log.str().find("saved address is not dialed: " +
                           ParseHostPort("[fe80::1%eth0]:4002").status().message()),
            std::string::npos)
      << log.str();
  // Only the refused address is reported (the mesh may also log its dial of the good one).
  const std::string text = log.str();
  size_t reports = 0;
  for (size_t at = text.find("is not dialed"); at != std::string::npos;
       at = text.find("is not dialed", at + 1)) {
    ++reports;
  }
  EXPECT_EQ(reports, 1u) << text;
  auto b = Peer(a, kIdB);
  ASSERT_TRUE(b.has_value());  // still registered, and dialed at its good address
}

TEST_F(MeshTest, DisconnectPeerUnregistersClosesAndNeverRedials) {
  auto& a = AddNode(kIdA, kAddrA);
  auto& b = AddNode(kIdB, kAddrB);
  Start(a);
  Start(b);
  ASSERT_EQ(ConnectPeer(a, kIdB, kAddrB).ToString(), "OK");
  ASSERT_TRUE(WaitUntil([&] { return Connected(a, kIdB) && Connected(b, kIdA); }));
  auto records = a.store->ListPeerRecords();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);  // registered, persisted

  ASSERT_TRUE(DisconnectPeer(a, kIdB).ok());
  EXPECT_TRUE(Peers(a).empty());  // at once
  ASSERT_TRUE(WaitUntil([&] { return net_.open_links().empty() && Peers(b).empty(); }));
  records = a.store->ListPeerRecords();
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());

  // Five minutes, well past the longest backoff: nobody dials anybody.
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(seconds(30));
    Settle();
  }
  EXPECT_EQ(net_.dial_count(kIdA), 1u);
  EXPECT_EQ(net_.dial_count(kIdB), 0u);
  EXPECT_TRUE(net_.open_links().empty());
  EXPECT_TRUE(Peers(a).empty());

  // An unknown peer is not an error.
  EXPECT_TRUE(DisconnectPeer(a, std::string(64, 'c')).ok());
}

TEST_F(MeshTest, DrainReturnsOnceThePeerAckedOurFeedHead) {
  auto& a = AddNode(kIdA, kAddrA);
  auto& b = AddNode(kIdB, kAddrB);
  Start(a);
  Start(b);
  EXPECT_TRUE(a.mesh->Drain(clock_.Now()));  // no peers: nothing to wait for

  ASSERT_TRUE(PutSync(*a.store, "c", "d0", R"({"v":0})").ok());
  ASSERT_EQ(ConnectPeer(a, kIdB, kAddrB).ToString(), "OK");
  ASSERT_TRUE(WaitUntil([&] { return Get(b, "d0").has_value(); }));  // B streams A's feed

  ASSERT_TRUE(PutSync(*a.store, "c", "d1", R"({"v":1})").ok());
  const auto before = clock_.Now();
  // The clock never moves: only B's acknowledgement can end this with true.
  EXPECT_TRUE(a.mesh->Drain(before + seconds(10)));
  EXPECT_EQ(clock_.Now(), before);
  EXPECT_EQ(Get(b, "d1"), R"({"v":1})");
}

TEST_F(MeshTest, DrainGivesUpAtTheDeadlineWhenThePeerNeverAcks) {
  net_.DropFrames(kIdB, AckFrames());
  auto& a = AddNode(kIdA, kAddrA);
  auto& b = AddNode(kIdB, kAddrB);
  Start(a);
  Start(b);
  ASSERT_TRUE(PutSync(*a.store, "c", "d0", R"({"v":0})").ok());
  ASSERT_EQ(ConnectPeer(a, kIdB, kAddrB).ToString(), "OK");
  ASSERT_TRUE(WaitUntil([&] { return Get(b, "d0").has_value(); }));  // merged, never acked

  std::promise<bool> answered;
  auto answered_future = answered.get_future();
  a.mesh->DrainAsync(clock_.Now() + seconds(5),
                     [&answered](bool caught_up) { answered.set_value(caught_up); });
  Settle();
  clock_.Advance(milliseconds(4'999));
  Settle();
  EXPECT_EQ(answered_future.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  EXPECT_TRUE(Connected(a, kIdB));

  clock_.Advance(milliseconds(1));
  ASSERT_EQ(answered_future.wait_for(kSafetyNet), std::future_status::ready);
  EXPECT_FALSE(answered_future.get());
  // Blocking form, deadline already passed: false without waiting.
  EXPECT_FALSE(a.mesh->Drain(clock_.Now()));
}

TEST_F(MeshTest, ListPeersGivesEachConnectionsLagContactAndBytes) {
  net_.DropFrames(kIdB, AckFrames());  // B merges A's feed but A never hears it acknowledged
  auto& a = AddNode(kIdA, kAddrA);
  auto& b = AddNode(kIdB, kAddrB);
  Start(a);
  Start(b);
  ASSERT_TRUE(PutSync(*a.store, "c", "d0", R"({"v":0})").ok());
  ASSERT_TRUE(PutSync(*a.store, "c", "d1", R"({"v":1})").ok());
  ASSERT_EQ(ConnectPeer(a, kIdB, kAddrB).ToString(), "OK");
  ASSERT_TRUE(WaitUntil([&] { return Get(b, "d1").has_value(); }));
  auto link = [](TestNode& n, const std::string& id) {
    auto v = Peer(n, id);
    return v && v->link ? v->link : std::nullopt;
  };
  // A: both writes stay unacknowledged. B: its feed holds A's two states too (relayed); A reads
  // past them (echoes, not sent back) and acknowledges them, so both directions settle at 0.
  ASSERT_TRUE(WaitUntil([&] {
    auto ab = link(a, kIdB);
    auto ba = link(b, kIdA);
    return ab && ba && ab->unacked_changes == 2 && ab->unmerged_changes == 0 &&
           ba->unacked_changes == 0 && ba->unmerged_changes == 0;
  }));
  auto ab = link(a, kIdB);
  ASSERT_TRUE(ab);
  EXPECT_GT(ab->bytes_received, 0u);
  EXPECT_GT(link(b, kIdA)->bytes_sent, 0u);
  ASSERT_TRUE(ab->last_contact_ms.has_value());
  EXPECT_EQ(*ab->last_contact_ms, 0);  // the fake clock has not moved
  clock_.Advance(milliseconds(700));
  ab = link(a, kIdB);
  ASSERT_TRUE(ab && ab->last_contact_ms);
  EXPECT_EQ(*ab->last_contact_ms, 700);
}

TEST_F(MeshTest, ConnectPeerRefusesWhatPeerRefusesAndSaysWhy) {
  // The grammar of --peer (app/config.cc; config_test checks the same inputs there).
  auto& a = AddNode(kIdA, kAddrA);
  Start(a);
  for (const std::string bad :
       {"bad host:4002", "bad!host:4002", "999.1.1.1:4002", "[zz::1]:4002", "::1:4002",
        "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1", ":4002"}) {
    SCOPED_TRACE(bad);
    const Status st = ConnectPeer(a, kIdB, bad);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(st.message(),
              "addresses: no usable address: " + ParseHostPort(bad).status().message());
  }
  EXPECT_EQ(net_.dial_count(kIdA), 0u);
}

}  // namespace
}  // namespace peat::mesh

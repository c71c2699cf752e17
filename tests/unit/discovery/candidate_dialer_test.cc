#include "discovery/candidate_dialer.h"

#include <gtest/gtest.h>

#include "common/fake_clock.h"

namespace peat::discovery {
namespace {

using namespace std::chrono_literals;

const std::string kSelf(64, 'a');
const std::string kPeer(64, 'b');

// Answers ListPeers from `views` and ConnectPeer with `next_result` at once, or holds the
// ConnectPeer callback when `hold` is set; counts the dials.
class FakePeers : public PeerControl {
 public:
  void ConnectPeer(std::string endpoint_id, std::vector<std::string> addresses,
                   Done done) override {
    dialed.push_back(endpoint_id);
    last_addresses = std::move(addresses);
    if (hold) {
      held = std::move(done);
      return;
    }
    done(next_result);
  }
  void DisconnectPeer(std::string, Done done) override { done(Status::Ok()); }
  void ListPeers(std::function<void(std::vector<PeerView>)> done) override { done(views); }
  void SetSyncActive(bool) override {}
  bool sync_active() const override { return true; }
  void GetSyncStats(std::function<void(SyncStats)> done) override { done({}); }

  std::vector<PeerView> views;
  Status next_result = Status::Ok();
  bool hold = false;
  Done held;
  std::vector<std::string> dialed;
  std::vector<std::string> last_addresses;
};

class CandidateDialerTest : public ::testing::Test {
 protected:
  std::string Propose(const std::string& id = kPeer) {
    // Shared: a held dial answers after this returns.
    auto outcome = std::make_shared<std::string>("(none)");
    dialer->Propose(PeerCandidate{id, {"10.0.0.2:7000"}, CandidateSource::kMdns},
                    [outcome](std::string_view o) { *outcome = std::string(o); });
    return *outcome;
  }

  testing::FakeClock clock;
  FakePeers peers;
  DiscoveryMetrics metrics;
  std::shared_ptr<CandidateDialer> dialer = std::make_shared<CandidateDialer>(
      CandidateDialerOptions{kSelf, 10min, 30s, 30s}, peers, clock, metrics);
};

TEST_F(CandidateDialerTest, DialsANewPeerOnceAndCountsIt) {
  EXPECT_EQ(Propose(), "ok");
  EXPECT_EQ(peers.dialed, std::vector<std::string>{kPeer});
  EXPECT_EQ(peers.last_addresses, std::vector<std::string>{"10.0.0.2:7000"});
  EXPECT_EQ(metrics.dials(CandidateSource::kMdns, "ok"), 1u);
  std::string out;
  metrics.Append(out);
  EXPECT_NE(out.find("peat_discovery_dials_total{source=\"mdns\",result=\"ok\"} 1"),
            std::string::npos)
      << out;
}

TEST_F(CandidateDialerTest, SkipsSelf) {
  EXPECT_EQ(Propose(kSelf), "self");
  EXPECT_TRUE(peers.dialed.empty());
  EXPECT_EQ(metrics.skips(CandidateSource::kMdns, "self"), 1u);
}

TEST_F(CandidateDialerTest, SkipsConnectedPeers) {
  peers.views = {PeerView{kPeer, {"10.0.0.2:7000"}, true, std::nullopt}};
  EXPECT_EQ(Propose(), "connected");
  EXPECT_TRUE(peers.dialed.empty());
  // Registered but not connected: dialed.
  peers.views = {PeerView{kPeer, {"10.0.0.2:7000"}, false, std::nullopt}};
  EXPECT_EQ(Propose(), "ok");
  EXPECT_EQ(peers.dialed.size(), 1u);
}

TEST_F(CandidateDialerTest, OneDialInFlightPerPeer) {
  peers.hold = true;
  EXPECT_EQ(Propose(), "(none)");
  EXPECT_EQ(Propose(), "dialing");
  EXPECT_EQ(peers.dialed.size(), 1u);
  peers.held(Status::Ok());
  EXPECT_EQ(metrics.dials(CandidateSource::kMdns, "ok"), 1u);
}

TEST_F(CandidateDialerTest, ARefusedHandshakeHoldsThePeerOffForTheRefusedHoldoff) {
  peers.next_result = PermissionDeniedError("formation proof mismatch");
  EXPECT_EQ(Propose(), "refused");
  clock.Advance(9min);
  EXPECT_EQ(Propose(), "recent_failure");
  EXPECT_EQ(Propose(), "recent_failure");
  EXPECT_EQ(peers.dialed.size(), 1u);
  EXPECT_EQ(metrics.skips(CandidateSource::kMdns, "recent_failure"), 2u);
  clock.Advance(1min);
  EXPECT_EQ(Propose(), "refused");
  EXPECT_EQ(peers.dialed.size(), 2u);
  EXPECT_EQ(metrics.dials(CandidateSource::kMdns, "refused"), 2u);
}

TEST_F(CandidateDialerTest, AnUnreachablePeerIsRetriedAfterTheShorterHoldoff) {
  peers.next_result = UnavailableError("connection refused");
  EXPECT_EQ(Propose(), "unreachable");
  clock.Advance(29s);
  EXPECT_EQ(Propose(), "recent_failure");
  clock.Advance(1s);
  peers.next_result = Status::Ok();
  EXPECT_EQ(Propose(), "ok");
  EXPECT_EQ(peers.dialed.size(), 2u);
}

TEST_F(CandidateDialerTest, ASuccessfulDialIsNotRepeatedWithinTheSuccessHoldoff) {
  EXPECT_EQ(Propose(), "ok");
  clock.Advance(10s);
  EXPECT_EQ(Propose(), "recent_success");
  clock.Advance(20s);
  EXPECT_EQ(Propose(), "ok");
  EXPECT_EQ(peers.dialed.size(), 2u);
}

TEST_F(CandidateDialerTest, HoldoffsArePerPeer) {
  const std::string other(64, 'c');
  peers.next_result = PermissionDeniedError("no");
  EXPECT_EQ(Propose(kPeer), "refused");
  peers.next_result = Status::Ok();
  EXPECT_EQ(Propose(other), "ok");
}

TEST(CandidateDialerResultLabel, MapsStatusCodes) {
  EXPECT_EQ(CandidateDialer::ResultLabel(Status::Ok()), "ok");
  EXPECT_EQ(CandidateDialer::ResultLabel(PermissionDeniedError("x")), "refused");
  EXPECT_EQ(CandidateDialer::ResultLabel(UnavailableError("x")), "unreachable");
  EXPECT_EQ(CandidateDialer::ResultLabel(InvalidArgumentError("x")), "error");
}

}  // namespace
}  // namespace peat::discovery

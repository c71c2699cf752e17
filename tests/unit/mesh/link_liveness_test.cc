// LinkLiveness on a FakeClock: the floor rules on a LAN, the bound follows the measured RTT on a
// slow lossy link (and stays above the silence TCP's loss repair causes there), the ceiling caps
// it, contact and excused stalls move the deadline, and only the timed Ping's Pong is a sample.
#include "mesh/link_liveness.h"

#include <gtest/gtest.h>

#include <random>

#include "common/fake_clock.h"

namespace peat::mesh {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

LivenessOptions Defaults() { return LivenessOptions{}; }  // ping 1 s, floor 2.5 s, ceiling 30 s

// One ping → pong over a link of `one_way` delay where each segment is lost with probability
// `loss` and retransmitted after `rto`, doubling per loss (TCP's backoff).
milliseconds LossyRoundTrip(std::mt19937& rng, double loss, milliseconds one_way,
                            milliseconds rto) {
  std::bernoulli_distribution lost(loss);
  milliseconds total{0};
  for (int leg = 0; leg < 2; ++leg) {
    total += one_way;
    for (milliseconds backoff = rto; lost(rng); backoff *= 2) total += backoff;
  }
  return total;
}

TEST(LinkLivenessTest, OnALanTheFloorRulesAndTheLinkIsDeadExactlyThere) {
  testing::FakeClock clock;
  LinkLiveness live(Defaults(), clock.Now());
  for (int i = 0; i < 20; ++i) live.OnRttSample(std::chrono::microseconds(100 + 50 * (i % 3)));
  EXPECT_EQ(live.DeadAfter(), milliseconds(2500));
  clock.Advance(milliseconds(2499));
  EXPECT_FALSE(live.Dead(clock.Now()));
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(live.Dead(clock.Now()));
}

TEST(LinkLivenessTest, ContactPushesTheDeadlineBack) {
  testing::FakeClock clock;
  LinkLiveness live(Defaults(), clock.Now());
  for (int i = 0; i < 10; ++i) {
    clock.Advance(milliseconds(2000));
    live.OnContact(clock.Now());
    EXPECT_FALSE(live.Dead(clock.Now() + milliseconds(2499)));
  }
  EXPECT_EQ(live.last_contact(), clock.Now());
  EXPECT_EQ(live.Deadline(), clock.Now() + milliseconds(2500));
}

TEST(LinkLivenessTest, OnA200msTenPercentLossLinkTheBoundCoversTcpsLossRepair) {
  // The B7 link: 100 ms each way, 10 % loss each way; TCP retransmits after ~400 ms there.
  testing::FakeClock clock;
  LinkLiveness live(Defaults(), clock.Now());
  std::mt19937 rng(7);
  const milliseconds four_losses_in_a_row =
      milliseconds(1000) + milliseconds(200) + milliseconds(400) * (1 + 2 + 4 + 8);  // 7.2 s
  for (int i = 0; i < 3000; ++i) {
    live.OnRttSample(LossyRoundTrip(rng, 0.10, milliseconds(100), milliseconds(400)));
    if (i < 30) continue;  // warm-up: a handful of samples
    ASSERT_GT(live.DeadAfter(), four_losses_in_a_row) << "sample " << i;
    ASSERT_LE(live.DeadAfter(), seconds(30));
  }
  // The same link without loss: RTT 200 ms, nothing varies; the bound is a few seconds.
  LinkLiveness clean(Defaults(), clock.Now());
  for (int i = 0; i < 400; ++i) clean.OnRttSample(milliseconds(200));
  EXPECT_GE(clean.DeadAfter(), milliseconds(3500));  // 1 s + 16 × ~200 ms
  EXPECT_LT(clean.DeadAfter(), milliseconds(5000));
}

TEST(LinkLivenessTest, OneSlowSampleKeepsTheBoundUpForTensOfSamples) {
  testing::FakeClock clock;
  LinkLiveness live(Defaults(), clock.Now());
  for (int i = 0; i < 500; ++i) live.OnRttSample(milliseconds(200));
  const auto calm = live.DeadAfter();
  live.OnRttSample(milliseconds(800));  // one retransmitted Ping
  const auto after_loss = live.DeadAfter();
  EXPECT_GT(after_loss, calm + seconds(4));
  for (int i = 0; i < 20; ++i) live.OnRttSample(milliseconds(200));
  // Plain RFC 6298 rttvar would be back to ~1 % of the jump; the peak decays 1/64 per sample.
  EXPECT_GT(live.DeadAfter(), calm + (after_loss - calm) / 2);
  for (int i = 0; i < 400; ++i) live.OnRttSample(milliseconds(200));
  EXPECT_LT(live.DeadAfter(), calm + milliseconds(100));
}

TEST(LinkLivenessTest, TheCeilingCapsTheBound) {
  testing::FakeClock clock;
  LivenessOptions o = Defaults();
  o.dead_after_max = seconds(10);
  LinkLiveness live(o, clock.Now());
  live.OnRttSample(seconds(5));
  EXPECT_EQ(live.DeadAfter(), seconds(10));
  o.dead_after_max = milliseconds(100);  // below the floor: the floor wins
  LinkLiveness tight(o, clock.Now());
  tight.OnRttSample(seconds(5));
  EXPECT_EQ(tight.DeadAfter(), milliseconds(2500));
}

TEST(LinkLivenessTest, TheTransportsRtoCountsBeforeTheFirstPong) {
  testing::FakeClock clock;
  LinkLiveness live(Defaults(), clock.Now());
  EXPECT_EQ(live.Rto(), milliseconds(0));
  live.SetTransportRto(milliseconds(600));  // TCP after the handshakes on a 200 ms link
  EXPECT_EQ(live.Rto(), milliseconds(600));
  EXPECT_EQ(live.DeadAfter(), milliseconds(1000 + 16 * 600));
  live.OnRttSample(milliseconds(1));  // our samples are lower: the larger estimate wins
  EXPECT_EQ(live.Rto(), milliseconds(600));
  live.SetTransportRto(std::nullopt);
  EXPECT_LT(live.Rto(), milliseconds(10));
}

TEST(LinkLivenessTest, AnExcusedStallIsNotSilenceButNeverMovesContactPastNow) {
  testing::FakeClock clock;
  LinkLiveness live(Defaults(), clock.Now());
  const auto start = clock.Now();
  clock.Advance(seconds(10));  // our loop was stopped for 10 s
  live.Excuse(milliseconds(9000), clock.Now());
  EXPECT_EQ(live.last_contact(), start + milliseconds(9000));
  EXPECT_FALSE(live.Dead(clock.Now()));
  live.Excuse(seconds(60), clock.Now());
  EXPECT_EQ(live.last_contact(), clock.Now());
  live.Excuse(milliseconds(-5), clock.Now());
  EXPECT_EQ(live.last_contact(), clock.Now());
}

TEST(LinkLivenessTest, OnlyThePongOfTheTimedPingIsASample) {
  testing::FakeClock clock;
  LinkLiveness live(Defaults(), clock.Now());
  live.OnPingSent(1, clock.Now());
  clock.Advance(milliseconds(300));
  live.OnPingSent(2, clock.Now());  // a second Ping while the first is out: not timed
  clock.Advance(milliseconds(100));
  live.OnPong(2, clock.Now());  // not the timed one
  EXPECT_FALSE(live.srtt().has_value());
  live.OnPong(1, clock.Now());
  ASSERT_TRUE(live.srtt().has_value());
  EXPECT_EQ(*live.srtt(), milliseconds(400));  // the whole wait the first Ping saw
  EXPECT_EQ(*live.rttvar(), milliseconds(200));
  live.OnPong(1, clock.Now() + seconds(1));  // a duplicate: ignored
  EXPECT_EQ(*live.srtt(), milliseconds(400));
}

}  // namespace
}  // namespace peat::mesh

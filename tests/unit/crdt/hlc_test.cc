#include "crdt/hlc.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace peat::crdt {
namespace {

constexpr uint64_t At(uint64_t ms, uint64_t logical = 0) { return ms << 16 | logical; }

TEST(TimestampTest, OrdersByHlcThenNodeTag) {
  EXPECT_LT((Timestamp{At(5), 9}), (Timestamp{At(6), 1}));
  EXPECT_LT((Timestamp{At(5), 1}), (Timestamp{At(5), 2}));
  EXPECT_LT((Timestamp{At(5, 1), 1}), (Timestamp{At(5, 2), 0}));
  EXPECT_TRUE(Timestamp{}.IsZero());
  EXPECT_FALSE((Timestamp{0, 1}).IsZero());
  EXPECT_EQ((Timestamp{At(1234, 7), 1}).wall_ms(), 1234u);
}

TEST(HlcClockTest, FollowsWallClockAndCountsWithinAMillisecond) {
  uint64_t now = 1000;
  HlcClock clock(42, [&] { return now; });
  Timestamp a = clock.Now();
  EXPECT_EQ(a.hlc, At(1000));
  EXPECT_EQ(a.node_tag, 42u);
  EXPECT_EQ(clock.Now().hlc, At(1000, 1));
  EXPECT_EQ(clock.Now().hlc, At(1000, 2));
  now = 1005;
  EXPECT_EQ(clock.Now().hlc, At(1005));
  EXPECT_EQ(clock.last(), At(1005));
}

TEST(HlcClockTest, NeverGoesBackwardsWhenTheWallClockDoes) {
  uint64_t now = 5000;
  HlcClock clock(1, [&] { return now; });
  Timestamp before = clock.Now();
  now = 4000;  // NTP step backwards
  Timestamp after = clock.Now();
  EXPECT_GT(after, before);
  EXPECT_EQ(after.hlc, At(5000, 1));
}

TEST(HlcClockTest, LogicalOverflowCarriesIntoMilliseconds) {
  uint64_t now = 1000;
  HlcClock clock(1, [&] { return now; });
  clock.Restore(At(1000, 0xFFFF));
  Timestamp t = clock.Now();
  EXPECT_EQ(t.hlc, At(1001, 0));
  EXPECT_EQ(t.wall_ms(), 1001u);
}

TEST(HlcClockTest, ObserveMovesPastARemoteWithinSkew) {
  uint64_t now = 10'000;
  HlcClock clock(
      1, [&] { return now; }, /*max_skew_ms=*/1000);
  Timestamp remote{At(10'900, 5), 2};
  EXPECT_TRUE(clock.Observe(remote));
  EXPECT_EQ(clock.clamped_count(), 0u);
  Timestamp next = clock.Now();
  EXPECT_GT(next, remote);
  EXPECT_EQ(next.hlc, At(10'900, 6));
  // A remote behind us changes nothing.
  EXPECT_TRUE(clock.Observe(Timestamp{At(5), 3}));
  EXPECT_EQ(clock.Now().hlc, At(10'900, 7));
}

TEST(HlcClockTest, ClampsAndCountsARemoteFarAhead) {
  uint64_t now = 10'000;
  HlcClock clock(
      1, [&] { return now; }, /*max_skew_ms=*/1000);
  Timestamp far{At(10'000 + 3'600'000), 2};  // an hour ahead
  EXPECT_FALSE(clock.Observe(far));
  EXPECT_EQ(clock.clamped_count(), 1u);
  EXPECT_EQ(clock.last(), At(11'000));  // advanced only to wall + max_skew
  Timestamp next = clock.Now();
  EXPECT_LT(next, far);
  EXPECT_EQ(next.hlc, At(11'000, 1));
  // Exactly at the limit is accepted.
  EXPECT_TRUE(clock.Observe(Timestamp{At(11'000, 9), 2}));
  EXPECT_EQ(clock.clamped_count(), 1u);
  EXPECT_FALSE(clock.Observe(Timestamp{At(11'001), 2}));
  EXPECT_EQ(clock.clamped_count(), 2u);
  // As wall time catches up the same remote is no longer clamped.
  now = 10'000 + 3'600'000;
  EXPECT_TRUE(clock.Observe(far));
  EXPECT_GT(clock.Now(), far);
}

TEST(HlcClockTest, RestoreNeverMovesBackwards) {
  uint64_t now = 1;
  HlcClock clock(1, [&] { return now; });
  clock.Restore(At(50'000, 3));
  EXPECT_EQ(clock.Now().hlc, At(50'000, 4));
  clock.Restore(At(10));
  EXPECT_EQ(clock.Now().hlc, At(50'000, 5));
}

TEST(HlcClockTest, StrictlyIncreasingOverManyCalls) {
  uint64_t now = 1;
  HlcClock clock(9, [&] { return now; });
  Timestamp prev = clock.Now();
  for (int i = 0; i < 200'000; ++i) {  // > 65536 per millisecond: exercises the carry
    if (i % 50'000 == 0) ++now;
    Timestamp t = clock.Now();
    ASSERT_GT(t, prev);
    prev = t;
  }
}

}  // namespace
}  // namespace peat::crdt

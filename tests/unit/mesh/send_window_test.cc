#include "mesh/send_window.h"

#include <gtest/gtest.h>

namespace peat::mesh {
namespace {

using namespace std::chrono_literals;
using Clock = SendWindow::Clock;

SendWindowOptions Options() {
  SendWindowOptions o;
  o.initial_bytes = 64 * 1024;
  o.min_bytes = 16 * 1024;
  o.max_bytes = 1 << 20;
  o.target_queue_delay = 100ms;
  o.max_batch_bytes = 256 * 1024;
  o.min_batch_bytes = 4 * 1024;
  return o;
}

// Sends batches of NextBatchBytes() while the window allows, then acks them all `rtt` later
// (with the kernel's `path` queue delay when given).
void RoundTrip(SendWindow& w, Clock::time_point& now, Clock::duration rtt,
               std::optional<Clock::duration> path = std::nullopt) {
  int sent = 0;
  while (w.CanSend(true) && sent < 64) {
    w.OnSent(w.NextBatchBytes(), now);
    ++sent;
  }
  now += rtt;
  for (int i = 0; i < sent; ++i) w.OnAcked(now, Flow::kDocuments, path);
}

TEST(SendWindowTest, GrowsToItsMaximumOnAPathWithoutQueueing) {
  SendWindow w(Options());
  auto now = Clock::time_point{} + 1h;
  for (int i = 0; i < 20; ++i) RoundTrip(w, now, 1ms);
  EXPECT_EQ(w.window_bytes(), 1u << 20);
  EXPECT_EQ(w.NextBatchBytes(), 256u * 1024);
  EXPECT_EQ(w.in_flight_bytes(), 0u);
}

TEST(SendWindowTest, ShrinksWhenRoundTripsShowAQueue) {
  SendWindow w(Options());
  auto now = Clock::time_point{} + 1h;
  RoundTrip(w, now, 200ms);  // base delay 200 ms (a slow radio link)
  const size_t grown = w.window_bytes();
  EXPECT_GT(grown, 64u * 1024);
  // The link cannot keep up: round trips grow far beyond base + target.
  for (int i = 0; i < 10; ++i) RoundTrip(w, now, 900ms);
  EXPECT_LT(w.window_bytes(), grown);
  EXPECT_GE(w.window_bytes(), 16u * 1024);
  // Round trips back at the base: it grows again.
  const size_t low = w.window_bytes();
  RoundTrip(w, now, 210ms);
  EXPECT_GT(w.window_bytes(), low);
}

TEST(SendWindowTest, RoundTripsSlowedByRetransmissionsAreNotAQueueWhenTheKernelSaysSo) {
  // 10 % loss: every round trip waits behind a retransmitted segment, but TCP's own RTT (which
  // skips retransmissions) and the unsent bytes show no queue.
  SendWindow w(Options());
  auto now = Clock::time_point{} + 1h;
  RoundTrip(w, now, 200ms, 5ms);
  const size_t start = w.window_bytes();
  for (int i = 0; i < 10; ++i) RoundTrip(w, now, 600ms, 20ms);
  EXPECT_GT(w.window_bytes(), start);
  // Without the kernel's view the same round trips shrink it (the fallback: in-memory links).
  SendWindow blind(Options());
  auto t = Clock::time_point{} + 1h;
  RoundTrip(blind, t, 200ms);
  const size_t blind_start = blind.window_bytes();
  for (int i = 0; i < 10; ++i) RoundTrip(blind, t, 600ms);
  EXPECT_LT(blind.window_bytes(), blind_start);
}

TEST(SendWindowTest, AQueueSeenByTheKernelAndTheRoundTripsShrinksTheWindow) {
  SendWindow w(Options());
  auto now = Clock::time_point{} + 1h;
  RoundTrip(w, now, 200ms, 0ms);
  const size_t grown = w.window_bytes();
  for (int i = 0; i < 10; ++i) RoundTrip(w, now, 900ms, 700ms);
  EXPECT_LT(w.window_bytes(), grown);
}

TEST(SendWindowTest, ShrinksAtMostOncePerRoundTrip) {
  SendWindow w(Options());
  auto now = Clock::time_point{} + 1h;
  RoundTrip(w, now, 50ms);
  // Eight batches sent together come back together, all late: one decrease, not several.
  for (int i = 0; i < 8; ++i) w.OnSent(8 * 1024, now);
  now += 500ms;
  int decreases = 0;
  for (int i = 0; i < 8; ++i) {
    const size_t before = w.window_bytes();
    w.OnAcked(now);
    if (w.window_bytes() < before) {
      ++decreases;
      EXPECT_EQ(w.window_bytes(), before / 10 * 7);
    }
  }
  EXPECT_EQ(decreases, 1);
}

TEST(SendWindowTest, AnOccasionalSlowBatchIsLossNotAQueue) {
  SendWindow w(Options());
  auto now = Clock::time_point{} + 1h;
  RoundTrip(w, now, 200ms);
  // One batch in four waits for a retransmission (+1 s); the others come back at the base delay.
  for (int i = 0; i < 12; ++i) {
    const size_t before = w.window_bytes();
    w.OnSent(8 * 1024, now);
    now += (i % 4 == 3) ? 1200ms : 200ms;
    w.OnAcked(now);
    EXPECT_GE(w.window_bytes(), before) << "round " << i;
  }
}

TEST(SendWindowTest, LowerLanesLeaveRoomForTheTopLane) {
  SendWindow w(Options());
  const auto now = Clock::time_point{} + 1h;
  EXPECT_TRUE(w.CanSend(false));  // empty: always one batch
  w.OnSent(48 * 1024, now);       // three quarters of 64 KiB
  EXPECT_FALSE(w.CanSend(false));
  EXPECT_TRUE(w.CanSend(true));
  w.OnSent(16 * 1024, now);
  EXPECT_FALSE(w.CanSend(true));
  w.Reset();
  EXPECT_EQ(w.in_flight_batches(), 0u);
  EXPECT_TRUE(w.CanSend(false));
}

TEST(SendWindowTest, CutThroughBatchesAreCountedApartAndAckedInSendOrder) {
  SendWindow w(Options());
  auto now = Clock::time_point{} + 1h;
  w.OnSent(1000, now);                                       // feed
  w.OnSent(1000, now, Flow::kDocuments, BatchKind::kAhead);  // cut-through
  w.OnSent(500, now, Flow::kBlobPieces, BatchKind::kAhead);  // a piece has no kind
  w.OnSent(1000, now, Flow::kDocuments, BatchKind::kAhead);
  EXPECT_EQ(w.in_flight_batches(), 3u);
  EXPECT_EQ(w.in_flight_batches(BatchKind::kFeed), 1u);
  EXPECT_EQ(w.in_flight_batches(BatchKind::kAhead), 2u);
  now += 10ms;
  w.OnAcked(now);  // the oldest document batch: the feed's
  EXPECT_EQ(w.in_flight_batches(BatchKind::kFeed), 0u);
  EXPECT_EQ(w.in_flight_batches(BatchKind::kAhead), 2u);
  w.OnAcked(now);
  EXPECT_EQ(w.in_flight_batches(BatchKind::kAhead), 1u);
  EXPECT_EQ(w.in_flight_pieces(), 1u);
  w.OnSent(1000, now);
  w.Reset();  // a new stream: no document batch of either kind is in flight
  EXPECT_EQ(w.in_flight_batches(BatchKind::kFeed), 0u);
  EXPECT_EQ(w.in_flight_batches(BatchKind::kAhead), 0u);
  EXPECT_EQ(w.in_flight_pieces(), 1u);
  EXPECT_EQ(w.in_flight_bytes(), 500u);
}

TEST(SendWindowTest, BatchesAreAQuarterOfTheWindowWithinBounds) {
  auto o = Options();
  o.initial_bytes = 16 * 1024;
  SendWindow w(o);
  EXPECT_EQ(w.NextBatchBytes(), 4u * 1024);
}

}  // namespace
}  // namespace peat::mesh

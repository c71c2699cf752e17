// LinkScheduler (docs/spec/ATTACHMENTS.md §15.4): class order with documents first, the ¾ rule
// together with SendWindow, 8:1 anti-starvation, the piece size clamp; and SendWindow's two flows.
#include "mesh/link_scheduler.h"

#include <gtest/gtest.h>

#include <vector>

#include "mesh/send_window.h"

namespace peat::mesh {
namespace {

using namespace std::chrono_literals;

const SendUnit kDoc5{5, UnitKind::kDocument};
const SendUnit kPiece5{5, UnitKind::kBlobPiece};
const SendUnit kDoc3{3, UnitKind::kDocument};
const SendUnit kPiece3{3, UnitKind::kBlobPiece};
const SendUnit kPiece1{1, UnitKind::kBlobPiece};

TEST(LinkSchedulerTest, HighestClassFirstAndDocumentsBeforePiecesWithinAClass) {
  LinkScheduler s(3);
  EXPECT_EQ(s.Order({kPiece1, kDoc3, kPiece5, kPiece3, kDoc5, kDoc3}),
            (std::vector<SendUnit>{kDoc5, kPiece5, kDoc3, kPiece3, kPiece1}));
  EXPECT_TRUE(s.Order({}).empty());
}

TEST(LinkSchedulerTest, BelowTopClassesStopAtThreeQuartersOfTheWindow) {
  LinkScheduler s(3);
  EXPECT_TRUE(s.IsTop(5));
  EXPECT_TRUE(s.IsTop(3));
  EXPECT_FALSE(s.IsTop(2));
  EXPECT_FALSE(s.IsTop(1));
  SendWindowOptions o;
  o.initial_bytes = 64 * 1024;
  SendWindow w(o);
  const auto now = SendWindow::Clock::time_point{} + 1h;
  // Bulk pieces fill three quarters of the window, then stop...
  size_t bulk = 0;
  while (w.CanSend(s.IsTop(kPiece1.priority_class))) {
    w.OnSent(LinkScheduler::PieceBytes(w.window_bytes()), now, Flow::kBlobPieces);
    ++bulk;
  }
  EXPECT_EQ(w.in_flight_bytes(), 48u * 1024);
  EXPECT_EQ(bulk, 3u);
  // ...and a critical document still finds room.
  EXPECT_TRUE(w.CanSend(s.IsTop(kDoc5.priority_class)));
}

TEST(LinkSchedulerTest, AfterEightSendsAboveAWaitingUnitTheLongestWaitingGoesOnce) {
  LinkScheduler s(3);
  const std::vector<SendUnit> ready = {kDoc5, kPiece1, kPiece3};
  std::vector<SendUnit> sent;
  for (int i = 0; i < 27; ++i) {
    auto order = s.Order(ready);
    s.OnSent(order.front());
    sent.push_back(order.front());
  }
  // 8 critical, then the longest-waiting (both lower units started waiting at the first send;
  // the piece of class 3 sorts first among equals), 8 critical, then the other one.
  for (int i = 0; i < 8; ++i) EXPECT_EQ(sent[i], kDoc5) << i;
  EXPECT_EQ(sent[8], kPiece3);
  for (int i = 9; i < 17; ++i) EXPECT_EQ(sent[i], kDoc5) << i;
  EXPECT_EQ(sent[17], kPiece1);
  for (int i = 18; i < 26; ++i) EXPECT_EQ(sent[i], kDoc5) << i;
  EXPECT_EQ(sent[26], kPiece3);
}

TEST(LinkSchedulerTest, NothingWaitingMeansNoDebt) {
  LinkScheduler s(3);
  for (int i = 0; i < 20; ++i) s.OnSent(s.Order({kDoc5}).front());
  EXPECT_EQ(s.consecutive_above(), 0);
  // A lower unit arrives: it waits its 8 sends like anyone.
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(s.Order({kDoc5, kPiece1}).front(), kDoc5) << i;
    s.OnSent(kDoc5);
  }
  EXPECT_EQ(s.Order({kDoc5, kPiece1}).front(), kPiece1);
}

TEST(LinkSchedulerTest, PieceSizeIsAQuarterWindowClampedTo4To64KiB) {
  EXPECT_EQ(LinkScheduler::PieceBytes(0), 4u * 1024);
  EXPECT_EQ(LinkScheduler::PieceBytes(8 * 1024), 4u * 1024);
  EXPECT_EQ(LinkScheduler::PieceBytes(64 * 1024), 16u * 1024);
  EXPECT_EQ(LinkScheduler::PieceBytes(256 * 1024), 64u * 1024);
  EXPECT_EQ(LinkScheduler::PieceBytes(16 << 20), 64u * 1024);
}

TEST(SendWindowFlowsTest, EachAckReturnsTheOldestUnitOfItsOwnFlow) {
  SendWindow w(SendWindowOptions{});
  auto now = SendWindow::Clock::time_point{} + 1h;
  w.OnSent(1000, now, Flow::kDocuments);
  w.OnSent(200, now, Flow::kBlobPieces);
  w.OnSent(300, now, Flow::kBlobPieces);
  EXPECT_EQ(w.in_flight_batches(), 1u);
  EXPECT_EQ(w.in_flight_pieces(), 2u);
  now += 1ms;
  w.OnAcked(now, Flow::kBlobPieces);
  EXPECT_EQ(w.in_flight_bytes(), 1300u);
  EXPECT_EQ(w.in_flight_batches(), 1u);
  // A new document stream drops the batches only.
  w.Reset();
  EXPECT_EQ(w.in_flight_bytes(), 300u);
  EXPECT_EQ(w.in_flight_pieces(), 1u);
  w.OnAcked(now, Flow::kDocuments);  // nothing of that flow: ignored
  EXPECT_EQ(w.in_flight_bytes(), 300u);
  w.OnAcked(now, Flow::kBlobPieces);
  EXPECT_EQ(w.in_flight_bytes(), 0u);
}

}  // namespace
}  // namespace peat::mesh

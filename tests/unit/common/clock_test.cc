// RealClock's timers and the FakeClock used by tests obey the same Timer contract: handlers are
// posted (never run inside Arm), a re-Arm or Cancel runs the pending handler with false, and only
// the fake's time needs advancing.
#include "common/clock.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "common/fake_clock.h"

namespace peat {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Records what each handler saw, in order.
struct Log {
  Timer::Handler Make(std::string name) {
    return [this, name](bool expired) {
      entries.push_back(name + (expired ? ":expired" : ":cancelled"));
    };
  }
  std::vector<std::string> entries;
};

TEST(RealClockTest, TimersExpireCancelAndRearm) {
  boost::asio::io_context io;
  Clock& clock = RealClock();
  const auto before = clock.Now();
  auto timer = clock.MakeTimer(io);
  EXPECT_EQ(timer->expiry(), Timer::TimePoint{});
  Log log;

  timer->Arm(milliseconds(0), log.Make("a"));
  EXPECT_TRUE(log.entries.empty());  // posted, not run inside Arm
  EXPECT_GE(timer->expiry(), before);
  io.run();
  EXPECT_EQ(log.entries, (std::vector<std::string>{"a:expired"}));

  log.entries.clear();
  timer->Arm(seconds(3600), log.Make("b"));
  timer->Arm(milliseconds(1), log.Make("c"));  // cancels b
  io.restart();
  io.run();
  EXPECT_EQ(log.entries, (std::vector<std::string>{"b:cancelled", "c:expired"}));
  EXPECT_GE(clock.Now(), before + milliseconds(1));

  log.entries.clear();
  timer->Arm(seconds(3600), log.Make("d"));
  timer->Cancel();
  io.restart();
  io.run();
  EXPECT_EQ(log.entries, (std::vector<std::string>{"d:cancelled"}));
}

TEST(FakeClockTest, TimeMovesOnlyWhenAdvanced) {
  testing::FakeClock clock;
  const auto t0 = clock.Now();
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(seconds(5));
  EXPECT_EQ(clock.Now(), t0 + seconds(5));
  clock.Advance(seconds(-1));  // never backwards
  EXPECT_EQ(clock.Now(), t0 + seconds(5));
  clock.AdvanceTo(t0);
  EXPECT_EQ(clock.Now(), t0 + seconds(5));
}

TEST(FakeClockTest, DueTimersFireInExpiryOrderOnTheirIoContext) {
  boost::asio::io_context io;
  testing::FakeClock clock;
  const auto t0 = clock.Now();
  auto late = clock.MakeTimer(io);
  auto early = clock.MakeTimer(io);
  auto never = clock.MakeTimer(io);
  Log log;
  late->Arm(seconds(2), log.Make("late"));
  early->Arm(seconds(1), log.Make("early"));
  never->Arm(seconds(10), log.Make("never"));
  EXPECT_EQ(late->expiry(), t0 + seconds(2));
  EXPECT_EQ(clock.pending_timers(), 3u);
  EXPECT_EQ(clock.NextExpiry(), t0 + seconds(1));

  clock.Advance(milliseconds(999));
  io.poll();
  EXPECT_TRUE(log.entries.empty());

  clock.Advance(seconds(5));
  EXPECT_TRUE(log.entries.empty());  // posted, run by the io_context
  io.restart();
  io.poll();
  EXPECT_EQ(log.entries, (std::vector<std::string>{"early:expired", "late:expired"}));
  EXPECT_EQ(clock.NextExpiry(), t0 + seconds(10));
  EXPECT_EQ(clock.pending_timers(), 1u);
}

TEST(FakeClockTest, RearmCancelAndDestroyRunThePendingHandlerWithFalse) {
  boost::asio::io_context io;
  testing::FakeClock clock;
  Log log;
  auto timer = clock.MakeTimer(io);
  timer->Arm(seconds(1), log.Make("a"));
  timer->Arm(seconds(2), log.Make("b"));  // cancels a
  timer->Cancel();                        // cancels b
  timer->Cancel();                        // nothing pending: no-op
  timer->Arm(seconds(3), log.Make("c"));
  timer.reset();  // cancels c
  EXPECT_EQ(clock.pending_timers(), 0u);
  EXPECT_EQ(clock.NextExpiry(), std::nullopt);
  clock.Advance(seconds(10));
  io.poll();
  EXPECT_EQ(log.entries, (std::vector<std::string>{"a:cancelled", "b:cancelled", "c:cancelled"}));
}

TEST(FakeClockTest, ATimerArmedForNowOrThePastFiresWithoutAdvancing) {
  boost::asio::io_context io;
  testing::FakeClock clock;
  Log log;
  auto timer = clock.MakeTimer(io);
  timer->Arm(milliseconds(0), log.Make("zero"));
  EXPECT_TRUE(log.entries.empty());
  io.poll();
  timer->Arm(milliseconds(-5), log.Make("negative"));
  io.restart();
  io.poll();
  EXPECT_EQ(log.entries, (std::vector<std::string>{"zero:expired", "negative:expired"}));
  EXPECT_EQ(timer->expiry(), clock.Now());
}

}  // namespace
}  // namespace peat

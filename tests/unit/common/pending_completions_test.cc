// PendingCompletions: WaitIdle returns only once every tracked completion ran, on any thread.
#include "common/pending_completions.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

namespace peat {
namespace {

TEST(PendingCompletionsTest, NothingTrackedIsIdle) {
  PendingCompletions p;
  EXPECT_EQ(p.pending(), 0u);
  p.WaitIdle();  // returns at once
}

TEST(PendingCompletionsTest, CountsUntilEachCompletionRanAndPassesTheStatus) {
  PendingCompletions p;
  std::vector<StatusCode> seen;
  auto a = p.Track([&](Status st) { seen.push_back(st.code()); });
  auto b = p.Track([&](Status st) { seen.push_back(st.code()); });
  EXPECT_EQ(p.pending(), 2u);
  a(Status::Ok());
  EXPECT_EQ(p.pending(), 1u);
  b(UnavailableError("disk"));
  EXPECT_EQ(p.pending(), 0u);
  EXPECT_EQ(seen, (std::vector<StatusCode>{StatusCode::kOk, StatusCode::kUnavailable}));
}

TEST(PendingCompletionsTest, WaitIdleBlocksUntilAnotherThreadRanTheCompletion) {
  PendingCompletions p;
  std::atomic<bool> ran{false};
  std::promise<void> release;
  auto done = p.Track([&](Status) { ran = true; });
  std::thread other([&, done] {
    release.get_future().wait();
    done(Status::Ok());
  });
  auto waiter = std::async(std::launch::async, [&] {
    p.WaitIdle();
    return ran.load();  // the completion's own work is finished before WaitIdle returns
  });
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  release.set_value();
  EXPECT_TRUE(waiter.get());
  other.join();
}

}  // namespace
}  // namespace peat

// FakeClock: a Clock (common/clock.h) whose time moves only when the test says so. Advance() /
// AdvanceTo() move it forward and post the handler of every timer that became due (expired=true)
// to that timer's io_context, in expiry order; a timer armed for a time already reached is posted
// at once, as with asio. Nothing fires by itself, so tests of backoffs and deadlines neither sleep
// nor race the wall clock.
//
// Threading: every method may be called from any thread (one mutex). Timers follow the Timer
// contract (Arm/Cancel on their io_context's thread); the test thread advances the time.
#pragma once

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace peat::testing {

class FakeClock final : public Clock {
 public:
  // Starts well after the steady clock's epoch so `Now() - something` never underflows.
  explicit FakeClock(TimePoint start = TimePoint{} + std::chrono::hours(24))
      : state_(std::make_shared<State>()) {
    state_->now = start;
  }

  TimePoint Now() const override {
    std::lock_guard lock(state_->mu);
    return state_->now;
  }

  std::unique_ptr<Timer> MakeTimer(boost::asio::io_context& io) override {
    return std::make_unique<FakeTimer>(state_, io);
  }

  // Moves the time forward by `d` (at least zero) and fires what became due.
  void Advance(Duration d) { AdvanceTo(Now() + std::max(d, Duration::zero())); }
  void AdvanceTo(TimePoint t) {
    std::lock_guard lock(state_->mu);
    if (t > state_->now) state_->now = t;
    std::vector<FakeTimer*> due;
    for (FakeTimer* timer : state_->pending) {
      if (timer->expiry_ <= state_->now) due.push_back(timer);
    }
    std::stable_sort(due.begin(), due.end(), [](const FakeTimer* a, const FakeTimer* b) {
      return a->expiry_ < b->expiry_;
    });
    for (FakeTimer* timer : due) timer->FireLocked(true);
  }

  // Expiry of the earliest pending timer; nullopt when none is pending.
  std::optional<TimePoint> NextExpiry() const {
    std::lock_guard lock(state_->mu);
    std::optional<TimePoint> next;
    for (const FakeTimer* timer : state_->pending) {
      if (!next || timer->expiry_ < *next) next = timer->expiry_;
    }
    return next;
  }
  size_t pending_timers() const {
    std::lock_guard lock(state_->mu);
    return state_->pending.size();
  }

 private:
  class FakeTimer;
  struct State {
    mutable std::mutex mu;
    TimePoint now;
    std::set<FakeTimer*> pending;  // armed and not yet fired or cancelled
  };

  class FakeTimer final : public Timer {
   public:
    FakeTimer(std::shared_ptr<State> state, boost::asio::io_context& io)
        : state_(std::move(state)), io_(io) {}
    ~FakeTimer() override {
      std::lock_guard lock(state_->mu);
      if (state_->pending.count(this)) FireLocked(false);
    }

    void Arm(Duration delay, Handler handler) override {
      std::lock_guard lock(state_->mu);
      if (state_->pending.count(this)) FireLocked(false);
      expiry_ = state_->now + std::max(delay, Duration::zero());
      handler_ = std::move(handler);
      state_->pending.insert(this);
      if (expiry_ <= state_->now) FireLocked(true);
    }
    void Cancel() override {
      std::lock_guard lock(state_->mu);
      if (state_->pending.count(this)) FireLocked(false);
    }
    TimePoint expiry() const override {
      std::lock_guard lock(state_->mu);
      return expiry_;
    }

   private:
    friend class FakeClock;
    // Posts the handler with `expired` and forgets the wait. Caller holds state_->mu.
    void FireLocked(bool expired) {
      state_->pending.erase(this);
      boost::asio::post(io_, [handler = std::move(handler_), expired] { handler(expired); });
      handler_ = nullptr;
    }

    std::shared_ptr<State> state_;
    boost::asio::io_context& io_;
    TimePoint expiry_{};
    Handler handler_;
  };

  std::shared_ptr<State> state_;
};

}  // namespace peat::testing

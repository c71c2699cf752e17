// Clock: the injectable source of monotonic time and of timers (DESIGN.md: src/common owns an
// injectable Clock). Code that must be testable without sleeping reads the time through Now() and
// waits through timers made by MakeTimer(), never std::chrono::steady_clock or an asio timer
// directly. Production uses RealClock(); tests use a fake whose time moves only when the test
// advances it (tests/unit/common/fake_clock.h), so a 60 s backoff is tested in microseconds.
//
// Times are std::chrono::steady_clock time points, so they mix with code not on the seam yet:
// under RealClock() they are the same clock.
//
// Threading: Now() and MakeTimer() may be called from any thread. A Timer belongs to the thread
// that runs its io_context: Arm, Cancel and expiry are called there, and its handlers run there.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace peat {

// A one-shot timer on an io_context (the subset of asio's steady_timer that callers use).
class Timer {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;
  // `expired`: true when the wait ran out, false when it was cancelled (Cancel, a later Arm, or
  // the timer destroyed).
  using Handler = std::function<void(bool expired)>;

  virtual ~Timer() = default;

  // Waits `delay` from the clock's now (zero or less: expires at once), then runs `handler` on the
  // io_context, always posted, never inside Arm. A wait still pending is cancelled first.
  virtual void Arm(Duration delay, Handler handler) = 0;
  // Cancels the pending wait: its handler runs with false. A wait that already expired and whose
  // handler is queued still runs with true (as with asio), so handlers recheck their state.
  virtual void Cancel() = 0;
  // When the last Arm expires (or expired); TimePoint{} before the first Arm.
  virtual TimePoint expiry() const = 0;
};

class Clock {
 public:
  using TimePoint = Timer::TimePoint;
  using Duration = Timer::Duration;

  virtual ~Clock() = default;

  virtual TimePoint Now() const = 0;
  // A timer whose handlers run on `io` (which must outlive it).
  virtual std::unique_ptr<Timer> MakeTimer(boost::asio::io_context& io) = 0;
};

// std::chrono::steady_clock with boost::asio::steady_timer. Stateless; lives for the program.
Clock& RealClock();

}  // namespace peat

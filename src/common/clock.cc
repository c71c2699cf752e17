#include "common/clock.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace peat {

namespace {

class SteadyTimer final : public Timer {
 public:
  explicit SteadyTimer(boost::asio::io_context& io) : timer_(io) {}

  void Arm(Duration delay, Handler handler) override {
    timer_.expires_after(delay);  // cancels a pending wait
    timer_.async_wait(
        [handler = std::move(handler)](const boost::system::error_code& ec) { handler(!ec); });
  }
  void Cancel() override { timer_.cancel(); }
  TimePoint expiry() const override { return timer_.expiry(); }

 private:
  boost::asio::steady_timer timer_;
};

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  std::unique_ptr<Timer> MakeTimer(boost::asio::io_context& io) override {
    return std::make_unique<SteadyTimer>(io);
  }
};

}  // namespace

Clock& RealClock() {
  static SteadyClock clock;
  return clock;
}

}  // namespace peat

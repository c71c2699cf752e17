#include "app/systemd_notifier.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <optional>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include "temp_dir.h"

namespace peat {
namespace {

// A bound AF_UNIX datagram socket standing in for systemd's notification socket.
class Receiver {
 public:
  // `name`: "/path" or "@abstract" (the NOTIFY_SOCKET forms).
  explicit Receiver(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    socklen_t len = offsetof(sockaddr_un, sun_path) + name.size();
    if (name[0] == '@') addr.sun_path[0] = '\0';
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0;
  }
  ~Receiver() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool bound() const { return bound_; }

  // The next datagram, or nullopt after `timeout_ms` without one.
  std::optional<std::string> Receive(int timeout_ms = 2000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

std::string UniqueAbstractName() {
  std::random_device rd;
  return "@peat-notify-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
}

TEST(SystemdNotifierTest, DisabledWithoutSocketIsANoOp) {
  SystemdNotifier unset(nullptr);
  EXPECT_FALSE(unset.enabled());
  EXPECT_TRUE(unset.Notify("READY=1").ok());
  SystemdNotifier empty("");
  EXPECT_FALSE(empty.enabled());
  EXPECT_TRUE(empty.Notify("READY=1").ok());
}

TEST(SystemdNotifierTest, SendsEachStateAsOneDatagramToAPath) {
  testing::TempDir dir("peat-notify");
  const std::string path = dir.path() + "/notify.sock";
  Receiver systemd(path);
  ASSERT_TRUE(systemd.bound()) << path;
  SystemdNotifier notifier(path.c_str());
  ASSERT_TRUE(notifier.enabled());
  ASSERT_TRUE(notifier.Notify(ReadyState({"tcp://127.0.0.1:50051", "unix:///run/a.sock"})).ok());
  ASSERT_TRUE(notifier.Notify(StoppingState("SIGTERM")).ok());
  EXPECT_EQ(systemd.Receive(),
            "READY=1\nSTATUS=serving on tcp://127.0.0.1:50051, unix:///run/a.sock");
  EXPECT_EQ(systemd.Receive(), "STOPPING=1\nSTATUS=draining (SIGTERM)");
  EXPECT_EQ(systemd.Receive(50), std::nullopt);
}

TEST(SystemdNotifierTest, SendsToAnAbstractSocket) {
  const std::string name = UniqueAbstractName();
  Receiver systemd(name);
  ASSERT_TRUE(systemd.bound()) << name;
  SystemdNotifier notifier(name.c_str());
  ASSERT_TRUE(notifier.Notify("READY=1").ok());
  EXPECT_EQ(systemd.Receive(), "READY=1");
}

TEST(SystemdNotifierTest, RejectsAddressesThatAreNeitherAbsoluteNorAbstract) {
  SystemdNotifier relative("notify.sock");
  const Status st = relative.Notify("READY=1");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("absolute path or @abstract"), std::string::npos) << st.message();
  const std::string too_long = "/" + std::string(sizeof(sockaddr_un::sun_path), 'x');
  SystemdNotifier long_path(too_long.c_str());
  EXPECT_EQ(long_path.Notify("READY=1").code(), StatusCode::kInvalidArgument);
}

TEST(SystemdNotifierTest, AFailureIsReturnedAndLoggedOnceOnly) {
  testing::TempDir dir("peat-notify");
  const std::string missing = dir.path() + "/nobody-listens.sock";
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  SystemdNotifier notifier(missing.c_str());
  const Status first = notifier.Notify("READY=1");
  const Status second = notifier.Notify("STOPPING=1");
  spdlog::set_default_logger(previous);
  EXPECT_EQ(first.code(), StatusCode::kUnavailable);
  EXPECT_NE(first.message().find(missing), std::string::npos) << first.message();
  EXPECT_FALSE(second.ok());
  const std::string text = log.str();
  size_t warnings = 0;
  for (size_t at = text.find("systemd notification failed"); at != std::string::npos;
       at = text.find("systemd notification failed", at + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << text;
  // A listener appearing later is served: failures are never sticky.
  Receiver systemd(missing);
  ASSERT_TRUE(systemd.bound());
  EXPECT_TRUE(notifier.Notify("READY=1").ok());
  EXPECT_EQ(systemd.Receive(), "READY=1");
}

}  // namespace
}  // namespace peat

#include "app/healthcheck.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace peat {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A one-connection server on a real socket: accepts, reads the request head, then answers with
// `reply` (nullopt: says nothing and waits until the client hangs up). The socket listens before
// the constructor returns, so the probe never races the server.
class OneShotServer {
 public:
  static OneShotServer Tcp(std::optional<std::string> reply) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << std::strerror(errno);
    socklen_t len = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ListenAddress t;
    t.kind = ListenAddress::Kind::kTcp;
    t.host = "127.0.0.1";
    t.port = ntohs(a.sin_port);
    return OneShotServer(fd, t, std::move(reply));
  }

  static OneShotServer Unix(const std::string& path, std::optional<std::string> reply) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << std::strerror(errno);
    ListenAddress t;
    t.kind = ListenAddress::Kind::kUnix;
    t.unix_path = path;
    return OneShotServer(fd, t, std::move(reply));
  }

  OneShotServer(OneShotServer&& o) noexcept
      : fd_(o.fd_), target_(o.target_), thread_(std::move(o.thread_)), request_(o.request_) {
    o.fd_ = -1;
  }

  ~OneShotServer() {
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }

  const ListenAddress& target() const { return target_; }
  // What the client sent (valid once the server thread finished: call after the probe).
  std::string Request() {
    if (thread_.joinable()) thread_.join();
    return *request_;
  }

 private:
  OneShotServer(int fd, ListenAddress target, std::optional<std::string> reply)
      : fd_(fd), target_(std::move(target)), request_(std::make_shared<std::string>()) {
    EXPECT_EQ(::listen(fd_, 4), 0) << std::strerror(errno);
    thread_ = std::thread([fd = fd_, reply = std::move(reply), request = request_] {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10'000) != 1) return;  // no client: the test fails on its own
      const int c = ::accept(fd, nullptr, nullptr);
      if (c < 0) return;
      char buf[1024];
      while (request->find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        request->append(buf, static_cast<size_t>(n));
      }
      if (reply) {
        ::send(c, reply->data(), reply->size(), MSG_NOSIGNAL);
      } else {
        while (::recv(c, buf, sizeof(buf), 0) > 0) {  // silent until the client gives up
        }
      }
      ::close(c);
    });
  }

  int fd_;
  ListenAddress target_;
  std::thread thread_;
  std::shared_ptr<std::string> request_;
};

HealthcheckOptions Options(const ListenAddress& target, int timeout_ms = 3000) {
  HealthcheckOptions o;
  o.target = target;
  o.timeout_ms = timeout_ms;
  return o;
}

TEST(Healthcheck, Status200IsHealthyAndTheRequestIsAPlainHttp11Get) {
  auto server = OneShotServer::Tcp(
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 6\r\n\r\nready\n");
  std::ostringstream err;
  EXPECT_EQ(RunHealthcheck(Options(server.target()), err), 0);
  EXPECT_EQ(err.str(), "");
  const std::string req = server.Request();
  EXPECT_THAT(req, StartsWith("GET /readyz HTTP/1.1\r\n"));
  EXPECT_THAT(req, HasSubstr("\r\nHost: 127.0.0.1:" + std::to_string(server.target().port)));
  EXPECT_THAT(req, HasSubstr("\r\nConnection: close\r\n"));
}

TEST(Healthcheck, OtherPathIsRequested) {
  auto server = OneShotServer::Tcp("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n");
  HealthcheckOptions o = Options(server.target());
  o.path = "/livez";
  EXPECT_TRUE(ProbeHealth(o).ok());
  EXPECT_THAT(server.Request(), StartsWith("GET /livez HTTP/1.1\r\n"));
}

TEST(Healthcheck, Status503IsUnhealthyAndTheLineSaysWhy) {
  auto server = OneShotServer::Tcp(
      "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 20\r\n\r\nnot ready: draining\n");
  std::ostringstream err;
  EXPECT_EQ(RunHealthcheck(Options(server.target()), err), 1);
  EXPECT_EQ(err.str(), "peat-node healthcheck: " + server.target().ToString() +
                           "/readyz: status 503: not ready: draining\n");
}

// One probe against a server that answers `reply`; the resulting status.
Status ProbeAnswer(std::string reply) {
  auto server = OneShotServer::Tcp(std::move(reply));
  return ProbeHealth(Options(server.target()));
}

TEST(Healthcheck, StatusWithoutBody) {
  const Status st = ProbeAnswer("HTTP/1.0 404 Not Found\r\n\r\n");
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("status 404"));
}

TEST(Healthcheck, GarbageIsUnhealthyAndShownSanitized) {
  auto server = OneShotServer::Tcp(std::string("SSH-2.0-OpenSSH\r\n\x01\x02", 19));
  std::ostringstream err;
  EXPECT_EQ(RunHealthcheck(Options(server.target()), err), 1);
  const std::string line = err.str();
  EXPECT_THAT(line, HasSubstr("not an HTTP/1.x answer: \"SSH-2.0-OpenSSH"));
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
}

TEST(Healthcheck, MalformedOrMissingAnswers) {
  for (const auto& [reply, why] : std::vector<std::pair<std::string, std::string>>{
           {"HTTP/1.1 2x0 OK\r\n\r\n", "not an HTTP/1.x answer"},
           {"HTTP/1.1 200 OK\r\n",
            "connection closed in the middle of the answer: \"HTTP/1.1 200 OK..\""},
           {"", "connection closed without an answer"},
       }) {
    const Status st = ProbeAnswer(reply);
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << reply;
    EXPECT_THAT(st.message(), HasSubstr(why)) << reply;
  }
}

TEST(Healthcheck, SilenceTimesOutWithinTheDeadline) {
  auto server = OneShotServer::Tcp(std::nullopt);
  const auto start = std::chrono::steady_clock::now();
  std::ostringstream err;
  EXPECT_EQ(RunHealthcheck(Options(server.target(), 300), err), 1);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(290));
  EXPECT_LT(took, std::chrono::milliseconds(2000));
  EXPECT_THAT(err.str(), HasSubstr("/readyz: no answer within 300 ms"));
}

TEST(Healthcheck, ConnectionRefused) {
  // A bound socket that does not listen: connecting to it is refused, and no one else can take
  // the port while we hold it.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ListenAddress t;
  t.host = "127.0.0.1";
  t.port = ntohs(a.sin_port);
  std::ostringstream err;
  EXPECT_EQ(RunHealthcheck(Options(t), err), 1);
  ::close(fd);
  EXPECT_THAT(err.str(), HasSubstr("connect: Connection refused"));
}

TEST(Healthcheck, UnixSocket) {
  char dir[] = "/tmp/peat-hc-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/api.sock";
  {
    auto server = OneShotServer::Unix(path, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    EXPECT_TRUE(ProbeHealth(Options(server.target())).ok());
    EXPECT_THAT(server.Request(), HasSubstr("\r\nHost: localhost\r\n"));
  }
  ::unlink(path.c_str());
  // The socket file is gone: a clear error, not a hang.
  ListenAddress gone;
  gone.kind = ListenAddress::Kind::kUnix;
  gone.unix_path = path;
  const Status st = ProbeHealth(Options(gone));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("unix://" + path + "/readyz: connect: No such file"));
  ::rmdir(dir);
}

TEST(Healthcheck, ProbeTargetMapsWildcardsToLoopback) {
  ListenAddress any4;
  any4.host = "0.0.0.0";
  any4.port = 50051;
  EXPECT_EQ(ProbeTargetFor(any4).ToString(), "tcp://127.0.0.1:50051");
  ListenAddress any6 = any4;
  any6.host = "::";
  EXPECT_EQ(ProbeTargetFor(any6).ToString(), "tcp://[::1]:50051");
  ListenAddress ip = any4;
  ip.host = "10.1.2.3";
  EXPECT_EQ(ProbeTargetFor(ip).ToString(), "tcp://10.1.2.3:50051");
  ListenAddress sock;
  sock.kind = ListenAddress::Kind::kUnix;
  sock.unix_path = "/run/peat-node/api.sock";
  EXPECT_EQ(ProbeTargetFor(sock).ToString(), "unix:///run/peat-node/api.sock");
}

}  // namespace
}  // namespace peat

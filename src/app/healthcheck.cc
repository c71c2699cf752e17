#include "app/healthcheck.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string_view>

#include "common/host_port.h"

namespace peat {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHeadBytes = 16 * 1024;  // a status line plus headers; more is not our node
constexpr size_t kMaxBodyBytes = 512;        // enough for the first line of a /readyz reason

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept {
    if (this != &o) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  Socket(const Socket&) = delete;
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

// One probe: the target URL for messages, the deadline, and the error helpers.
class Probe {
 public:
  explicit Probe(const HealthcheckOptions& o)
      : options_(o),
        url_(o.target.ToString() + o.path),
        deadline_(Clock::now() + std::chrono::milliseconds(o.timeout_ms)) {}

  Status Run() {
    StatusOr<Socket> sock = Connect();
    if (!sock.ok()) return sock.status();
    PEAT_RETURN_IF_ERROR(Send(sock->fd()));
    return Receive(sock->fd());
  }

 private:
  Status Unavailable(const std::string& what) const { return UnavailableError(url_ + ": " + what); }
  Status Timeout() const {
    return DeadlineExceededError(url_ + ": no answer within " +
                                 std::to_string(options_.timeout_ms) + " ms");
  }

  // Waits until `fd` reports one of `events` (or an error/hangup, which the caller's next
  // syscall turns into a message). DEADLINE_EXCEEDED once the deadline passes.
  Status WaitFor(int fd, short events) const {
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now());
      if (left.count() <= 0) return Timeout();
      pollfd p{fd, events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Unavailable(std::string("poll: ") + std::strerror(errno));
      if (r > 0) return Status::Ok();
    }
  }

  // Non-blocking connect to one address, bounded by the deadline.
  StatusOr<Socket> ConnectTo(const sockaddr* addr, socklen_t len) const {
    Socket s(::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (s.fd() < 0) return Unavailable(std::string("socket: ") + std::strerror(errno));
    if (::connect(s.fd(), addr, len) == 0) return s;
    if (errno != EINPROGRESS && errno != EAGAIN) {
      return Unavailable(std::string("connect: ") + std::strerror(errno));
    }
    PEAT_RETURN_IF_ERROR(WaitFor(s.fd(), POLLOUT));
    int err = 0;
    socklen_t err_len = sizeof(err);
    if (::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) err = errno;
    if (err != 0) return Unavailable(std::string("connect: ") + std::strerror(err));
    return s;
  }

  StatusOr<Socket> Connect() const {
    const ListenAddress& t = options_.target;
    if (t.kind == ListenAddress::Kind::kUnix) {
      sockaddr_un sun{};
      sun.sun_family = AF_UNIX;
      if (t.unix_path.size() >= sizeof(sun.sun_path)) {
        return Unavailable("socket path is longer than " +
                           std::to_string(sizeof(sun.sun_path) - 1) + " bytes");
      }
      std::memcpy(sun.sun_path, t.unix_path.data(), t.unix_path.size());
      return ConnectTo(reinterpret_cast<const sockaddr*>(&sun), sizeof(sun));
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    const std::string port = std::to_string(t.port);
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(t.host.c_str(), port.c_str(), &hints, &found);
    if (rc == EAI_NONAME) {  // a host name, not an IP literal: resolve it (may take a moment)
      hints.ai_flags = AI_NUMERICSERV;
      rc = ::getaddrinfo(t.host.c_str(), port.c_str(), &hints, &found);
    }
    if (rc != 0) return Unavailable("cannot resolve " + t.host + ": " + ::gai_strerror(rc));
    StatusOr<Socket> last = Unavailable("no address for " + t.host);
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
      last = ConnectTo(a->ai_addr, a->ai_addrlen);
      if (last.ok() || last.status().code() == StatusCode::kDeadlineExceeded) break;
    }
    ::freeaddrinfo(found);
    return last;
  }

  Status Send(int fd) const {
    const ListenAddress& t = options_.target;
    const std::string host =
        t.kind == ListenAddress::Kind::kUnix ? "localhost" : FormatHostPort(t.host, t.port);
    const std::string request = "GET " + options_.path + " HTTP/1.1\r\nHost: " + host +
                                "\r\nUser-Agent: peat-node-healthcheck\r\nAccept: */*\r\n"
                                "Connection: close\r\n\r\n";
    size_t sent = 0;
    while (sent < request.size()) {
      const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n >= 0) {
        sent += static_cast<size_t>(n);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        PEAT_RETURN_IF_ERROR(WaitFor(fd, POLLOUT));
      } else if (errno != EINTR) {
        return Unavailable(std::string("send: ") + std::strerror(errno));
      }
    }
    return Status::Ok();
  }

  // Appends what the socket has to `buf` (waiting for it); false at end of stream.
  StatusOr<bool> ReadSome(int fd, std::string& buf) const {
    char chunk[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buf.append(chunk, static_cast<size_t>(n));
        return true;
      }
      if (n == 0) return false;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        PEAT_RETURN_IF_ERROR(WaitFor(fd, POLLIN));
      } else if (errno != EINTR) {
        return Unavailable(std::string("recv: ") + std::strerror(errno));
      }
    }
  }

  // The start of what the peer sent, printable, for a one-line message.
  static std::string Shown(std::string_view got) {
    std::string shown;
    for (char c : got.substr(0, 40)) shown.push_back(c >= 0x20 && c < 0x7f ? c : '.');
    return "\"" + shown + "\"";
  }
  Status Malformed(std::string_view got) const {
    return Unavailable("not an HTTP/1.x answer: " + Shown(got));
  }

  Status Receive(int fd) const {
    std::string buf;
    size_t head_end = std::string::npos;
    bool open = true;
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!open) {
        if (buf.empty()) return Unavailable("connection closed without an answer");
        return Unavailable("connection closed in the middle of the answer: " + Shown(buf));
      }
      StatusOr<bool> more = ReadSome(fd, buf);
      if (!more.ok()) return more.status();
      open = *more;
      // Reject garbage as soon as it cannot be the start of a status line.
      constexpr std::string_view kProto = "HTTP/1.";
      const size_t n = std::min(buf.size(), kProto.size());
      if (std::string_view(buf).substr(0, n) != kProto.substr(0, n)) return Malformed(buf);
      if (buf.size() > kMaxHeadBytes) return Malformed(buf);
    }
    // "HTTP/1.x SSS reason"
    const std::string_view head(buf.data(), head_end);
    if (head.size() < 12 || head[8] != ' ' || !std::isdigit(static_cast<unsigned char>(head[9])) ||
        !std::isdigit(static_cast<unsigned char>(head[10])) ||
        !std::isdigit(static_cast<unsigned char>(head[11])) ||
        (head.size() > 12 && head[12] != ' ' && head[12] != '\r')) {
      return Malformed(buf);
    }
    const std::string code(head.substr(9, 3));
    if (code == "200") return Status::Ok();

    // Not healthy: best effort to show the first line of the body (the /readyz reason).
    std::string body = buf.substr(head_end + 4);
    while (open && body.size() < kMaxBodyBytes && body.find('\n') == std::string::npos) {
      StatusOr<bool> more = ReadSome(fd, body);
      if (!more.ok()) break;  // what we have is enough for the message
      open = *more;
    }
    std::string line = body.substr(0, std::min(body.find('\n'), kMaxBodyBytes));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    for (char& c : line) {
      if (c < 0x20 || c >= 0x7f) c = '.';
    }
    return FailedPreconditionError(url_ + ": status " + code + (line.empty() ? "" : ": " + line));
  }

  const HealthcheckOptions& options_;
  const std::string url_;
  const Clock::time_point deadline_;
};

}  // namespace

ListenAddress ProbeTargetFor(const ListenAddress& listen) {
  ListenAddress t = listen;
  if (t.kind != ListenAddress::Kind::kTcp) return t;
  if (t.host.empty() || t.host == "0.0.0.0") t.host = "127.0.0.1";
  if (t.host == "::" || t.host == "[::]") t.host = "::1";
  return t;
}

Status ProbeHealth(const HealthcheckOptions& options) { return Probe(options).Run(); }

int RunHealthcheck(const HealthcheckOptions& options, std::ostream& err) {
  const Status st = ProbeHealth(options);
  if (st.ok()) return 0;
  err << "peat-node healthcheck: " << st.message() << "\n";
  return 1;
}

}  // namespace peat

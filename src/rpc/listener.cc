#include "rpc/listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "rpc/io_context_pool.h"

namespace peat::rpc {

namespace asio = boost::asio;

namespace {

// Makes way for binding a unix socket at `path`: nothing there → OK; a socket nobody listens on
// (a node that was killed) → removed; anything else → FAILED_PRECONDITION.
Status RemoveStaleSocket(const std::string& path) {
  const std::string what = "--listen unix://" + path + ": ";
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return Status::Ok();
  if (!S_ISSOCK(st.st_mode)) {
    return FailedPreconditionError(what +
                                   "the path exists and is not a socket; refusing to "
                                   "replace it (remove it or choose another path)");
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return InvalidArgumentError(what + "path is too long for a unix socket");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return UnavailableError(what + "socket: " + std::strerror(errno));
  // Non-blocking: a live server with a full backlog answers EAGAIN instead of stalling us.
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int err = rc == 0 ? 0 : errno;
  ::close(fd);
  if (err == ENOENT) return Status::Ok();  // removed meanwhile
  if (err == ECONNREFUSED) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return UnavailableError(what +
                              "cannot remove the stale socket file: " + std::strerror(errno));
    }
    spdlog::info("removed stale socket file {} (nothing listened on it)", path);
    return Status::Ok();
  }
  if (err == 0 || err == EAGAIN || err == EINPROGRESS) {
    return FailedPreconditionError("--listen: unix://" + path +
                                   " is served by another process (another peat-node? give each "
                                   "node its own socket path)");
  }
  return FailedPreconditionError(what + "cannot tell whether another process serves it (connect: " +
                                 std::strerror(err) + "); remove the file if none does");
}

}  // namespace

Listener::Listener(asio::io_context& acceptor_context, IoContextPool& pool,
                   ConnectionContext& context,
                   std::function<std::shared_ptr<ConnectionSlot>()> acquire_slot,
                   std::function<bool()> has_capacity)
    : acceptor_(acceptor_context),
      retry_timer_(acceptor_context),
      pool_(pool),
      context_(context),
      acquire_slot_(std::move(acquire_slot)),
      has_capacity_(std::move(has_capacity)) {}

Status Listener::Bind(const ListenEndpoint& ep) {
  boost::system::error_code ec;
  if (ep.kind == ListenEndpoint::Kind::kUnix) {
    std::filesystem::path path(ep.unix_path);
    std::error_code fec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), fec);
    if (fec) {
      return UnavailableError("--listen unix://" + ep.unix_path +
                              ": cannot create parent directory: " + fec.message());
    }
    PEAT_RETURN_IF_ERROR(RemoveStaleSocket(ep.unix_path));
    asio::generic::stream_protocol::endpoint gep(
        asio::local::stream_protocol::endpoint(ep.unix_path));
    acceptor_.open(gep.protocol(), ec);
    if (!ec) acceptor_.bind(gep, ec);
    if (ec) return UnavailableError("--listen unix://" + ep.unix_path + ": " + ec.message());
    if (::chmod(ep.unix_path.c_str(), static_cast<mode_t>(ep.unix_mode)) != 0) {
      const int err = errno;
      ::unlink(ep.unix_path.c_str());
      return UnavailableError("--listen unix://" + ep.unix_path +
                              ": cannot set --unix-socket-mode: " + std::strerror(err));
    }
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      ::unlink(ep.unix_path.c_str());
      return UnavailableError("--listen unix://" + ep.unix_path + ": " + ec.message());
    }
    unix_path_ = ep.unix_path;
    bound_address_ = "unix://" + ep.unix_path;
    return Status::Ok();
  }

  asio::ip::tcp::resolver resolver(acceptor_.get_executor());
  auto results =
      resolver.resolve(ep.host, std::to_string(ep.port), asio::ip::tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return InvalidArgumentError("--listen tcp://" + ep.host + ":" + std::to_string(ep.port) +
                                ": cannot resolve host: " + ec.message());
  }
  asio::ip::tcp::endpoint tcp_ep = results.begin()->endpoint();
  asio::generic::stream_protocol::endpoint gep(tcp_ep);
  acceptor_.open(gep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(gep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    const std::string what =
        "--listen tcp://" + ep.host + ":" + std::to_string(ep.port) + ": " + ec.message();
    // Taken by another process, or not an address of this machine: the configuration must change.
    if (ec == asio::error::address_in_use || ec == asio::error::access_denied ||
        ec.value() == EADDRNOTAVAIL) {
      return FailedPreconditionError(what);
    }
    return UnavailableError(what);
  }
  // Read back the port the OS chose (port 0).
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(acceptor_.native_handle(), reinterpret_cast<sockaddr*>(&ss), &len);
  uint16_t port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                           : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  std::string host = tcp_ep.address().to_string();
  if (tcp_ep.address().is_v6()) host = "[" + host + "]";
  bound_address_ = "tcp://" + host + ":" + std::to_string(port);
  return Status::Ok();
}

void Listener::StartAccepting() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] { self->Accept(); });
}

void Listener::Resume() {
  if (closed_) return;
  if (parked_) {
    auto slot = acquire_slot_();
    if (!slot) return;  // another listener took the freed slot first
    Socket socket = std::move(*parked_);
    parked_.reset();
    Launch(std::move(socket), std::move(slot));
  }
  paused_ = false;
  Accept();  // no-op while an accept is already pending
}

void Listener::Accept() {
  if (closed_ || accepting_ || parked_) return;
  if (!has_capacity_()) {
    paused_ = true;  // at --max-connections: leave new connections in the backlog
    return;
  }
  accepting_ = true;
  acceptor_.async_accept(pool_.Next(), [self = shared_from_this()](
                                           const boost::system::error_code& ec, Socket socket) {
    self->accepting_ = false;
    if (self->closed_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // E.g. EMFILE: back off briefly instead of spinning on the failing accept.
      spdlog::warn("accept on {} failed: {}", self->bound_address_, ec.message());
      self->retry_timer_.expires_after(std::chrono::milliseconds(100));
      self->retry_timer_.async_wait([self](const boost::system::error_code& tec) {
        if (!tec) self->Accept();
      });
      return;
    }
    auto slot = self->acquire_slot_();
    if (!slot) {
      self->parked_.emplace(std::move(socket));
      return;  // served by Resume() once a connection closes
    }
    self->Launch(std::move(socket), std::move(slot));
    self->Accept();
  });
}

void Listener::Launch(Socket socket, std::shared_ptr<ConnectionSlot> slot) {
  if (unix_path_.empty()) {
    int one = 1;
    ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  auto executor = socket.get_executor();
  asio::post(executor, [self = shared_from_this(), socket = std::move(socket),
                        slot = std::move(slot)]() mutable {
    StartConnection(std::move(socket), std::move(slot), self->context_);
  });
}

void Listener::Close() {
  // Remove the socket file now, not in the posted handler: the io threads may be stopped before it
  // runs. New clients then fail to connect at once instead of waiting on a closing acceptor.
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    if (self->closed_) return;
    self->closed_ = true;
    self->retry_timer_.cancel();
    boost::system::error_code ignored;
    if (self->parked_) self->parked_->close(ignored);
    self->parked_.reset();
    self->acceptor_.close(ignored);
  });
}

}  // namespace peat::rpc

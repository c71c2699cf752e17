#include "mesh/tls_transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string_view>
#include <utility>
#include <vector>

#include "common/endpoint_id.h"
#include "common/host_port.h"
#include "mesh/frame_codec.h"
#include "mesh/self_signed_certificate.h"
#include "mesh/tcp_path_info.h"
#include "mesh/tls_connection.h"

namespace peat::mesh {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr int kKeepaliveIdleSeconds = 15;
constexpr int kKeepaliveIntervalSeconds = 5;
constexpr int kKeepaliveProbes = 3;

std::string FormatEndpoint(const tcp::endpoint& ep) {
  return FormatHostPort(ep.address().to_string(), ep.port());
}

std::string Millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

// TCP_NODELAY (propagation latency), keepalive probes (dead links), the congestion control and
// TCP_NOTSENT_LOWAT (the queue stays in the send window, above the kernel). Best effort: a
// congestion control the kernel refuses leaves the system default, silently.
void TuneSocket(tcp::socket& socket, const TlsTransportOptions& options) {
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
  const int fd = socket.native_handle();
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &kKeepaliveIdleSeconds, sizeof(int));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &kKeepaliveIntervalSeconds, sizeof(int));
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &kKeepaliveProbes, sizeof(int));
  if (!options.congestion_control.empty() &&
      !SetCongestionControl(fd, options.congestion_control)) {
    spdlog::debug("mesh: congestion control {} refused by the kernel; using {}",
                  options.congestion_control, ReadCongestionControl(fd));
  }
  if (options.notsent_lowat_bytes > 0) {
    const int lowat = static_cast<int>(options.notsent_lowat_bytes);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(int));
  }
}

template <typename T>
void PruneExpired(std::vector<std::weak_ptr<T>>& v, size_t& prune_at) {
  if (v.size() < prune_at) return;
  v.erase(std::remove_if(v.begin(), v.end(), [](const auto& w) { return w.expired(); }), v.end());
  prune_at = std::max<size_t>(64, 2 * v.size());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Shared state (outlives the TlsTransport object while operations are in flight), listeners and
// dial operations.

class TlsListener;
class DialOperation;

struct TlsTransport::State {
  State(asio::io_context& io_context, TlsTransportOptions opts, std::shared_ptr<ssl::context> c,
        std::string id)
      : io(io_context), options(opts), ssl_ctx(std::move(c)), local_id(std::move(id)) {}

  asio::io_context& io;
  const TlsTransportOptions options;
  const std::shared_ptr<ssl::context> ssl_ctx;
  const std::string local_id;
  bool stopped = false;

  std::vector<std::weak_ptr<TlsListener>> listeners;
  std::vector<std::weak_ptr<DialOperation>> dials;
  std::vector<std::weak_ptr<TlsConnection>> connections;
  size_t dials_prune_at = 64;
  size_t connections_prune_at = 64;

  std::shared_ptr<TlsConnection> NewConnection(tcp::socket socket, bool is_dialer,
                                               std::string remote) {
    auto conn = std::make_shared<TlsConnection>(std::move(socket), ssl_ctx, options, is_dialer,
                                                std::move(remote));
    PruneExpired(connections, connections_prune_at);
    connections.push_back(conn);
    return conn;
  }
};

class TlsListener final : public std::enable_shared_from_this<TlsListener> {
 public:
  TlsListener(std::shared_ptr<TlsTransport::State> state, Transport::AcceptHandler on_accept,
              Transport::FailureHandler on_failure)
      : state_(std::move(state)),
        acceptor_(state_->io),
        retry_timer_(state_->io),
        on_accept_(std::move(on_accept)),
        on_failure_(std::move(on_failure)) {}

  StatusOr<std::string> Bind(const asio::ip::address& address, uint16_t port) {
    const tcp::endpoint ep(address, port);
    const std::string where = FormatEndpoint(ep);
    error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    tcp::endpoint local;
    if (!ec) local = acceptor_.local_endpoint(ec);
    if (ec) {
      error_code ignored;
      acceptor_.close(ignored);
      const std::string what = "--mesh-listen " + where + ": " + ec.message();
      // Taken by another process, or not an address of this machine: the configuration must
      // change (the API listener answers these the same way; main exits 2).
      if (ec == asio::error::address_in_use || ec == asio::error::access_denied ||
          ec.value() == EADDRNOTAVAIL) {
        return FailedPreconditionError(what);
      }
      return UnavailableError(what);
    }
    bound_ = FormatEndpoint(local);
    return bound_;
  }

  void Accept() {
    if (closed_) return;
    acceptor_.async_accept([self = shared_from_this()](const error_code& ec, tcp::socket socket) {
      self->OnAccept(ec, std::move(socket));
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    retry_timer_.cancel();
    acceptor_.close(ignored);
    spdlog::debug("mesh: stopped listening on {}", bound_);
  }

 private:
  void OnAccept(const error_code& ec, tcp::socket socket) {
    if (closed_ || state_->stopped) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // E.g. EMFILE: back off briefly instead of spinning on a failing accept.
      spdlog::warn("mesh: accept on {} failed: {}", bound_, ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([self = shared_from_this()](const error_code& wait_ec) {
        if (!wait_ec) self->Accept();
      });
      return;
    }
    error_code rec;
    const tcp::endpoint remote_ep = socket.remote_endpoint(rec);
    const std::string remote = rec ? std::string("unknown") : FormatEndpoint(remote_ep);
    if (pending_handshakes_ >= state_->options.max_pending_handshakes) {
      error_code ignored;
      socket.close(ignored);
      Report("overload", ResourceExhaustedError("mesh listener " + bound_ + ": " +
                                                std::to_string(pending_handshakes_) +
                                                " handshakes pending; refused " + remote));
      Accept();
      return;
    }
    TuneSocket(socket, state_->options);
    spdlog::debug("mesh: accepted TCP connection from {} on {}", remote, bound_);
    auto conn = state_->NewConnection(std::move(socket), /*is_dialer=*/false, remote);
    ++pending_handshakes_;
    conn->Handshake(state_->options.handshake_timeout, /*expected_id=*/"",
                    [self = shared_from_this()](std::shared_ptr<TlsConnection> c,
                                                const Status& status, std::string_view reason) {
                      --self->pending_handshakes_;
                      if (self->closed_ || self->state_->stopped) return;
                      if (!status.ok()) {
                        spdlog::debug("mesh: inbound handshake failed ({}): {}", reason,
                                      status.message());
                        self->Report(std::string(reason), status);
                        return;
                      }
                      if (self->on_accept_) self->on_accept_(std::move(c));
                    });
    Accept();
  }

  void Report(const std::string& reason, const Status& why) {
    if (on_failure_) on_failure_(reason, why);
  }

  std::shared_ptr<TlsTransport::State> state_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  Transport::AcceptHandler on_accept_;
  Transport::FailureHandler on_failure_;
  std::string bound_;
  size_t pending_handshakes_ = 0;
  bool closed_ = false;
};

class DialOperation final : public std::enable_shared_from_this<DialOperation> {
 public:
  DialOperation(std::shared_ptr<TlsTransport::State> state, std::string address,
                std::string expected_id, std::chrono::milliseconds timeout,
                Transport::DialHandler done)
      : state_(std::move(state)),
        address_(std::move(address)),
        expected_id_(std::move(expected_id)),
        timeout_(timeout),
        done_(std::move(done)),
        resolver_(state_->io),
        socket_(state_->io),
        timer_(state_->io) {}

  void Start(const HostPort& target) {
    timer_.expires_after(timeout_);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec) return;
      self->Finish(UnavailableError("dial " + self->address_ + ": timed out after " +
                                    Millis(self->timeout_)));
    });
    error_code ec;
    const asio::ip::address ip = asio::ip::make_address(target.host, ec);
    if (!ec) {
      endpoints_.emplace_back(ip, target.port);
      TryNext();
      return;
    }
    resolver_.async_resolve(
        target.host, std::to_string(target.port), tcp::resolver::numeric_service,
        [self = shared_from_this()](const error_code& rec, tcp::resolver::results_type results) {
          self->OnResolved(rec, std::move(results));
        });
  }

  // Transport stopping: report CANCELLED (posted, never inside Stop()).
  void Cancel() { Finish(CancelledError("dial " + address_ + ": transport stopped"), true); }

 private:
  void OnResolved(const error_code& ec, tcp::resolver::results_type results) {
    if (finished_) return;
    if (ec || results.empty()) {
      Finish(UnavailableError("dial " + address_ + ": cannot resolve host: " +
                              (ec ? ec.message() : std::string("no addresses"))));
      return;
    }
    for (const auto& entry : results) {
      const tcp::endpoint ep = entry.endpoint();
      if (std::find(endpoints_.begin(), endpoints_.end(), ep) == endpoints_.end()) {
        endpoints_.push_back(ep);
      }
    }
    std::stable_partition(endpoints_.begin(), endpoints_.end(),
                          [](const tcp::endpoint& ep) { return ep.address().is_v4(); });
    TryNext();
  }

  void TryNext() {
    if (finished_) return;
    if (next_ >= endpoints_.size()) {
      const std::string why = last_error_ == asio::error::connection_refused
                                  ? std::string("connection refused")
                                  : last_error_.message();
      Finish(UnavailableError("dial " + address_ + ": " + why));
      return;
    }
    const tcp::endpoint ep = endpoints_[next_++];
    socket_ = tcp::socket(state_->io);
    socket_.async_connect(
        ep, [self = shared_from_this(), ep](const error_code& ec) { self->OnConnected(ec, ep); });
  }

  void OnConnected(const error_code& ec, const tcp::endpoint& ep) {
    if (finished_) return;
    if (ec) {
      spdlog::debug("mesh: dial {}: {} failed: {}", address_, FormatEndpoint(ep), ec.message());
      last_error_ = ec;
      error_code ignored;
      socket_.close(ignored);
      TryNext();
      return;
    }
    TuneSocket(socket_, state_->options);
    conn_ = state_->NewConnection(std::move(socket_), /*is_dialer=*/true, FormatEndpoint(ep));
    conn_->Handshake(state_->options.handshake_timeout, expected_id_,
                     [self = shared_from_this()](std::shared_ptr<TlsConnection> c,
                                                 const Status& status, std::string_view reason) {
                       if (self->finished_) return;
                       if (status.ok()) {
                         self->Finish(std::shared_ptr<MeshConnection>(std::move(c)));
                       } else if (reason == "identity_mismatch") {
                         self->Finish(status);
                       } else {
                         self->Finish(Status(status.code() == StatusCode::kPermissionDenied
                                                 ? StatusCode::kPermissionDenied
                                                 : StatusCode::kUnavailable,
                                             "dial " + self->address_ + ": " + status.message()));
                       }
                     });
  }

  void Finish(StatusOr<std::shared_ptr<MeshConnection>> result, bool post = false) {
    if (finished_) return;
    finished_ = true;
    error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    socket_.close(ignored);
    if (!result.ok()) {
      if (conn_) conn_->Abort(result.status());
      spdlog::debug("mesh: {}", result.status().ToString());
    }
    conn_.reset();
    Transport::DialHandler done = std::move(done_);
    done_ = nullptr;
    if (!done) return;
    if (post) {
      asio::post(state_->io, [done = std::move(done), result = std::move(result)]() mutable {
        done(std::move(result));
      });
    } else {
      done(std::move(result));
    }
  }

  std::shared_ptr<TlsTransport::State> state_;
  const std::string address_;
  const std::string expected_id_;
  const std::chrono::milliseconds timeout_;
  Transport::DialHandler done_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::vector<tcp::endpoint> endpoints_;
  size_t next_ = 0;
  error_code last_error_ = asio::error::host_not_found;
  std::shared_ptr<TlsConnection> conn_;
  bool finished_ = false;
};

// ---------------------------------------------------------------------------------------------
// TlsTransport

StatusOr<std::unique_ptr<TlsTransport>> TlsTransport::Create(asio::io_context& io,
                                                             const Ed25519Key& identity,
                                                             TlsTransportOptions options) {
  if (options.max_frame_bytes == 0 || options.max_frame_bytes > kMaxEncodableFrameBytes ||
      options.read_buffer_bytes == 0 || options.handshake_timeout.count() <= 0 ||
      options.close_flush_timeout.count() < 0 || options.shutdown_timeout.count() < 0) {
    return InvalidArgumentError("tls transport: invalid options");
  }
  StatusOr<std::string> local_id = EndpointIdFromKey(identity.NativeHandle());
  if (!local_id.ok()) return InvalidArgumentError("tls transport: identity is not Ed25519");

  std::shared_ptr<ssl::context> ctx;
  try {
    ctx = std::make_shared<ssl::context>(ssl::context::tls);
  } catch (const boost::system::system_error& e) {
    return InternalError(std::string("tls transport: cannot create SSL context: ") + e.what());
  }
  SSL_CTX* c = ctx->native_handle();
  auto fail = [](const char* what) {
    const unsigned long err = ERR_get_error();
    ERR_clear_error();
    char buf[256] = "unknown error";
    if (err != 0) ERR_error_string_n(err, buf, sizeof buf);
    return InternalError(std::string("tls transport: ") + what + ": " + buf);
  };
  if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1) {
    return fail("TLS 1.3 only");
  }
  // No resumption: every connection runs a full handshake with certificates, and the server
  // sends no session tickets after it.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(c, 0);

  PEAT_ASSIGN_OR_RETURN(X509Ptr cert,
                        MakeSelfSignedCertificate(identity.NativeHandle(), *local_id));
  if (SSL_CTX_use_certificate(c, cert.get()) != 1) return fail("SSL_CTX_use_certificate");
  if (SSL_CTX_use_PrivateKey(c, identity.NativeHandle()) != 1) {
    return fail("SSL_CTX_use_PrivateKey");
  }
  if (SSL_CTX_check_private_key(c) != 1) return fail("SSL_CTX_check_private_key");
  PEAT_RETURN_IF_ERROR(InstallPeerVerification(c));

  auto state = std::make_shared<State>(io, options, std::move(ctx), std::move(local_id).value());
  return std::unique_ptr<TlsTransport>(new TlsTransport(std::move(state)));
}

TlsTransport::~TlsTransport() { Stop(); }

const std::string& TlsTransport::local_endpoint_id() const { return state_->local_id; }

size_t TlsTransport::live_connection_count() const {
  return static_cast<size_t>(std::count_if(state_->connections.begin(), state_->connections.end(),
                                           [](const auto& w) { return !w.expired(); }));
}

StatusOr<std::string> TlsTransport::Listen(const std::string& ip, uint16_t port,
                                           AcceptHandler on_accept, FailureHandler on_failure) {
  if (state_->stopped) return FailedPreconditionError("mesh transport is stopped");
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(ip, ec);
  if (ec) return InvalidArgumentError("mesh listen: \"" + ip + "\" is not an IP address");
  auto listener =
      std::make_shared<TlsListener>(state_, std::move(on_accept), std::move(on_failure));
  PEAT_ASSIGN_OR_RETURN(std::string bound, listener->Bind(address, port));
  state_->listeners.push_back(listener);
  listener->Accept();
  spdlog::debug("mesh: listening on {} as {}", bound, ShortEndpointId(state_->local_id));
  return bound;
}

void TlsTransport::Dial(const std::string& address, const std::string& expected_endpoint_id,
                        std::chrono::milliseconds timeout, DialHandler done) {
  auto fail_soon = [this, &done](Status why) {
    asio::post(state_->io, [done = std::move(done), why = std::move(why)] { done(why); });
  };
  if (state_->stopped) return fail_soon(FailedPreconditionError("mesh transport is stopped"));
  StatusOr<HostPort> target = ParseHostPort(address);
  if (!target.ok()) return fail_soon(target.status());
  if (!IsValidEndpointId(expected_endpoint_id)) {
    return fail_soon(
        InvalidArgumentError("dial " + address + ": endpoint id must be 64 lowercase hex"));
  }
  if (timeout.count() <= 0) {
    return fail_soon(InvalidArgumentError("dial " + address + ": timeout must be positive"));
  }
  auto op = std::make_shared<DialOperation>(state_, address, expected_endpoint_id, timeout,
                                            std::move(done));
  PruneExpired(state_->dials, state_->dials_prune_at);
  state_->dials.push_back(op);
  op->Start(*target);
}

void TlsTransport::Stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  // Take the lists first: the calls below may add or drop entries.
  auto listeners = std::move(state_->listeners);
  auto dials = std::move(state_->dials);
  auto connections = std::move(state_->connections);
  state_->listeners.clear();
  state_->dials.clear();
  state_->connections.clear();
  for (auto& w : listeners) {
    if (auto l = w.lock()) l->Close();
  }
  for (auto& w : dials) {
    if (auto d = w.lock()) d->Cancel();
  }
  for (auto& w : connections) {
    if (auto c = w.lock()) c->Close("transport stopped");
  }
}

TransportFactory TlsTransportFactory(const Ed25519Key& identity, TlsTransportOptions options) {
  return [&identity, options](asio::io_context& io) -> StatusOr<std::unique_ptr<Transport>> {
    PEAT_ASSIGN_OR_RETURN(auto transport, TlsTransport::Create(io, identity, options));
    return std::unique_ptr<Transport>(std::move(transport));
  };
}

}  // namespace peat::mesh

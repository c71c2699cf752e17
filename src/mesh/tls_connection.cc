#include "mesh/tls_connection.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <utility>

#include "mesh/self_signed_certificate.h"
#include "mesh/tcp_path_info.h"

namespace peat::mesh {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr char kExporterLabel[] = "EXPORTER-peat-mesh-v1";
// A write buffer that grew beyond this (a big frame went out) is released after the write.
constexpr size_t kMaxRetainedWriteBuffer = 1024 * 1024;

std::string Millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; }

int VerificationIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Accepts a self-signed leaf whose key is Ed25519 (and, when dialing, the expected one). Chain
// problems at depth 0 (self-signed, validity dates) are ignored: peers are pinned by key. A
// certificate chain (depth > 0) is refused.
int VerifyPeerCertificate(int /*preverified*/, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* v = ssl == nullptr ? nullptr
                           : static_cast<TlsConnection::PeerVerification*>(
                                 SSL_get_ex_data(ssl, VerificationIndex()));
  if (v == nullptr) return 0;
  if (X509_STORE_CTX_get_error_depth(store) > 0) {
    v->rejection = "peer sent a certificate chain; a single self-signed certificate is expected";
    return 0;
  }
  StatusOr<std::string> id = EndpointIdFromCertificate(X509_STORE_CTX_get_current_cert(store));
  if (!id.ok()) {
    v->rejection = id.status().message();
    return 0;
  }
  v->presented_id = *id;
  if (!v->expected_id.empty() && *id != v->expected_id) {
    v->identity_mismatch = true;
    v->rejection = "identity mismatch";
    return 0;
  }
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

Status IdentityMismatch(const std::string& expected, const std::string& presented) {
  return PermissionDeniedError("identity mismatch: dialed " + ShortEndpointId(expected) +
                               " but peer presented " + ShortEndpointId(presented));
}

std::string DescribeIoError(const error_code& ec) {
  if (ec == asio::error::eof) return "connection closed by peer";
  if (ec == ssl::error::stream_truncated) {
    return "connection closed by peer without TLS close_notify";
  }
  if (ec == asio::error::connection_reset) return "connection reset by peer";
  return ec.message();
}

}  // namespace

Status InstallPeerVerification(SSL_CTX* ctx) {
  if (VerificationIndex() < 0) return InternalError("tls: SSL_get_ex_new_index failed");
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, VerifyPeerCertificate);
  return Status::Ok();
}

TlsConnection::TlsConnection(tcp::socket socket, std::shared_ptr<ssl::context> ctx,
                             const TlsTransportOptions& options, bool is_dialer,
                             std::string remote_address)
    : ctx_(std::move(ctx)),
      stream_(CountingSocket(std::move(socket)), *ctx_),
      timer_(stream_.get_executor()),
      options_(options),
      is_dialer_(is_dialer),
      remote_address_(std::move(remote_address)),
      decoder_(options.max_frame_bytes),
      read_buf_(options.read_buffer_bytes),
      fd_(stream_.lowest_layer().native_handle()),
      congestion_control_(ReadCongestionControl(fd_)) {}

std::optional<std::chrono::microseconds> TlsConnection::path_queue_delay() const {
  if (phase_ != Phase::kOpen) return std::nullopt;  // the fd may be closed (and reused)
  auto info = ReadTcpPathInfo(fd_);
  if (!info) return std::nullopt;
  return QueueDelay(*info, info->notsent_bytes + queued_bytes());
}

std::optional<std::chrono::microseconds> TlsConnection::path_rto() const {
  if (phase_ != Phase::kOpen) return std::nullopt;
  auto info = ReadTcpPathInfo(fd_);
  if (!info) return std::nullopt;
  return info->smoothed_rtt + 4 * info->rtt_var;
}

uint64_t TlsConnection::wire_bytes_acked() const {
  // Closed sockets are not asked: their fd may already belong to another connection.
  if (phase_ != Phase::kClosed && stream_.lowest_layer().is_open()) {
    if (auto info = ReadTcpPathInfo(fd_)) bytes_acked_ = info->bytes_acked;
  }
  // TLS bytes: the peer acknowledged at most what was written.
  return bytes_acked_ ? std::min(*bytes_acked_, wire_bytes_sent()) : wire_bytes_sent();
}

TlsConnection::~TlsConnection() {
  // The verify callback must never see a dangling pointer.
  SSL_set_ex_data(stream_.native_handle(), VerificationIndex(), nullptr);
}

void TlsConnection::Handshake(std::chrono::milliseconds timeout, std::string expected_id,
                              HandshakeDone done) {
  verification_.expected_id = std::move(expected_id);
  SSL_set_ex_data(stream_.native_handle(), VerificationIndex(), &verification_);
  handshake_done_ = std::move(done);
  handshake_timeout_ = timeout;
  timer_.expires_after(timeout);
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->phase_ != Phase::kHandshaking) return;
    self->handshake_timed_out_ = true;
    error_code ignored;
    self->stream_.lowest_layer().close(ignored);  // fails the pending handshake
  });
  stream_.async_handshake(
      is_dialer_ ? ssl::stream_base::client : ssl::stream_base::server,
      [self = shared_from_this()](const error_code& ec) { self->OnHandshake(ec); });
}

void TlsConnection::Start(FrameHandler on_frame, ClosedHandler on_closed) {
  if (started_) return;
  started_ = true;
  if (phase_ == Phase::kClosed) {
    if (on_closed) {
      asio::post(stream_.get_executor(),
                 [cb = std::move(on_closed), why = close_status_] { cb(why); });
    }
    return;
  }
  on_frame_ = std::move(on_frame);
  on_closed_ = std::move(on_closed);
  StartRead();
}

void TlsConnection::Send(std::string frame) {
  if (phase_ != Phase::kOpen) {
    spdlog::debug("mesh: dropping a {}-byte frame to {}: connection is closing", frame.size(),
                  ShortEndpointId(peer_id_));
    return;
  }
  if (frame.size() > options_.max_frame_bytes) {
    Teardown(InternalError("mesh: refusing to send a frame of " + std::to_string(frame.size()) +
                           " bytes (limit " + std::to_string(options_.max_frame_bytes) + ")"));
    return;
  }
  AppendFrame(pending_, frame);
  if (!writing_) StartWrite();
}

void TlsConnection::Close(const std::string& reason) {
  if (phase_ == Phase::kClosed || phase_ == Phase::kClosing) return;
  Status why = CancelledError(reason);
  if (phase_ == Phase::kHandshaking) {
    Teardown(std::move(why));
    return;
  }
  spdlog::debug("mesh: closing connection to {} ({}): {}", ShortEndpointId(peer_id_),
                remote_address_, reason);
  phase_ = Phase::kClosing;
  close_status_ = std::move(why);
  if (!writing_) {
    BeginShutdown();
    return;
  }
  timer_.expires_after(options_.close_flush_timeout);
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->phase_ != Phase::kClosing || self->shutting_down_) return;
    spdlog::debug("mesh: connection to {}: {} queued bytes not flushed in time",
                  ShortEndpointId(self->peer_id_), self->queued_bytes());
    self->Teardown(self->close_status_);
  });
}

void TlsConnection::OnHandshake(const error_code& ec) {
  timer_.cancel();
  HandshakeDone done = std::move(handshake_done_);
  handshake_done_ = nullptr;
  auto self = shared_from_this();
  if (phase_ == Phase::kClosed) {
    done(self, close_status_, "aborted");
    return;
  }
  Status failure;
  std::string_view reason = "tls";
  if (handshake_timed_out_) {
    failure = UnavailableError("TLS handshake with " + remote_address_ + " timed out after " +
                               Millis(handshake_timeout_));
    reason = "timeout";
  } else if (verification_.identity_mismatch) {
    failure = IdentityMismatch(verification_.expected_id, verification_.presented_id);
    reason = "identity_mismatch";
  } else if (ec) {
    std::string msg = "TLS handshake with " + remote_address_ + " failed: " + ec.message();
    if (!verification_.rejection.empty()) msg += " (" + verification_.rejection + ")";
    failure = UnavailableError(std::move(msg));
  } else {
    failure = Established();
    if (!failure.ok() && failure.code() == StatusCode::kPermissionDenied &&
        !verification_.expected_id.empty()) {
      reason = "identity_mismatch";
    }
  }
  if (!failure.ok()) {
    Teardown(failure);
    done(self, failure, reason);
    return;
  }
  phase_ = Phase::kOpen;
  spdlog::debug("mesh: TLS connection {} {} ({}) established", is_dialer_ ? "to" : "from",
                ShortEndpointId(peer_id_), remote_address_);
  done(self, Status::Ok(), "");
}

// After a successful handshake: read the verified peer key and the channel binding.
Status TlsConnection::Established() {
  SSL* ssl = stream_.native_handle();
  PEAT_ASSIGN_OR_RETURN(std::string id, EndpointIdFromCertificate(SSL_get0_peer_certificate(ssl)));
  if (!verification_.expected_id.empty() && id != verification_.expected_id) {
    return IdentityMismatch(verification_.expected_id, id);
  }
  if (SSL_export_keying_material(ssl, binding_.data(), binding_.size(), kExporterLabel,
                                 std::strlen(kExporterLabel), nullptr, 0, 0) != 1) {
    ERR_clear_error();
    return InternalError("TLS with " + remote_address_ + ": exporting keying material failed");
  }
  peer_id_ = std::move(id);
  return Status::Ok();
}

void TlsConnection::StartRead() {
  stream_.async_read_some(
      asio::buffer(read_buf_),
      [self = shared_from_this()](const error_code& ec, size_t n) { self->OnRead(ec, n); });
}

void TlsConnection::OnRead(const error_code& ec, size_t n) {
  if (phase_ == Phase::kClosed) return;
  if (n > 0 && phase_ == Phase::kOpen) {
    std::vector<std::string> frames;
    frames.swap(scratch_frames_);
    Status decoded = decoder_.Feed(std::string_view(read_buf_.data(), n), frames);
    Deliver(frames);
    frames.clear();
    scratch_frames_.swap(frames);
    if (!decoded.ok() && phase_ != Phase::kClosed) {
      spdlog::debug("mesh: connection from {} ({}): {}", ShortEndpointId(peer_id_), remote_address_,
                    decoded.message());
      Teardown(decoded);
      return;
    }
  }
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    if (phase_ == Phase::kClosing) {
      Teardown(close_status_);
    } else {
      Teardown(UnavailableError("mesh connection to " + ShortEndpointId(peer_id_) + " (" +
                                remote_address_ + "): " + DescribeIoError(ec)));
    }
    return;
  }
  StartRead();
}

// Hands frames to on_frame_ until the connection stops being open. The handler is moved to a
// local while it runs, so a Teardown it triggers can drop on_frame_ safely.
void TlsConnection::Deliver(std::vector<std::string>& frames) {
  if (frames.empty() || !on_frame_) return;
  FrameHandler handler = std::move(on_frame_);
  on_frame_ = nullptr;
  for (std::string& frame : frames) {
    if (phase_ != Phase::kOpen) break;
    handler(std::move(frame));
  }
  if (phase_ != Phase::kClosed) on_frame_ = std::move(handler);
}

// Writes everything queued so far in one go; frames queued meanwhile go in the next write.
void TlsConnection::StartWrite() {
  writing_ = true;
  inflight_.swap(pending_);
  asio::async_write(
      stream_, asio::buffer(inflight_),
      [self = shared_from_this()](const error_code& ec, size_t) { self->OnWrite(ec); });
}

void TlsConnection::OnWrite(const error_code& ec) {
  writing_ = false;
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    Teardown(UnavailableError("mesh connection to " + ShortEndpointId(peer_id_) + " (" +
                              remote_address_ + "): write failed: " + DescribeIoError(ec)));
    return;
  }
  if (inflight_.capacity() > kMaxRetainedWriteBuffer) {
    std::string().swap(inflight_);
  } else {
    inflight_.clear();
  }
  if (!pending_.empty()) {
    StartWrite();
  } else if (phase_ == Phase::kClosing) {
    BeginShutdown();
  }
}

// Sends close_notify, then closes once the peer answers (or hangs up), or after a short wait.
void TlsConnection::BeginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  timer_.expires_after(options_.shutdown_timeout);
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->Teardown(self->close_status_);
  });
  stream_.async_shutdown(
      [self = shared_from_this()](const error_code&) { self->Teardown(self->close_status_); });
}

// Ends the connection: closes the socket (failing pending I/O) and posts on_closed once.
void TlsConnection::Teardown(Status why) {
  if (phase_ == Phase::kClosed) return;
  const bool was_open = phase_ != Phase::kHandshaking;
  wire_bytes_acked();  // the last TCP_INFO: the count survives the socket
  phase_ = Phase::kClosed;
  close_status_ = std::move(why);
  error_code ignored;
  timer_.cancel();
  stream_.lowest_layer().close(ignored);
  on_frame_ = nullptr;
  pending_.clear();  // inflight_ stays untouched: a pending write may still reference it
  if (was_open) {
    spdlog::debug("mesh: connection {} {} ({}) closed: {}", is_dialer_ ? "to" : "from",
                  ShortEndpointId(peer_id_), remote_address_, close_status_.ToString());
  }
  if (on_closed_) {
    asio::post(stream_.get_executor(),
               [cb = std::move(on_closed_), why = close_status_] { cb(why); });
    on_closed_ = nullptr;
  }
}

}  // namespace peat::mesh

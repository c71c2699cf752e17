// TlsConnection: one mesh connection of TlsTransport (tls_transport.h) — a TLS 1.3 stream over
// TCP carrying length-prefixed frames (frame_codec.h). Internal to the TLS transport: the
// transport creates it around a connected socket, runs Handshake(), and hands it out as a
// MeshConnection; the rest of the mesh only sees that interface.
//
// Peer authentication: InstallPeerVerification() makes an SSL_CTX require a peer certificate
// and route verification to this file's callback, which accepts a single self-signed
// certificate whose key is Ed25519 (validity dates are ignored: peers are pinned by key) and,
// when dialing, is the expected endpoint id — so a wrong peer fails inside the handshake.
//
// Writes: Send appends the encoded frame to a pending buffer; while one async_write is in flight
// every frame sent meanwhile joins the next write (so many small frames share TLS records).
// Reads: async_read_some → FrameDecoder → on_frame, in order. Close: flush (bounded), TLS
// close_notify (bounded), close. Teardown posts on_closed exactly once.
//
// Lifetime: shared_ptr; every pending handler holds one, so the object lives until its I/O is
// done. Threading: one executor (the mesh loop); every method must be called on it.
#pragma once

#include <openssl/types.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/endpoint_id.h"
#include "common/status.h"
#include "mesh/counting_socket.h"
#include "mesh/frame_codec.h"
#include "mesh/tls_transport.h"
#include "mesh/transport.h"

namespace peat::mesh {

// Requires peer certificates on `ctx` (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) and
// installs the key-pinning verify callback. INTERNAL if OpenSSL cannot allocate its ex-data slot.
Status InstallPeerVerification(SSL_CTX* ctx);

class TlsConnection final : public MeshConnection,
                            public std::enable_shared_from_this<TlsConnection> {
 public:
  // `reason` is "" on success, else "tls", "timeout", "identity_mismatch" or "aborted" (the
  // connection was closed during the handshake, e.g. by Stop()).
  using HandshakeDone = std::function<void(std::shared_ptr<TlsConnection> conn,
                                           const Status& status, std::string_view reason)>;

  // `socket` is connected; `ctx` must have had InstallPeerVerification applied. Only
  // max_frame_bytes, read_buffer_bytes, close_flush_timeout and shutdown_timeout of `options`
  // are used.
  TlsConnection(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> ctx,
                const TlsTransportOptions& options, bool is_dialer, std::string remote_address);
  ~TlsConnection() override;

  // Runs the TLS handshake (client side when dialing) within `timeout`. `expected_id` (dialer
  // only; empty = any Ed25519 key) pins the peer's key. `done` runs once, from the loop. Failure
  // statuses: UNAVAILABLE ("TLS handshake with <addr> failed: ..." / "... timed out after
  // <n>ms"), PERMISSION_DENIED ("identity mismatch: dialed <short> but peer presented <short>").
  void Handshake(std::chrono::milliseconds timeout, std::string expected_id, HandshakeDone done);
  // Closes the socket at once, without flushing (dial timeout, stop during the handshake).
  void Abort(const Status& why) { Teardown(why); }

  // MeshConnection
  const std::string& peer_endpoint_id() const override { return peer_id_; }
  const std::string& remote_address() const override { return remote_address_; }
  bool is_dialer() const override { return is_dialer_; }
  const std::array<uint8_t, 32>& channel_binding() const override { return binding_; }
  void Start(FrameHandler on_frame, ClosedHandler on_closed) override;
  void Send(std::string frame) override;
  size_t queued_bytes() const override { return pending_.size() + inflight_.size(); }
  void Close(const std::string& reason) override;
  std::optional<std::chrono::microseconds> path_queue_delay() const override;
  std::optional<std::chrono::microseconds> path_rto() const override;
  std::string congestion_control() const override { return congestion_control_; }
  uint64_t wire_bytes_sent() const override { return stream_.next_layer().bytes_written(); }
  uint64_t wire_bytes_received() const override { return stream_.next_layer().bytes_read(); }
  uint64_t wire_bytes_acked() const override;

  // What the verify callback learned about the peer (one per connection, reached from the
  // callback through SSL ex data).
  struct PeerVerification {
    std::string expected_id;  // empty: any Ed25519 key is acceptable (listener side)
    std::string presented_id;
    bool identity_mismatch = false;
    std::string rejection;  // why the callback refused the certificate
  };

 private:
  enum class Phase { kHandshaking, kOpen, kClosing, kClosed };
  using error_code = boost::system::error_code;

  void OnHandshake(const error_code& ec);
  Status Established();
  void StartRead();
  void OnRead(const error_code& ec, size_t n);
  void Deliver(std::vector<std::string>& frames);
  void StartWrite();
  void OnWrite(const error_code& ec);
  void BeginShutdown();
  void Teardown(Status why);

  std::shared_ptr<boost::asio::ssl::context> ctx_;  // outlives stream_ (declared first)
  boost::asio::ssl::stream<CountingSocket> stream_;
  boost::asio::steady_timer timer_;  // handshake, then flush, then shutdown deadline
  const TlsTransportOptions options_;
  const bool is_dialer_;
  const std::string remote_address_;
  std::string peer_id_;
  std::array<uint8_t, 32> binding_{};
  PeerVerification verification_;

  Phase phase_ = Phase::kHandshaking;
  HandshakeDone handshake_done_;
  std::chrono::milliseconds handshake_timeout_{0};
  bool handshake_timed_out_ = false;
  bool started_ = false;
  bool writing_ = false;
  bool shutting_down_ = false;
  Status close_status_ = CancelledError("connection closed");

  FrameHandler on_frame_;
  ClosedHandler on_closed_;
  FrameDecoder decoder_;
  std::vector<char> read_buf_;
  const int fd_;  // the TCP socket's, for TCP_INFO (path_queue_delay, path_rto, acked bytes)
  const std::string congestion_control_;
  // tcpi_bytes_acked as last read (the socket is gone after Teardown; TCP_INFO is read there one
  // last time). -1 in tcpi terms: no TCP_INFO on this socket, count written bytes.
  mutable std::optional<uint64_t> bytes_acked_;
  std::vector<std::string> scratch_frames_;
  std::string pending_;   // encoded frames queued behind the write in flight
  std::string inflight_;  // encoded frames being written
};

}  // namespace peat::mesh

// TlsTransport: the mesh Transport (transport.h) over TLS 1.3 on TCP, with Boost.Asio + OpenSSL 3.
//
// Authentication is by key, not by CA: each side presents a self-signed certificate for its
// Ed25519 identity key (self_signed_certificate.h) and both sides require the other's. The peer's
// endpoint id is the hex of its certificate key. The dialer additionally requires that id to be
// the one it dialed (checked inside the handshake, so a wrong peer never gets a connection:
// PERMISSION_DENIED "identity mismatch: ..."); the listener accepts any Ed25519 peer and leaves
// admission to the formation handshake above the transport (formation_proof.h).
//
// Frames are 4-byte big-endian length + payload (frame_codec.h) up to max_frame_bytes; a peer that
// declares a larger frame is disconnected with RESOURCE_EXHAUSTED. Writes are queued and every
// write carries everything queued so far (one TLS record holds many small frames); TCP_NODELAY is
// set for latency, SO_KEEPALIVE (15 s idle, 5 s interval, 3 probes) to notice dead links, the
// congestion control asked for (bbr by default) and TCP_NOTSENT_LOWAT (options below).
// wire_bytes_* count TLS bytes on the socket, handshake included.
//
// Closing: MeshConnection::Close flushes queued frames (bounded by close_flush_timeout), sends a
// TLS close_notify (bounded by shutdown_timeout), then closes the socket; on_closed then runs
// with CANCELLED(<reason>). A connection ended by the peer or an error gets UNAVAILABLE (peer
// closed, reset, I/O or TLS error), RESOURCE_EXHAUSTED (oversized inbound frame) or INTERNAL
// (oversized outbound frame). on_closed is always posted, never run inside Send/Close.
//
// Lifetime: connections are shared_ptr and stay alive while they have I/O pending; the transport
// tracks them weakly. Stop() (also run by the destructor) closes the listeners, cancels pending
// dials (their callbacks get CANCELLED) and Close()s every connection it made. The io_context
// must outlive the transport and its connections.
//
// Threading: as for Transport — everything on the single thread running `io`.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/status.h"
#include "crypto/ed25519.h"
#include "mesh/transport.h"

namespace peat::mesh {

struct TlsTransportOptions {
  // Largest frame payload accepted or sent.
  size_t max_frame_bytes = 16 * 1024 * 1024;
  // TLS handshake deadline for both accepted and dialed connections (a dial is also bounded by
  // its own overall timeout).
  std::chrono::milliseconds handshake_timeout{10000};
  // Close(): how long queued frames may take to drain, then how long to wait for the TLS
  // shutdown exchange, before the socket is closed anyway.
  std::chrono::milliseconds close_flush_timeout{2000};
  std::chrono::milliseconds shutdown_timeout{500};
  // Inbound connections still in the TLS handshake, per listener; more are refused at once and
  // reported as on_failure("overload", RESOURCE_EXHAUSTED).
  size_t max_pending_handshakes = 256;
  // Size of each connection's socket read buffer.
  size_t read_buffer_bytes = 32 * 1024;
  // TCP congestion control asked for on every mesh socket, both directions
  // (--mesh-congestion-control); "" = the system default. A kernel that refuses it (not
  // available, not allowed in this network namespace) leaves the default, silently; the session
  // logs the one in use.
  std::string congestion_control = "bbr";
  // TCP_NOTSENT_LOWAT: the socket takes more only while fewer bytes than this wait unsent in the
  // kernel, so the queue stays above it (in the send window, where priorities apply). 0 = off.
  size_t notsent_lowat_bytes = 32 * 1024;
};

class TlsTransport final : public Transport {
 public:
  // Builds the TLS context: a fresh self-signed certificate for `identity` (the SSL context keeps
  // its own reference to the key, so `identity` need not outlive the transport), TLS 1.3 only,
  // peer certificates required. INTERNAL if OpenSSL fails, INVALID_ARGUMENT for nonsensical
  // options (zero sizes, non-positive handshake timeout).
  static StatusOr<std::unique_ptr<TlsTransport>> Create(boost::asio::io_context& io,
                                                        const Ed25519Key& identity,
                                                        TlsTransportOptions options = {});
  ~TlsTransport() override;

  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  // `ip` must be an IP literal ("0.0.0.0", "::", "127.0.0.1"). Binds with SO_REUSEADDR.
  // Returns the bound "ip:port" (IPv6 in brackets), with the actual port when `port` is 0.
  // INVALID_ARGUMENT for a bad ip, UNAVAILABLE if the bind fails, FAILED_PRECONDITION after
  // Stop(). on_failure reasons: "tls" (handshake failed, e.g. not TLS, no or non-Ed25519
  // certificate), "timeout" (no handshake within handshake_timeout), "overload".
  StatusOr<std::string> Listen(const std::string& ip, uint16_t port, AcceptHandler on_accept,
                               FailureHandler on_failure) override;

  // `done` runs exactly once, never inside Dial. Errors: INVALID_ARGUMENT (bad address or
  // expected id), UNAVAILABLE ("dial <addr>: connection refused", "dial <addr>: timed out after
  // <n>ms", resolution, TLS failures), PERMISSION_DENIED ("identity mismatch: dialed <short> but
  // peer presented <short>"), CANCELLED (Stop() while dialing), FAILED_PRECONDITION (after
  // Stop()). IP literals are used as-is; names are resolved and IPv4 results tried before IPv6,
  // one after another, all within `timeout`.
  void Dial(const std::string& address, const std::string& expected_endpoint_id,
            std::chrono::milliseconds timeout, DialHandler done) override;

  void Stop() override;

  // This node's endpoint id, as peers see it.
  const std::string& local_endpoint_id() const;
  // Connections (handshaking or open) that are still alive.
  size_t live_connection_count() const;

  struct State;  // shared with in-flight operations; defined in the .cc

 private:
  explicit TlsTransport(std::shared_ptr<State> state) : state_(std::move(state)) {}

  std::shared_ptr<State> state_;
};

// A TransportFactory (transport.h) making a TlsTransport for `identity` (which must outlive the
// factory) with `options`.
TransportFactory TlsTransportFactory(const Ed25519Key& identity, TlsTransportOptions options = {});

}  // namespace peat::mesh

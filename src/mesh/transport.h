// Transport: how mesh nodes reach each other (DESIGN.md "Mesh"). A Transport listens and dials;
// each connection it yields is an authenticated, encrypted, ordered stream of frames to one peer
// whose endpoint id (hex of its Ed25519 public key) the transport has verified cryptographically.
// The TLS 1.3 implementation is TlsTransport (tls_transport.h); QUIC could be added later behind
// the same interface without touching replication.
//
// Threading: a Transport and its connections run on one Asio executor (the mesh's io_context,
// a single thread). Every method must be called on that executor, and every handler runs on it.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace peat::mesh {

// One authenticated connection carrying length-prefixed frames.
class MeshConnection {
 public:
  using FrameHandler = std::function<void(std::string frame)>;
  // Called once when the connection ends (peer closed, I/O error, bad frame, Close()).
  using ClosedHandler = std::function<void(const Status& why)>;

  virtual ~MeshConnection() = default;

  // Verified endpoint id of the peer: 64 lowercase hex of its certificate's Ed25519 key.
  virtual const std::string& peer_endpoint_id() const = 0;
  // The remote socket address in use, "ip:port".
  virtual const std::string& remote_address() const = 0;
  // True on the side that dialed.
  virtual bool is_dialer() const = 0;
  // 32 bytes exported from the TLS session (RFC 8446 exporter, label "EXPORTER-peat-mesh-v1",
  // empty context). Equal on both ends of one connection, different for every connection: the
  // formation proof signs it so a proof cannot be replayed on another connection.
  virtual const std::array<uint8_t, 32>& channel_binding() const = 0;

  // Starts reading. Frames are delivered in order; `on_closed` runs exactly once, after which no
  // frame is delivered. Call once.
  virtual void Start(FrameHandler on_frame, ClosedHandler on_closed) = 0;
  // Queues one frame (size <= the transport's max frame size, else the connection is closed with
  // INTERNAL). Frames go out in order.
  virtual void Send(std::string frame) = 0;
  // Bytes queued by Send and not yet written to the socket (backpressure signal).
  virtual size_t queued_bytes() const = 0;
  // Flushes what is queued (bounded by a short timeout), then closes. Idempotent; on_closed runs
  // with a status carrying `reason`.
  virtual void Close(const std::string& reason) = 0;

  // The queueing delay the kernel sees ahead of a frame sent now (tcp_path_info.h QueueDelay:
  // RTT above the path minimum, plus the bytes not yet sent at the delivery rate); nullopt when
  // unknown (not TCP, an old kernel, no RTT sample yet, closed). The send window uses it to tell a
  // queue from a retransmission (send_window.h).
  virtual std::optional<std::chrono::microseconds> path_queue_delay() const { return std::nullopt; }

  // The transport's retransmission timeout estimate (TCP: srtt + 4·rttvar from TCP_INFO, without
  // backoff); nullopt when unknown. The dead-link detector uses it before the first Pong.
  virtual std::optional<std::chrono::microseconds> path_rto() const { return std::nullopt; }
  // The TCP congestion control in use ("bbr", "cubic", ...; "" when not TCP or unknown).
  virtual std::string congestion_control() const { return ""; }

  // Bytes on the wire (TLS records, handshake included) since the connection was created:
  // written into the socket / read from it.
  virtual uint64_t wire_bytes_sent() const = 0;
  virtual uint64_t wire_bytes_received() const = 0;
  // Of wire_bytes_sent, those the peer acknowledged (TCP: tcpi_bytes_acked, kept after the
  // close): bytes written into a dead connection never count. Transports that cannot tell
  // return wire_bytes_sent().
  virtual uint64_t wire_bytes_acked() const { return wire_bytes_sent(); }
};

class Transport {
 public:
  using AcceptHandler = std::function<void(std::shared_ptr<MeshConnection>)>;
  using DialHandler = std::function<void(StatusOr<std::shared_ptr<MeshConnection>>)>;
  // A connection attempt that failed before a MeshConnection existed (TLS error, timeout, key
  // mismatch), with a short reason such as "tls", "timeout", "identity_mismatch".
  using FailureHandler = std::function<void(const std::string& reason, const Status& why)>;

  virtual ~Transport() = default;

  // Binds `ip:port` (port 0 = any) and accepts connections; returns the bound "ip:port".
  // Inbound connections are handed to `on_accept` after the TLS handshake; failed inbound
  // handshakes go to `on_failure`.
  virtual StatusOr<std::string> Listen(const std::string& ip, uint16_t port,
                                       AcceptHandler on_accept, FailureHandler on_failure) = 0;
  // Connects to `address` ("ip:port" or "host:port"; names are resolved, IPs tried first), runs
  // the TLS handshake and checks that the peer's key is `expected_endpoint_id`. UNAVAILABLE when
  // unreachable or on timeout, PERMISSION_DENIED ("identity mismatch ...") when the key differs.
  virtual void Dial(const std::string& address, const std::string& expected_endpoint_id,
                    std::chrono::milliseconds timeout, DialHandler done) = 0;
  // Stops listening and closes every connection it created.
  virtual void Stop() = 0;
};

// Makes the transport of a mesh whose loop runs `io` (MeshOptions::transport_factory): the
// node's is TlsTransportFactory (tls_transport.h), tests connect meshes in memory.
using TransportFactory =
    std::function<StatusOr<std::unique_ptr<Transport>>(boost::asio::io_context& io)>;

}  // namespace peat::mesh

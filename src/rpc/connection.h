// Connection: one accepted API socket (TCP or unix), served as HTTP/1.1 or HTTP/2.
//
// ConnectionContext carries what every connection shares: limits, timeouts, the router and the
// metrics. ConnectionSlot is the RAII token that counts an accepted connection against
// --max-connections from accept to close. All Connection methods run on the connection's own
// executor (each connection lives on one io_context thread).
#pragma once

#include <boost/asio/generic/stream_protocol.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace peat::rpc {

class RpcRouter;
class RpcMetrics;

using Socket = boost::asio::generic::stream_protocol::socket;

struct ConnectionSettings {
  std::chrono::seconds header_read_timeout{30};
  std::chrono::seconds idle_timeout{300};
  std::chrono::seconds keepalive_interval{30};  // HTTP/2 PING cadence; 0 = off
  std::chrono::seconds keepalive_timeout{20};
  uint32_t max_concurrent_streams = 128;
  size_t max_body_bytes = 4 << 20;
};

class ConnectionSlot {
 public:
  explicit ConnectionSlot(std::function<void()> on_release) : on_release_(std::move(on_release)) {}
  ~ConnectionSlot() {
    if (on_release_) on_release_();
  }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

 private:
  std::function<void()> on_release_;
};

class Connection {
 public:
  virtual ~Connection() = default;
  // Graceful close: finish in-flight requests, accept no new ones (HTTP/2: GOAWAY), then close.
  virtual void Drain() = 0;
  // Immediate close.
  virtual void Close() = 0;
  // The executor every method must be called on.
  virtual boost::asio::any_io_executor executor() = 0;
};

struct ConnectionContext {
  ConnectionSettings settings;
  RpcRouter* router = nullptr;
  RpcMetrics* metrics = nullptr;
  // Called once a connection knows its protocol, so the server can drain it later.
  std::function<void(const std::shared_ptr<Connection>&)> on_established;
};

// Reads enough of a new connection to tell HTTP/2 (client preface) from HTTP/1.1, then hands the
// socket and the bytes read so far to the matching connection type.
void StartConnection(Socket socket, std::shared_ptr<ConnectionSlot> slot,
                     ConnectionContext& context);

}  // namespace peat::rpc

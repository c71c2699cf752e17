// RpcServer: the one-port API server. Owns the io threads, the listeners (TCP and unix), the
// router and the connection registry; serves Connect, gRPC and gRPC-Web for the methods of a
// MethodTable plus the ops endpoints.
//
// Lifecycle: Start() binds every listener (errors name the address) and starts the io threads;
// BeginDrain() stops accepting, ends server streams cleanly and drains every connection;
// WaitDrained() waits until all connections are closed or the grace period ends; Stop() stops the
// threads. Start/BeginDrain/WaitDrained/Stop are called from one control thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "rpc/connection.h"
#include "rpc/listener.h"
#include "rpc/method_table.h"
#include "rpc/rpc_metrics.h"
#include "rpc/rpc_router.h"
#include "rpc/stream_registry.h"

namespace peat::rpc {

class IoContextPool;

struct ServerOptions {
  std::vector<ListenEndpoint> listen;
  size_t io_threads = 1;
  size_t max_connections = 1024;
  ConnectionSettings connection;
  RouterOptions router;
};

class RpcServer {
 public:
  RpcServer(ServerOptions options, const MethodTable& methods, MetricsRegistry& registry,
            OpsHooks ops);
  ~RpcServer();

  Status Start();
  // Addresses actually bound, in --listen order ("tcp://127.0.0.1:50051", "unix:///x.sock").
  std::vector<std::string> bound_addresses() const;
  void BeginDrain();
  // True if every connection closed within `grace`.
  bool WaitDrained(std::chrono::milliseconds grace);
  void Stop();

  RpcMetrics& metrics() { return metrics_; }
  size_t open_connections() const;

 private:
  std::shared_ptr<ConnectionSlot> AcquireSlot();
  void ReleaseSlot();

  ServerOptions options_;
  RpcMetrics metrics_;
  StreamRegistry streams_;
  RpcRouter router_;
  ConnectionContext context_;
  std::unique_ptr<IoContextPool> pool_;
  std::vector<std::shared_ptr<Listener>> listeners_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  size_t slots_in_use_ = 0;
  std::vector<std::weak_ptr<Connection>> connections_;
  bool stopped_ = false;
};

}  // namespace peat::rpc

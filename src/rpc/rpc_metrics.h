// RpcMetrics: request counts and latency by method and status code, open connections and open
// streams. Updated lock-free from every connection thread; rendered by a MetricsRegistry collector.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/metrics.h"
#include "common/status.h"

namespace peat::rpc {

// Metrics of one RPC method; the pointer stays valid for the lifetime of RpcMetrics.
class MethodMetrics {
 public:
  void Record(StatusCode code, double seconds);
  void AppendPrometheus(const std::string& method, std::string& out_counts,
                        std::string& out_latency) const;

 private:
  static constexpr size_t kCodes = 17;
  std::array<Counter, kCodes> counts_;
  std::array<LatencyHistogram, kCodes> latency_;
};

class RpcMetrics {
 public:
  // Returns the metrics slot of `method` ("/pkg.Service/Method"), creating it on first use.
  MethodMetrics* ForMethod(const std::string& method);

  Gauge open_connections_http1;
  Gauge open_connections_http2;
  Gauge open_streams;  // server-streaming calls in progress
  Counter connections_total;
  Counter connections_rejected_idle;    // closed by idle timeout
  Counter connections_rejected_header;  // closed by header read timeout
  Counter http2_protocol_errors;        // GOAWAY sent for a protocol violation
  Counter keepalive_timeouts;

  void AppendPrometheus(std::string& out) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<MethodMetrics>> methods_;
};

}  // namespace peat::rpc

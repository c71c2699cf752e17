#include "rpc/rpc_metrics.h"

namespace peat::rpc {

void MethodMetrics::Record(StatusCode code, double seconds) {
  auto i = static_cast<size_t>(code);
  if (i >= kCodes) i = static_cast<size_t>(StatusCode::kUnknown);
  counts_[i].Inc();
  latency_[i].Observe(seconds);
}

void MethodMetrics::AppendPrometheus(const std::string& method, std::string& out_counts,
                                     std::string& out_latency) const {
  for (size_t i = 0; i < kCodes; ++i) {
    if (counts_[i].Value() == 0) continue;
    std::string labels = "method=\"" + PrometheusLabelValue(method) + "\",code=\"" +
                         std::string(StatusCodeName(static_cast<StatusCode>(i))) + "\"";
    AppendSample(out_counts, "peat_rpc_requests_total", labels,
                 static_cast<double>(counts_[i].Value()));
    latency_[i].AppendPrometheus("peat_rpc_latency_seconds", labels, out_latency);
  }
}

MethodMetrics* RpcMetrics::ForMethod(const std::string& method) {
  std::lock_guard lock(mu_);
  auto& slot = methods_[method];
  if (!slot) slot = std::make_unique<MethodMetrics>();
  return slot.get();
}

void RpcMetrics::AppendPrometheus(std::string& out) const {
  std::string counts, latency;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, m] : methods_) m->AppendPrometheus(name, counts, latency);
  }
  AppendMetricHeader(out, "peat_rpc_requests_total", "counter",
                     "RPCs completed, by method and status code.");
  out += counts;
  AppendMetricHeader(out, "peat_rpc_latency_seconds", "histogram",
                     "RPC latency from request received to status sent, by method and code.");
  out += latency;
  AppendMetricHeader(out, "peat_rpc_open_connections", "gauge", "Open API connections.");
  AppendSample(out, "peat_rpc_open_connections", "protocol=\"http1\"",
               static_cast<double>(open_connections_http1.Value()));
  AppendSample(out, "peat_rpc_open_connections", "protocol=\"http2\"",
               static_cast<double>(open_connections_http2.Value()));
  AppendMetricHeader(out, "peat_rpc_connections_total", "counter", "API connections accepted.");
  AppendSample(out, "peat_rpc_connections_total", "",
               static_cast<double>(connections_total.Value()));
  AppendMetricHeader(out, "peat_rpc_open_streams", "gauge", "Server-streaming calls in progress.");
  AppendSample(out, "peat_rpc_open_streams", "", static_cast<double>(open_streams.Value()));
  AppendMetricHeader(out, "peat_rpc_connections_closed_total", "counter",
                     "API connections closed by the server, by reason.");
  AppendSample(out, "peat_rpc_connections_closed_total", "reason=\"idle_timeout\"",
               static_cast<double>(connections_rejected_idle.Value()));
  AppendSample(out, "peat_rpc_connections_closed_total", "reason=\"header_timeout\"",
               static_cast<double>(connections_rejected_header.Value()));
  AppendSample(out, "peat_rpc_connections_closed_total", "reason=\"http2_protocol_error\"",
               static_cast<double>(http2_protocol_errors.Value()));
  AppendSample(out, "peat_rpc_connections_closed_total", "reason=\"keepalive_timeout\"",
               static_cast<double>(keepalive_timeouts.Value()));
}

}  // namespace peat::rpc

// RpcRouter: turns a complete HTTP request into an answer. Serves the ops endpoints
// (GET /livez, /readyz, /metrics; other GETs go to OpsHooks::web), CORS preflight, and RPCs:
// detects the protocol from the content type (Connect unary/stream, gRPC, gRPC-Web binary/text),
// finds the method, and dispatches: the protocol's adapter (protocol_adapter.h) supplies the
// deadline header, decodes the request and makes the encoder; the router runs the handler with a
// ServerCall that answers in the caller's protocol. Every failure is answered in that protocol's
// error form. A server stream sends its status and headers as soon as its handler accepts the call
// (returns without finishing it), before any message. Thread-safe: one router serves all
// connections; Handle() runs on the exchange's executor.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/metrics.h"
#include "common/status.h"
#include "rpc/http_exchange.h"
#include "rpc/method_table.h"
#include "rpc/rpc_metrics.h"
#include "rpc/stream_registry.h"

namespace peat::rpc {

class ProtocolAdapter;

struct RouterOptions {
  size_t max_message_bytes = 4 << 20;
  std::chrono::seconds default_timeout{120};
  std::chrono::seconds max_timeout{300};
};

// Hooks into the node for the ops endpoints.
struct OpsHooks {
  std::function<bool(std::string* reason)> ready;  // /readyz: true = 200, false = 503 + reason
  const MetricsRegistry* metrics = nullptr;        // /metrics
  // Every other GET (the web console, console/console_site.h): answers the request (now or
  // later, on any thread) and returns true, or returns false to leave it to the router's 404.
  std::function<bool(const std::shared_ptr<HttpExchange>&)> web;
};

class RpcRouter {
 public:
  RpcRouter(const MethodTable& methods, RouterOptions options, RpcMetrics& metrics,
            StreamRegistry& streams, OpsHooks ops);

  // Answers a complete request.
  void Handle(const std::shared_ptr<HttpExchange>& exchange);
  // Answers a request whose body exceeded the transport limit (only the headers are known):
  // RESOURCE_EXHAUSTED in the request's protocol.
  void HandleOversized(const std::shared_ptr<HttpExchange>& exchange);
  // Whether a transport should dispatch `req` (headers only, body still to come) at once and hand
  // it its body as it arrives (HttpExchange::ReadBody): a POST over HTTP/2 to a bidirectional
  // method (in a protocol that cannot carry a request stream it is refused at once). Thread-safe.
  bool StreamsRequestBody(const HttpRequest& req) const;
  // Largest raw HTTP body a transport should accept (room for envelopes and base64 text).
  size_t max_body_bytes() const;

 private:
  void HandleRpc(const std::shared_ptr<HttpExchange>& exchange,
                 const std::optional<Status>& transport_error);
  void HandleOps(const std::shared_ptr<HttpExchange>& exchange);
  // Bidirectional streams: decodes each request envelope as it arrives and runs the handler on it
  // (nullptr at the end of the client's stream); a malformed envelope ends the call with its error.
  void ReadRequestStream(HttpExchange& exchange, const MethodSpec& method,
                         const ProtocolAdapter& protocol, const std::shared_ptr<ServerCall>& call);

  const MethodTable& methods_;
  // Metrics slot per known method, filled at construction so the request path never locks.
  std::unordered_map<const MethodSpec*, MethodMetrics*> method_metrics_;
  RouterOptions options_;
  RpcMetrics& metrics_;
  StreamRegistry& streams_;
  OpsHooks ops_;
};

}  // namespace peat::rpc

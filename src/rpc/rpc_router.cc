#include "rpc/rpc_router.h"

#include <algorithm>
#include <cctype>

#include "rpc/connect_protocol.h"
#include "rpc/envelope.h"
#include "rpc/grpc_protocol.h"
#include "rpc/protocol_adapter.h"

namespace peat::rpc {

namespace {

enum class Protocol { kConnectUnary, kConnectStream, kGrpc, kGrpcWeb, kGrpcWebText, kUnsupported };

struct ProtocolChoice {
  Protocol protocol = Protocol::kUnsupported;
  const ProtocolAdapter* adapter = nullptr;
};

std::string MediaType(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string_view base = content_type.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  std::string out(base);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

ProtocolChoice DetectProtocol(std::string_view content_type) {
  std::string t = MediaType(content_type);
  if (t == "application/json")
    return {Protocol::kConnectUnary, &ConnectUnaryProtocol(Codec::kJson)};
  if (t == "application/proto") {
    return {Protocol::kConnectUnary, &ConnectUnaryProtocol(Codec::kProto)};
  }
  if (t == "application/connect+json") {
    return {Protocol::kConnectStream, &ConnectStreamProtocol(Codec::kJson)};
  }
  if (t == "application/connect+proto") {
    return {Protocol::kConnectStream, &ConnectStreamProtocol(Codec::kProto)};
  }
  if (t == "application/grpc" || t == "application/grpc+proto") {
    return {Protocol::kGrpc, &GrpcProtocol()};
  }
  if (t == "application/grpc-web" || t == "application/grpc-web+proto") {
    return {Protocol::kGrpcWeb, &GrpcWebProtocol(/*text=*/false)};
  }
  if (t == "application/grpc-web-text" || t == "application/grpc-web-text+proto") {
    return {Protocol::kGrpcWebText, &GrpcWebProtocol(/*text=*/true)};
  }
  return {};
}

constexpr const char* kSupportedTypes =
    "application/json, application/proto, application/connect+json, application/connect+proto, "
    "application/grpc, application/grpc+proto, application/grpc-web, application/grpc-web+proto, "
    "application/grpc-web-text, application/grpc-web-text+proto";

HeaderList CorsHeaders(const HttpRequest& req) {
  HeaderList h;
  if (auto origin = req.Header("origin")) {
    h.emplace_back("access-control-allow-origin", std::string(*origin));
    h.emplace_back("vary", "Origin");
    h.emplace_back("access-control-expose-headers",
                   "grpc-status,grpc-message,grpc-status-details-bin,grpc-encoding,"
                   "connect-content-encoding");
  }
  return h;
}

void SendText(HttpExchange& ex, int status, std::string body, HeaderList extra = {}) {
  extra.emplace_back("content-type", "text/plain; charset=utf-8");
  ex.SendResponse(status, std::move(extra), std::move(body));
}

}  // namespace

RpcRouter::RpcRouter(const MethodTable& methods, RouterOptions options, RpcMetrics& metrics,
                     StreamRegistry& streams, OpsHooks ops)
    : methods_(methods),
      options_(options),
      metrics_(metrics),
      streams_(streams),
      ops_(std::move(ops)) {
  methods_.ForEach(
      [this](const MethodSpec& m) { method_metrics_[&m] = metrics_.ForMethod(m.path); });
}

size_t RpcRouter::max_body_bytes() const {
  // base64 text inflates 4/3; envelopes add 5 bytes each.
  return options_.max_message_bytes / 3 * 4 + 64;
}

void RpcRouter::Handle(const std::shared_ptr<HttpExchange>& exchange) {
  const HttpRequest& req = exchange->request();
  if (req.method == "POST") return HandleRpc(exchange, std::nullopt);
  if (req.method == "GET") return HandleOps(exchange);
  if (req.method == "OPTIONS") {
    // CORS preflight for browser clients (gRPC-Web, Connect-Web).
    HeaderList h = CorsHeaders(req);
    h.emplace_back("access-control-allow-methods", "POST, GET, OPTIONS");
    auto asked = req.Header("access-control-request-headers");
    h.emplace_back("access-control-allow-headers",
                   asked ? std::string(*asked)
                         : "content-type,x-grpc-web,x-user-agent,grpc-timeout,"
                           "connect-protocol-version,connect-timeout-ms");
    h.emplace_back("access-control-max-age", "7200");
    exchange->SendResponse(204, std::move(h), {});
    return;
  }
  SendText(*exchange, 405, "method not allowed\n", {{"allow", "GET, POST, OPTIONS"}});
}

void RpcRouter::HandleOversized(const std::shared_ptr<HttpExchange>& exchange) {
  if (exchange->request().method != "POST") {
    return SendText(*exchange, 413, "request body too large\n");
  }
  HandleRpc(exchange,
            ResourceExhaustedError("request body exceeds --max-message-bytes (" +
                                   std::to_string(options_.max_message_bytes) + " bytes)"));
}

bool RpcRouter::StreamsRequestBody(const HttpRequest& req) const {
  // Every protocol: one that cannot carry the stream is refused at once, not after a body its
  // client may never end.
  if (req.method != "POST" || !req.http2) return false;
  const MethodSpec* method = methods_.Find(req.path);
  return method && method->kind == MethodKind::kBidiStreaming;
}

void RpcRouter::ReadRequestStream(HttpExchange& exchange, const MethodSpec& method,
                                  const ProtocolAdapter& protocol,
                                  const std::shared_ptr<ServerCall>& call) {
  // The reader owns the call until the client's stream ends or the response does (the exchange
  // then releases it), so the handler need not hold it between messages.
  exchange.ReadBody([this, &method, &protocol, call, buffer = std::string()](std::string_view piece,
                                                                             bool end) mutable {
    buffer.append(piece);
    size_t used = 0;
    while (!call->IsDone()) {
      auto next = NextEnvelope(std::string_view(buffer).substr(used), options_.max_message_bytes);
      if (!next.ok()) return call->Finish(next.status());
      if (!*next) break;
      std::unique_ptr<google::protobuf::Message> request(method.request_prototype->New());
      Status st = protocol.DecodeStreamMessage(call->request(), **next, options_.max_message_bytes,
                                               request.get());
      if (!st.ok()) return call->Finish(st);
      used += kEnvelopeHeaderSize + (*next)->payload.size();
      method.handler(call, std::move(request));
    }
    buffer.erase(0, used);
    if (!end || call->IsDone()) return;
    if (!buffer.empty()) {
      return call->Finish(InvalidArgumentError("request stream ended inside a message envelope (" +
                                               std::to_string(buffer.size()) + " bytes)"));
    }
    method.handler(call, nullptr);
  });
}

void RpcRouter::HandleOps(const std::shared_ptr<HttpExchange>& exchange) {
  HttpExchange& ex = *exchange;
  const std::string& path = ex.request().path;
  if (path == "/livez") return SendText(ex, 200, "ok\n");
  if (path == "/readyz") {
    std::string reason;
    bool ready = !ops_.ready || ops_.ready(&reason);
    return ready ? SendText(ex, 200, "ready\n") : SendText(ex, 503, "not ready: " + reason + "\n");
  }
  if (path == "/metrics") {
    std::string text = ops_.metrics ? ops_.metrics->Render() : std::string();
    ex.SendResponse(200, {{"content-type", "text/plain; version=0.0.4; charset=utf-8"}},
                    std::move(text));
    return;
  }
  if (ops_.web && ops_.web(exchange)) return;
  SendText(ex, 404, "not found\n");
}

void RpcRouter::HandleRpc(const std::shared_ptr<HttpExchange>& exchange,
                          const std::optional<Status>& transport_error) {
  const HttpRequest& req = exchange->request();
  auto ct = req.Header("content-type");
  ProtocolChoice choice = DetectProtocol(ct ? *ct : std::string_view());
  HeaderList cors = CorsHeaders(req);

  if (choice.protocol == Protocol::kUnsupported) {
    cors.emplace_back("accept-post", kSupportedTypes);
    return SendText(*exchange, 415,
                    "unsupported content-type \"" + std::string(ct ? *ct : "") +
                        "\"; supported: " + kSupportedTypes + "\n",
                    std::move(cors));
  }
  if (choice.protocol == Protocol::kGrpc && !req.http2) {
    return SendText(*exchange, 415,
                    "application/grpc requires HTTP/2; use gRPC-Web or Connect over HTTP/1.1\n",
                    std::move(cors));
  }

  const MethodSpec* method = methods_.Find(req.path);
  if (method) {
    bool streaming = method->kind != MethodKind::kUnary;
    if ((choice.protocol == Protocol::kConnectUnary && streaming) ||
        (choice.protocol == Protocol::kConnectStream && !streaming)) {
      return SendText(*exchange, 415,
                      std::string(streaming ? "streaming" : "unary") + " method " + req.path +
                          " does not accept content-type " + std::string(*ct) + "\n",
                      std::move(cors));
    }
  }

  if (!method && choice.protocol == Protocol::kConnectUnary) {
    // Connect maps an unknown procedure to HTTP 404 with an `unimplemented` error body.
    return SendConnectUnaryError(*exchange, UnimplementedError("unknown method " + req.path), 404,
                                 std::move(cors));
  }
  const ProtocolAdapter& protocol = *choice.adapter;
  std::unique_ptr<CallEncoder> encoder = protocol.MakeEncoder(exchange, std::move(cors));
  if (!method) return encoder->Finish(UnimplementedError("unknown method " + req.path));
  const bool bidi = method->kind == MethodKind::kBidiStreaming;
  if (bidi && !protocol.CarriesRequestStream()) {
    return encoder->Finish(UnimplementedError("bidirectional stream " + req.path +
                                              " needs gRPC, Connect streaming or binary gRPC-Web"));
  }

  // Deadline: the client's timeout header; unary calls without one get --rpc-default-timeout-secs
  // and are clamped to --rpc-max-timeout-secs. Server streams (subscriptions, watches) are
  // long-lived: no default deadline and no clamp, only the client's own timeout if it sets one.
  auto now = std::chrono::steady_clock::now();
  const bool streaming = method->kind != MethodKind::kUnary;
  std::chrono::nanoseconds timeout = streaming ? std::chrono::nanoseconds::max()
                                               : std::chrono::nanoseconds(options_.default_timeout);
  std::optional<Status> error = transport_error;
  if (auto requested = protocol.RequestTimeout(req); !requested.ok()) {
    if (!error) error = requested.status();
  } else if (*requested) {
    timeout = **requested;
  }
  if (!streaming) timeout = std::min<std::chrono::nanoseconds>(timeout, options_.max_timeout);
  // Saturate: now + a huge timeout must not overflow the clock.
  using Clock = std::chrono::steady_clock;
  auto deadline = timeout >= Clock::time_point::max() - now
                      ? Clock::time_point::max()
                      : now + std::chrono::duration_cast<Clock::duration>(timeout);

  auto call = std::make_shared<ServerCall>(exchange, std::move(encoder), method_metrics_.at(method),
                                           deadline);
  if (error) return call->Finish(*error);

  std::unique_ptr<google::protobuf::Message> request;
  if (!bidi) {
    request.reset(method->request_prototype->New());
    if (Status st = protocol.DecodeRequest(req, options_.max_message_bytes, request.get());
        !st.ok()) {
      return call->Finish(st);
    }
  }

  std::weak_ptr<ServerCall> weak = call;
  exchange->SetCancelHook([weak] {
    if (auto c = weak.lock()) c->OnPeerGone();
  });
  if (streaming) {
    call->RegisterStream(&streams_);
    if (call->IsDone()) return;  // the server is draining: the stream already ended cleanly
  }
  if (bidi) {
    ReadRequestStream(*exchange, *method, protocol, call);
  } else {
    method->handler(call, std::move(request));
  }
  if (call->IsDone()) return;
  // A stream handler that returned without finishing the call has accepted it: send the status
  // and headers now rather than with the first message, which may be long in coming (a Subscribe
  // to an empty collection). Clients that wait for the headers would otherwise hang.
  if (streaming) call->SendHeaders();
  call->ArmDeadline();
}

}  // namespace peat::rpc

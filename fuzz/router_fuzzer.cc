// RpcRouter::Handle on a fake exchange, driven by structured fuzz input:
//
//   byte 0  content type and extras:  bits 0-3 content type (the ten supported ones, variants with
//           upper case and parameters, one unsupported, none); bits 4-5 which ops path the "ops"
//           path choice means (/livez, /readyz, /metrics, unknown RPC); bit 6 send an Origin
//           header; bit 7 the peer goes away after the first round of the event loop.
//   byte 1  flags: bit 0 HTTP/2; bit 1 gzip message encoding (grpc-encoding,
//           connect-content-encoding, content-encoding); bit 2 timeout headers; bits 3-4 HTTP
//           method (POST, GET, OPTIONS, PUT); bits 5-6 path (sync unary, server stream, async
//           unary, ops choice); bit 7 "wrap": the harness frames the body itself (gzip if bit 1,
//           one envelope, base64 for grpc-web-text) so mutations reach the message codecs.
//   [byte 2 + text]  when bit 2: length (mod 16) then the grpc-timeout / connect-timeout-ms text.
//   rest    the body (or, wrapped, the request message).
// A body over router.max_body_bytes() (max message 256 bytes here) goes to HandleOversized, as a
// transport does, whatever the HTTP method.
//
// Handlers (HealthCheckRequest in; the reply echoes the request's `service` in a HealthCheckRequest
// so the fuzzer can check the round trip through every protocol and codec). By service name:
// "err<c>…" fails with code (c % 16 + 1) and the service as message; "hang…" keeps the call (the
// harness answers it later, unless a deadline or a cancel comes first); "drop…" returns without
// answering (async handlers only); anything else echoes (streams: one message, then OK).
//
// Invariants (a violation traps): no exchange contract breach; exactly one response started and
// ended per request unless the peer went away (then at most one of each); no stream left in the
// registry; and the response is well-formed for what was asked: 204 for OPTIONS, 405 for other
// methods, 200/503/404 for the ops paths, 415 for unsupported content types, gRPC over HTTP/1.1 and
// Connect kind mismatches, otherwise a well-formed answer in the request's protocol (Connect unary:
// 200 + message or error status with a JSON body having a valid "code"; Connect stream: envelopes
// ending in an end-stream JSON; gRPC: trailers-only or messages + trailers; gRPC-Web: envelopes
// ending in a trailer frame, base64 chunks for -text). Status codes are consistent with what the
// handler did, echoed messages equal the request, unknown methods are unimplemented, and oversized
// requests are RESOURCE_EXHAUSTED without running a handler.
#include <google/protobuf/stubs/logging.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base64.h"
#include "common/metrics.h"
#include "common/status.h"
#include "fuzz_check.h"
#include "fuzz_exchange.h"
#include "grpc/health/v1/health.pb.h"
#include "mini_json.h"
#include "rpc/call_timeout.h"
#include "rpc/connect_protocol.h"
#include "rpc/envelope.h"
#include "rpc/gzip.h"
#include "rpc/message_codec.h"
#include "rpc/method_table.h"
#include "rpc/rpc_metrics.h"
#include "rpc/rpc_router.h"
#include "rpc/server_call.h"
#include "rpc/stream_registry.h"

namespace {

namespace hpb = grpc::health::v1;
using peat::Status;
using peat::StatusCode;
using peat::fuzz::FuzzExchange;
using peat::fuzz::JsonReader;
using peat::fuzz::JsonValue;
using peat::rpc::Codec;
using peat::rpc::HeaderList;

constexpr const char* kUnaryPath = "/fuzz.Echo/Unary";  // AddUnary: answers synchronously
constexpr const char* kStreamPath = "/fuzz.Echo/Stream";
constexpr const char* kAsyncPath = "/fuzz.Echo/Async";  // AddAsync unary
constexpr const char* kUnknownPath = "/fuzz.Echo/Nope";
// Small, so message limits, gzip bombs and oversized bodies are within a fuzz input's reach.
constexpr size_t kMaxMessage = 256;

enum class Proto { kConnectUnary, kConnectStream, kGrpc, kGrpcWeb, kGrpcWebText, kUnsupported };

struct ContentType {
  const char* value;  // nullptr: no content-type header
  Proto proto;
  Codec codec;
};

constexpr ContentType kContentTypes[16] = {
    {"application/json", Proto::kConnectUnary, Codec::kJson},
    {"application/proto", Proto::kConnectUnary, Codec::kProto},
    {"application/connect+json", Proto::kConnectStream, Codec::kJson},
    {"application/connect+proto", Proto::kConnectStream, Codec::kProto},
    {"application/grpc", Proto::kGrpc, Codec::kProto},
    {"application/grpc+proto", Proto::kGrpc, Codec::kProto},
    {"application/grpc-web", Proto::kGrpcWeb, Codec::kProto},
    {"application/grpc-web+proto", Proto::kGrpcWeb, Codec::kProto},
    {"application/grpc-web-text", Proto::kGrpcWebText, Codec::kProto},
    {"application/grpc-web-text+proto", Proto::kGrpcWebText, Codec::kProto},
    {"text/plain", Proto::kUnsupported, Codec::kProto},
    {nullptr, Proto::kUnsupported, Codec::kProto},
    {"Application/JSON; charset=utf-8", Proto::kConnectUnary, Codec::kJson},
    {"application/GRPC ; foo=bar", Proto::kGrpc, Codec::kProto},
    {"application/grpc-web-text+json", Proto::kUnsupported, Codec::kProto},
    {"application/Connect+Proto;charset=x", Proto::kConnectStream, Codec::kProto},
};

// What the handlers saw in the current run.
struct RunState {
  int handler_calls = 0;
  std::optional<std::string> service;           // request message as decoded by the router
  std::shared_ptr<peat::rpc::ServerCall> held;  // a "hang" call, answered by the harness
  bool held_is_unary = false;
};
RunState* g_run = nullptr;

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The error a handler fails with for an "err…" service.
std::optional<Status> HandlerError(const std::string& service) {
  if (!StartsWith(service, "err") || service.size() < 4) return std::nullopt;
  const auto code = static_cast<StatusCode>(static_cast<uint8_t>(service[3]) % 16 + 1);
  return Status(code, service);
}

std::unique_ptr<hpb::HealthCheckRequest> Echo(const std::string& service) {
  auto m = std::make_unique<hpb::HealthCheckRequest>();
  m->set_service(service);
  return m;
}

void NoteCall(const hpb::HealthCheckRequest& req) {
  ++g_run->handler_calls;
  g_run->service = req.service();
}

struct Server {
  Server() {
    google::protobuf::SetLogHandler(nullptr);  // invalid UTF-8 etc. would flood stderr
    table.AddUnary<hpb::HealthCheckRequest, hpb::HealthCheckRequest>(
        kUnaryPath, [](const hpb::HealthCheckRequest& req, hpb::HealthCheckRequest* resp) {
          NoteCall(req);
          if (auto err = HandlerError(req.service())) return *err;
          resp->set_service(req.service());
          return Status::Ok();
        });
    table.AddAsync<hpb::HealthCheckRequest>(
        kAsyncPath, peat::rpc::MethodKind::kUnary,
        [](const std::shared_ptr<peat::rpc::ServerCall>& call, const hpb::HealthCheckRequest& req) {
          NoteCall(req);
          const std::string& s = req.service();
          if (auto err = HandlerError(s)) return call->Finish(*err);
          if (StartsWith(s, "drop")) return;
          if (StartsWith(s, "hang")) {
            g_run->held = call;
            g_run->held_is_unary = true;
            return;
          }
          call->Reply(Echo(s));
        });
    table.AddAsync<hpb::HealthCheckRequest>(
        kStreamPath, peat::rpc::MethodKind::kServerStreaming,
        [](const std::shared_ptr<peat::rpc::ServerCall>& call, const hpb::HealthCheckRequest& req) {
          NoteCall(req);
          const std::string& s = req.service();
          if (StartsWith(s, "drop")) return;
          if (StartsWith(s, "hang")) {
            g_run->held = call;
            return;
          }
          call->Write(Echo(s));
          auto err = HandlerError(s);
          call->Finish(err ? *err : Status::Ok());
        });
    metrics_registry.AddCollector([this](std::string& out) { rpc_metrics.AppendPrometheus(out); });
  }

  peat::rpc::MethodTable table;
  peat::rpc::RpcMetrics rpc_metrics;
  peat::MetricsRegistry metrics_registry;
};

Server& GetServer() {
  static Server* server = new Server();  // never destroyed: outlives every run
  return *server;
}

// ---- Response checks -------------------------------------------------------------------------

// What an RPC answer says, independent of its protocol.
struct Outcome {
  StatusCode code = StatusCode::kOk;
  std::string message;
  std::vector<std::string> messages;  // response message payloads
};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// grpc-message: printable ASCII only (it is a header value), percent-decoded.
std::string PercentDecode(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    FUZZ_CHECK(c >= 0x20 && c <= 0x7e);
    if (c != '%') {
      out += static_cast<char>(c);
      continue;
    }
    FUZZ_CHECK(i + 2 < v.size() && HexDigit(v[i + 1]) >= 0 && HexDigit(v[i + 2]) >= 0);
    out += static_cast<char>(HexDigit(v[i + 1]) * 16 + HexDigit(v[i + 2]));
    i += 2;
  }
  return out;
}

StatusCode GrpcStatusCode(const std::string& v) {
  FUZZ_CHECK(!v.empty() && v.size() <= 2);
  int n = 0;
  for (char c : v) {
    FUZZ_CHECK(c >= '0' && c <= '9');
    n = n * 10 + (c - '0');
  }
  FUZZ_CHECK(n <= 16);
  FUZZ_CHECK(std::to_string(n) == v);
  return static_cast<StatusCode>(n);
}

void ReadGrpcStatus(const HeaderList& h, Outcome& out) {
  auto status = FuzzExchange::Find(h, "grpc-status");
  FUZZ_CHECK(status.has_value());
  out.code = GrpcStatusCode(*status);
  if (auto msg = FuzzExchange::Find(h, "grpc-message")) out.message = PercentDecode(*msg);
}

// A Connect error object {"code": "...", "message": "..."}.
void ReadConnectError(const JsonValue& err, Outcome& out) {
  FUZZ_CHECK(err.type == JsonValue::Type::kObject);
  auto code_name = err.GetString("code");
  FUZZ_CHECK(code_name.has_value());
  auto code = peat::StatusCodeFromName(*code_name);
  FUZZ_CHECK(code.has_value() && *code != StatusCode::kOk);
  out.code = *code;
  if (err.Get("message")) {
    auto msg = err.GetString("message");
    FUZZ_CHECK(msg.has_value());
    out.message = *msg;
  }
}

std::vector<peat::rpc::Envelope> Envelopes(std::string_view body) {
  auto envs = peat::rpc::ParseEnvelopes(body, 1 << 24);
  FUZZ_CHECK(envs.ok());
  return std::move(*envs);
}

// SendResponse only, or StartStream, StreamData*, EndStream.
void CheckEventShape(const FuzzExchange& ex, bool streamed) {
  FUZZ_CHECK(!ex.events.empty());
  if (!streamed) {
    FUZZ_CHECK(ex.events.size() == 1 && ex.events[0].kind == FuzzExchange::Kind::kSendResponse);
    return;
  }
  FUZZ_CHECK(ex.events.front().kind == FuzzExchange::Kind::kStartStream);
  FUZZ_CHECK(ex.events.back().kind == FuzzExchange::Kind::kEndStream);
  for (size_t i = 1; i + 1 < ex.events.size(); ++i) {
    FUZZ_CHECK(ex.events[i].kind == FuzzExchange::Kind::kStreamData);
  }
}

Outcome CheckConnectUnary(const FuzzExchange& ex, Codec codec) {
  CheckEventShape(ex, false);
  const auto& e = ex.events[0];
  auto ct = FuzzExchange::Find(e.headers, "content-type");
  Outcome out;
  if (e.status == 200) {
    FUZZ_CHECK(ct == std::string(codec == Codec::kJson ? "application/json" : "application/proto"));
    out.messages.push_back(e.body);
    return out;
  }
  FUZZ_CHECK(ct == std::string("application/json"));
  auto json = JsonReader::Parse(e.body);
  FUZZ_CHECK(json.has_value());
  ReadConnectError(*json, out);
  // Unknown procedures are 404 (checked by the caller); every other error uses the code's status.
  FUZZ_CHECK(e.status == peat::rpc::ConnectHttpStatus(out.code) ||
             (e.status == 404 && out.code == StatusCode::kUnimplemented));
  return out;
}

Outcome CheckConnectStream(const FuzzExchange& ex, Codec codec) {
  CheckEventShape(ex, true);
  FUZZ_CHECK(ex.events.front().status == 200);
  FUZZ_CHECK(FuzzExchange::Find(ex.events.front().headers, "content-type") ==
             std::string(codec == Codec::kJson ? "application/connect+json"
                                               : "application/connect+proto"));
  FUZZ_CHECK(ex.events.back().headers.empty());  // Connect streams carry no HTTP trailers
  std::string body;
  for (const auto& e : ex.events) body += e.body;
  auto envs = Envelopes(body);
  FUZZ_CHECK(!envs.empty());
  Outcome out;
  for (size_t i = 0; i + 1 < envs.size(); ++i) {
    FUZZ_CHECK(envs[i].flags == 0);
    out.messages.emplace_back(envs[i].payload);
  }
  FUZZ_CHECK(envs.back().flags == peat::rpc::kEnvelopeConnectEndStream);
  auto end = JsonReader::Parse(envs.back().payload);
  FUZZ_CHECK(end.has_value() && end->type == JsonValue::Type::kObject);
  if (const JsonValue* err = end->Get("error")) ReadConnectError(*err, out);
  return out;
}

Outcome CheckGrpc(const FuzzExchange& ex) {
  Outcome out;
  const auto& first = ex.events.front();
  FUZZ_CHECK(first.status == 200);
  FUZZ_CHECK(FuzzExchange::Find(first.headers, "content-type") == std::string("application/grpc"));
  if (first.kind == FuzzExchange::Kind::kSendResponse) {  // trailers-only
    CheckEventShape(ex, false);
    FUZZ_CHECK(first.body.empty());
    ReadGrpcStatus(first.headers, out);
    return out;
  }
  CheckEventShape(ex, true);
  FUZZ_CHECK(!FuzzExchange::Find(first.headers, "grpc-status"));
  for (size_t i = 1; i + 1 < ex.events.size(); ++i) {
    auto envs = Envelopes(ex.events[i].body);
    FUZZ_CHECK(envs.size() == 1 && envs[0].flags == 0);
    out.messages.emplace_back(envs[0].payload);
  }
  ReadGrpcStatus(ex.events.back().headers, out);
  return out;
}

Outcome CheckGrpcWeb(const FuzzExchange& ex, bool text, const char* request_ct) {
  CheckEventShape(ex, true);
  const auto& first = ex.events.front();
  FUZZ_CHECK(first.status == 200);
  FUZZ_CHECK(FuzzExchange::Find(first.headers, "content-type") == std::string(request_ct));
  FUZZ_CHECK(ex.events.back().headers.empty());  // trailers travel in the body
  std::string body;
  for (size_t i = 1; i + 1 < ex.events.size(); ++i) {
    const std::string& chunk = ex.events[i].body;
    if (!text) {
      body += chunk;
      continue;
    }
    auto decoded = peat::Base64Decode(chunk);  // each chunk is separately padded base64
    FUZZ_CHECK(decoded.ok());
    body.append(decoded->begin(), decoded->end());
  }
  auto envs = Envelopes(body);
  FUZZ_CHECK(!envs.empty());
  Outcome out;
  for (size_t i = 0; i + 1 < envs.size(); ++i) {
    FUZZ_CHECK(envs[i].flags == 0);
    out.messages.emplace_back(envs[i].payload);
  }
  FUZZ_CHECK(envs.back().flags == peat::rpc::kEnvelopeGrpcWebTrailers);
  // "name: value\r\n" lines.
  HeaderList trailers;
  std::string_view block = envs.back().payload;
  while (!block.empty()) {
    auto eol = block.find("\r\n");
    FUZZ_CHECK(eol != std::string_view::npos);
    std::string_view line = block.substr(0, eol);
    block.remove_prefix(eol + 2);
    auto colon = line.find(": ");
    FUZZ_CHECK(colon != std::string_view::npos && colon > 0);
    trailers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
  }
  ReadGrpcStatus(trailers, out);
  return out;
}

void CheckEcho(const std::string& payload, Codec codec, const RunState& run) {
  hpb::HealthCheckRequest m;
  FUZZ_CHECK(peat::rpc::DecodeMessage(codec, payload, &m).ok());
  FUZZ_CHECK(run.service.has_value());
  FUZZ_CHECK(m.service() == *run.service);
}

// ---- Input decoding --------------------------------------------------------------------------

struct Input {
  const uint8_t* data;
  size_t size;
  size_t pos = 0;
  uint8_t Byte() { return pos < size ? data[pos++] : 0; }
  std::string Bytes(size_t n) {
    n = std::min(n, size - pos);
    std::string s(reinterpret_cast<const char*>(data + pos), n);
    pos += n;
    return s;
  }
  std::string Rest() { return Bytes(size - pos); }
};

void Poll(boost::asio::io_context& io) {
  io.restart();
  io.poll();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  Server& server = GetServer();
  Input in{data, size};
  const uint8_t b0 = in.Byte();
  const uint8_t b1 = in.Byte();
  const ContentType& ct = kContentTypes[b0 & 0x0f];
  const bool origin = b0 & 0x40;
  const bool cancel = b0 & 0x80;
  const bool http2 = b1 & 0x01;
  const bool gzip = b1 & 0x02;
  const bool timeout = b1 & 0x04;
  static constexpr const char* kMethods[] = {"POST", "GET", "OPTIONS", "PUT"};
  const std::string method = kMethods[(b1 >> 3) & 3];
  static constexpr const char* kOpsPaths[] = {"/livez", "/readyz", "/metrics", kUnknownPath};
  static constexpr const char* kPaths[] = {kUnaryPath, kStreamPath, kAsyncPath, nullptr};
  const char* path = kPaths[(b1 >> 5) & 3];
  if (!path) path = kOpsPaths[(b0 >> 4) & 3];
  const bool wrap = b1 & 0x80;
  std::optional<std::string> timeout_text;
  if (timeout) timeout_text = in.Bytes(in.Byte() % 16);
  std::string body = in.Rest();
  const bool ready = body.size() % 2 == 0;

  if (wrap) {
    std::string msg = gzip ? peat::rpc::GzipCompress(body) : body;
    if (ct.proto == Proto::kConnectUnary) {
      body = std::move(msg);
    } else {
      body.clear();
      peat::rpc::AppendEnvelope(body, gzip ? peat::rpc::kEnvelopeCompressed : 0, msg);
      if (ct.proto == Proto::kGrpcWebText) {
        body = peat::Base64Encode(
            std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
      }
    }
  }

  peat::rpc::HttpRequest req;
  req.method = method;
  req.path = path;
  req.http2 = http2;
  if (ct.value) req.headers.emplace_back("content-type", ct.value);
  if (origin) req.headers.emplace_back("origin", "https://app.example");
  if (gzip) {
    req.headers.emplace_back("grpc-encoding", "gzip");
    req.headers.emplace_back("connect-content-encoding", "gzip");
    req.headers.emplace_back("content-encoding", "gzip");
  }
  if (timeout_text) {
    req.headers.emplace_back("grpc-timeout", *timeout_text);
    req.headers.emplace_back("connect-timeout-ms", *timeout_text);
  }
  req.body = body;

  RunState run;
  g_run = &run;
  struct ResetRun {
    ~ResetRun() { g_run = nullptr; }
  } reset_run;
  {
    // Declaration order: the io_context outlives the router, registry and exchange.
    boost::asio::io_context io;
    peat::rpc::StreamRegistry streams(&server.rpc_metrics.open_streams);
    peat::rpc::OpsHooks ops;
    ops.ready = [ready](std::string* reason) {
      if (!ready) *reason = "fuzzing";
      return ready;
    };
    ops.metrics = &server.metrics_registry;
    peat::rpc::RpcRouter router(
        server.table,
        peat::rpc::RouterOptions{kMaxMessage, std::chrono::seconds(120), std::chrono::seconds(300)},
        server.rpc_metrics, streams, std::move(ops));
    auto ex = std::make_shared<FuzzExchange>(io, std::move(req));

    // A transport answers a body over max_body_bytes() from the headers alone: RESOURCE_EXHAUSTED
    // in the request's protocol for POST, a plain 413 for other methods.
    const bool oversized = ex->request().body.size() > router.max_body_bytes();
    boost::asio::post(io, [&router, ex, oversized] {
      if (oversized) {
        router.HandleOversized(ex);
      } else {
        router.Handle(ex);
      }
    });
    Poll(io);
    if (cancel && !ex->ended()) {
      ex->Cancel();
      Poll(io);
    }
    // Drain: registered streams end with OK; a held unary call gets its answer now.
    streams.EndAll();
    Poll(io);
    if (run.held && run.held_is_unary) run.held->Reply(Echo(run.service.value_or("")));
    Poll(io);
    run.held.reset();
    Poll(io);

    // ---- Invariants common to every request.
    FUZZ_CHECK(ex->violations == 0);
    FUZZ_CHECK(streams.size() == 0);
    FUZZ_CHECK(server.rpc_metrics.open_streams.Value() == 0);
    FUZZ_CHECK(run.handler_calls <= 1);
    if (ex->cancelled()) {
      FUZZ_CHECK(ex->starts <= 1 && ex->ends <= 1);
    } else {
      FUZZ_CHECK(ex->starts == 1 && ex->ends == 1 && ex->ended());
    }

    const bool known = std::string_view(path) == kUnaryPath ||
                       std::string_view(path) == kStreamPath ||
                       std::string_view(path) == kAsyncPath;
    const bool streaming = std::string_view(path) == kStreamPath;
    const bool rpc = method == "POST" && ct.proto != Proto::kUnsupported &&
                     !(ct.proto == Proto::kGrpc && !http2) &&
                     !(known && ct.proto == Proto::kConnectUnary && streaming) &&
                     !(known && ct.proto == Proto::kConnectStream && !streaming);
    if (!rpc) FUZZ_CHECK(run.handler_calls == 0);
    if (ex->cancelled()) return 0;
    const auto& first = ex->events.front();

    if (oversized && method != "POST") {
      // Not an RPC: a plain 413, answered from the headers alone (the body was never read).
      CheckEventShape(*ex, false);
      FUZZ_CHECK(first.status == 413);
      FUZZ_CHECK(run.handler_calls == 0);
      return 0;
    } else if (oversized) {
      // Answered as an RPC (RESOURCE_EXHAUSTED): the body was never read.
      FUZZ_CHECK(run.handler_calls == 0);
    } else if (method == "OPTIONS") {
      CheckEventShape(*ex, false);
      FUZZ_CHECK(first.status == 204 && first.body.empty());
      FUZZ_CHECK(FuzzExchange::Find(first.headers, "access-control-allow-origin").has_value() ==
                 origin);
      return 0;
    } else if (method == "PUT") {
      CheckEventShape(*ex, false);
      FUZZ_CHECK(first.status == 405);
      FUZZ_CHECK(FuzzExchange::Find(first.headers, "allow") == std::string("GET, POST, OPTIONS"));
      return 0;
    } else if (method == "GET") {
      CheckEventShape(*ex, false);
      const std::string_view p = path;
      if (p == "/livez" || p == "/metrics") {
        FUZZ_CHECK(first.status == 200);
      } else if (p == "/readyz") {
        FUZZ_CHECK(first.status == (ready ? 200 : 503));
      } else {
        FUZZ_CHECK(first.status == 404);
      }
      return 0;
    }
    if (!rpc) {
      CheckEventShape(*ex, false);
      FUZZ_CHECK(first.status == 415);
      FUZZ_CHECK(FuzzExchange::Find(first.headers, "access-control-allow-origin").has_value() ==
                 origin);
      return 0;
    }

    Outcome out;
    switch (ct.proto) {
      case Proto::kConnectUnary:
        out = CheckConnectUnary(*ex, ct.codec);
        if (!known) FUZZ_CHECK(first.status == 404);
        break;
      case Proto::kConnectStream:
        out = CheckConnectStream(*ex, ct.codec);
        break;
      case Proto::kGrpc:
        out = CheckGrpc(*ex);
        break;
      case Proto::kGrpcWeb:
      case Proto::kGrpcWebText:
        out = CheckGrpcWeb(*ex, ct.proto == Proto::kGrpcWebText, ct.value);
        break;
      case Proto::kUnsupported:
        __builtin_trap();
    }
    FUZZ_CHECK(FuzzExchange::Find(first.headers, "access-control-allow-origin").has_value() ==
               origin);

    const Codec codec = (ct.proto == Proto::kConnectUnary || ct.proto == Proto::kConnectStream)
                            ? ct.codec
                            : Codec::kProto;
    for (const auto& m : out.messages) CheckEcho(m, codec, run);

    if (!known) {
      FUZZ_CHECK(out.code == StatusCode::kUnimplemented);
      FUZZ_CHECK(out.message == std::string("unknown method ") + path);
      FUZZ_CHECK(out.messages.empty());
      return 0;
    }
    if (oversized) FUZZ_CHECK(out.code == StatusCode::kResourceExhausted);
    // A malformed timeout header is refused before the handler runs.
    const bool connect = ct.proto == Proto::kConnectUnary || ct.proto == Proto::kConnectStream;
    if (timeout_text && !(connect ? peat::rpc::ParseConnectTimeoutMs(*timeout_text)
                                  : peat::rpc::ParseGrpcTimeout(*timeout_text))) {
      FUZZ_CHECK(run.handler_calls == 0);
      FUZZ_CHECK(out.code ==
                 (oversized ? StatusCode::kResourceExhausted : StatusCode::kInvalidArgument));
    }
    if (run.handler_calls == 0) {
      FUZZ_CHECK(out.code != StatusCode::kOk);
      FUZZ_CHECK(out.messages.empty());
      return 0;
    }
    // The handler ran: the answer reflects what it did (or a deadline that came first).
    const std::string& service = *run.service;
    const bool hang = StartsWith(service, "hang");
    const bool drop = StartsWith(service, "drop") && std::string_view(path) != kUnaryPath;
    auto err = HandlerError(service);
    if (out.code == StatusCode::kDeadlineExceeded && hang) return 0;
    if (streaming) {
      if (drop) {
        FUZZ_CHECK(out.code == StatusCode::kInternal && out.messages.empty());
      } else if (hang) {
        FUZZ_CHECK(out.code == StatusCode::kOk && out.messages.empty());  // ended by EndAll
      } else {
        FUZZ_CHECK(out.messages.size() == 1);
        FUZZ_CHECK(out.code == (err ? err->code() : StatusCode::kOk));
        if (err) FUZZ_CHECK(out.message == err->message());
      }
    } else if (err) {
      FUZZ_CHECK(out.code == err->code() && out.message == err->message());
      FUZZ_CHECK(out.messages.empty());
    } else if (drop) {
      FUZZ_CHECK(out.code == StatusCode::kInternal && out.messages.empty());
    } else {
      FUZZ_CHECK(out.code == StatusCode::kOk && out.messages.size() == 1);
    }
  }
  return 0;
}

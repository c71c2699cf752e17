#include "rpc/rpc_router.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/base64.h"
#include "common/metrics.h"
#include "grpc/health/v1/health.pb.h"
#include "rpc/envelope.h"
#include "rpc/fake_exchange.h"
#include "rpc/gzip.h"
#include "rpc/method_table.h"
#include "rpc/rpc_metrics.h"
#include "rpc/server_call.h"
#include "rpc/stream_registry.h"

namespace peat::rpc {
namespace {

namespace hpb = grpc::health::v1;
using testing::FakeExchange;

constexpr const char* kUnary = "/test.Echo/Unary";    // synchronous unary
constexpr const char* kAsync = "/test.Echo/Async";    // unary answered through the ServerCall
constexpr const char* kStream = "/test.Echo/Stream";  // server streaming
constexpr size_t kMaxMessage = 4096;

hpb::HealthCheckRequest Req(const std::string& service) {
  hpb::HealthCheckRequest r;
  r.set_service(service);
  return r;
}

std::unique_ptr<hpb::HealthCheckResponse> Resp(hpb::HealthCheckResponse::ServingStatus s) {
  auto r = std::make_unique<hpb::HealthCheckResponse>();
  r->set_status(s);
  return r;
}

std::string Env(const google::protobuf::Message& m, uint8_t flags = 0) {
  std::string out;
  AppendEnvelope(out, flags, m.SerializeAsString());
  return out;
}

std::string Env(std::string_view payload, uint8_t flags = 0) {
  std::string out;
  AppendEnvelope(out, flags, payload);
  return out;
}

std::string B64(std::string_view s) {
  return Base64Encode(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

std::string UnB64(std::string_view s) {
  auto bytes = Base64Decode(s);
  EXPECT_TRUE(bytes.ok()) << "not base64: " << s;
  if (!bytes.ok()) return {};
  return std::string(bytes->begin(), bytes->end());
}

// Parses a response body into envelopes (fails the test on framing errors).
std::vector<std::pair<uint8_t, std::string>> Frames(std::string_view body) {
  std::vector<std::pair<uint8_t, std::string>> out;
  auto envs = ParseEnvelopes(body, 1 << 20);
  EXPECT_TRUE(envs.ok()) << envs.status().ToString();
  if (!envs.ok()) return out;
  for (const auto& e : *envs) out.emplace_back(e.flags, std::string(e.payload));
  return out;
}

hpb::HealthCheckResponse::ServingStatus ParseStatus(std::string_view bytes) {
  hpb::HealthCheckResponse r;
  EXPECT_TRUE(r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  return r.status();
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    table_.AddUnary<hpb::HealthCheckRequest, hpb::HealthCheckResponse>(
        kUnary, [this](const hpb::HealthCheckRequest& req, hpb::HealthCheckResponse* resp) {
          ++unary_calls_;
          if (req.service() == "fail") return InvalidArgumentError("bad \"service\"\n");
          if (req.service() == "up") resp->set_status(hpb::HealthCheckResponse::SERVING);
          if (req.service() == "down") resp->set_status(hpb::HealthCheckResponse::NOT_SERVING);
          return Status::Ok();
        });
    table_.AddAsync<hpb::HealthCheckRequest>(
        kAsync, MethodKind::kUnary,
        [this](const std::shared_ptr<ServerCall>& call, const hpb::HealthCheckRequest& req) {
          ++async_calls_;
          if (req.service() == "hang") {
            Hold(call);
          } else if (req.service() == "thread") {
            std::thread t([call] { call->Reply(Resp(hpb::HealthCheckResponse::SERVING)); });
            t.join();
          } else if (req.service() == "twice") {
            call->Reply(Resp(hpb::HealthCheckResponse::SERVING));
            call->Finish(InternalError("second answer"));
            call->Reply(Resp(hpb::HealthCheckResponse::NOT_SERVING));
          }
          // "drop": returns without answering and without keeping the call.
        });
    table_.AddAsync<hpb::HealthCheckRequest>(
        kStream, MethodKind::kServerStreaming,
        [this](const std::shared_ptr<ServerCall>& call, const hpb::HealthCheckRequest& req) {
          ++stream_calls_;
          const std::string& s = req.service();
          if (s == "hang") {
            Hold(call);
          } else if (s == "hang-after-one") {
            call->Write(Resp(hpb::HealthCheckResponse::SERVING));
            Hold(call);
          } else if (s == "err") {
            call->Write(Resp(hpb::HealthCheckResponse::SERVING));
            call->Finish(UnavailableError("boom"));
          } else if (s == "reject") {
            // refuses the request (validation) before accepting the stream
            call->Finish(InvalidArgumentError("rejected"));
          } else if (s == "drop") {
            // returns without answering
          } else {
            int n = std::stoi(s);
            for (int i = 0; i < n; ++i) {
              call->Write(Resp(i % 2 == 0 ? hpb::HealthCheckResponse::SERVING
                                          : hpb::HealthCheckResponse::NOT_SERVING));
            }
            call->Finish(Status::Ok());
          }
        });
    registry_.AddCollector([this](std::string& out) { rpc_metrics_.AppendPrometheus(out); });
    OpsHooks ops;
    ops.ready = [this](std::string* reason) {
      if (!ready_) *reason = "starting";
      return ready_;
    };
    ops.metrics = &registry_;
    router_ = std::make_unique<RpcRouter>(
        table_, RouterOptions{kMaxMessage, std::chrono::seconds(120), std::chrono::seconds(300)},
        rpc_metrics_, streams_, std::move(ops));
  }

  void Hold(const std::shared_ptr<ServerCall>& call) {
    held_ = call;
    call->SetCancelHook([this] { ++cancel_hooks_; });
  }

  std::shared_ptr<FakeExchange> MakeExchange(std::string method, std::string path,
                                             std::string content_type, std::string body,
                                             bool http2 = false, HeaderList extra = {}) {
    HttpRequest req;
    req.method = std::move(method);
    req.path = std::move(path);
    if (!content_type.empty()) req.headers.emplace_back("content-type", std::move(content_type));
    for (auto& h : extra) req.headers.push_back(std::move(h));
    req.body = std::move(body);
    req.http2 = http2;
    return std::make_shared<FakeExchange>(io_, std::move(req));
  }

  // Runs every ready handler on the io_context (timers that are not due stay pending).
  void Drain() {
    io_.restart();
    io_.poll();
  }

  std::shared_ptr<FakeExchange> Call(std::string path, std::string content_type, std::string body,
                                     bool http2 = false, HeaderList extra = {}) {
    auto ex = MakeExchange("POST", std::move(path), std::move(content_type), std::move(body), http2,
                           std::move(extra));
    boost::asio::post(io_, [this, ex] { router_->Handle(ex); });
    Drain();
    EXPECT_EQ(ex->violations, 0);
    return ex;
  }

  std::shared_ptr<FakeExchange> Oversized(std::string path, std::string content_type,
                                          bool http2 = false) {
    auto ex = MakeExchange("POST", std::move(path), std::move(content_type), "", http2);
    boost::asio::post(io_, [this, ex] { router_->HandleOversized(ex); });
    Drain();
    EXPECT_EQ(ex->violations, 0);
    return ex;
  }

  std::shared_ptr<FakeExchange> Get(std::string method, std::string path, HeaderList extra = {}) {
    auto ex = MakeExchange(std::move(method), std::move(path), "", "", false, std::move(extra));
    boost::asio::post(io_, [this, ex] { router_->Handle(ex); });
    Drain();
    EXPECT_EQ(ex->violations, 0);
    return ex;
  }

  // The grpc-status of a gRPC-Web response, read from its trailer frame (last envelope).
  static std::string GrpcWebTrailers(const std::string& body) {
    auto frames = Frames(body);
    if (frames.empty() || frames.back().first != kEnvelopeGrpcWebTrailers) return "<none>";
    return frames.back().second;
  }

  std::string Metrics() { return registry_.Render(); }

  // Declaration order matters: calls held by handlers go first, the io_context last.
  boost::asio::io_context io_;
  RpcMetrics rpc_metrics_;
  StreamRegistry streams_{&rpc_metrics_.open_streams};
  MetricsRegistry registry_;
  MethodTable table_;
  std::unique_ptr<RpcRouter> router_;
  bool ready_ = true;
  int unary_calls_ = 0;
  int async_calls_ = 0;
  int stream_calls_ = 0;
  int cancel_hooks_ = 0;
  std::shared_ptr<ServerCall> held_;
};

// --- Connect unary --------------------------------------------------------------------------

TEST_F(RouterTest, ConnectUnaryJsonSuccess) {
  auto ex = Call(kUnary, "application/json", R"({"service":"up"})");
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->events[0].kind, FakeExchange::Kind::kSendResponse);
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/json");
  EXPECT_EQ(ex->body(), R"({"status":"SERVING"})");
  EXPECT_EQ(unary_calls_, 1);
}

TEST_F(RouterTest, ConnectUnaryJsonDefaultResponseIsEmptyObject) {
  auto ex = Call(kUnary, "application/json", "{}");
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->body(), "{}");
}

TEST_F(RouterTest, ConnectUnaryProtoSuccess) {
  auto ex = Call(kUnary, "application/proto", Req("down").SerializeAsString());
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/proto");
  EXPECT_EQ(ParseStatus(ex->body()), hpb::HealthCheckResponse::NOT_SERVING);
}

TEST_F(RouterTest, ConnectContentTypeIsCaseInsensitiveAndMayHaveParameters) {
  auto ex = Call(kUnary, "Application/JSON; charset=utf-8", R"({"service":"up"})");
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->body(), R"({"status":"SERVING"})");
}

TEST_F(RouterTest, ConnectUnaryMalformedJsonIs400InvalidArgument) {
  auto ex = Call(kUnary, "application/json", R"({"service":)");
  EXPECT_EQ(ex->status(), 400);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/json");
  EXPECT_EQ(ex->body().rfind(R"({"code":"invalid_argument","message":"malformed JSON)", 0), 0u)
      << ex->body();
  EXPECT_EQ(unary_calls_, 0);
}

TEST_F(RouterTest, ConnectUnaryMalformedProtoIs400InvalidArgument) {
  auto ex = Call(kUnary, "application/proto", std::string("\x0a\x50xx", 4));
  EXPECT_EQ(ex->status(), 400);
  EXPECT_EQ(ex->body(),
            R"({"code":"invalid_argument","message":"malformed protobuf request message"})");
}

TEST_F(RouterTest, ConnectUnaryHandlerErrorIsEscapedJson) {
  auto ex = Call(kUnary, "application/json", R"({"service":"fail"})");
  EXPECT_EQ(ex->status(), 400);
  EXPECT_EQ(ex->body(), R"({"code":"invalid_argument","message":"bad \"service\"\n"})");
}

TEST_F(RouterTest, ConnectUnaryUnknownMethodIs404Unimplemented) {
  auto ex = Call("/test.Echo/Nope", "application/json", "{}");
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->status(), 404);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/json");
  EXPECT_EQ(ex->body(), R"({"code":"unimplemented","message":"unknown method /test.Echo/Nope"})");
  // Unknown paths do not create metric series.
  EXPECT_EQ(Metrics().find("/test.Echo/Nope"), std::string::npos);
}

TEST_F(RouterTest, ConnectUnaryGzipBodyIsInflated) {
  auto ex = Call(kUnary, "application/json", GzipCompress(R"({"service":"up"})"), false,
                 {{"content-encoding", "gzip"}});
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->body(), R"({"status":"SERVING"})");
}

TEST_F(RouterTest, ConnectUnaryUnsupportedContentEncodingIsUnimplemented) {
  auto ex = Call(kUnary, "application/json", "{}", false, {{"content-encoding", "br"}});
  EXPECT_EQ(ex->status(), 501);
  EXPECT_EQ(ex->body().rfind(R"({"code":"unimplemented")", 0), 0u) << ex->body();
}

TEST_F(RouterTest, ConnectUnaryGzipBombIs429) {
  std::string bomb = GzipCompress(std::string(1 << 20, ' ') + "{}");
  auto ex = Call(kUnary, "application/json", bomb, false, {{"content-encoding", "gzip"}});
  EXPECT_EQ(ex->status(), 429);
  EXPECT_EQ(ex->body().rfind(R"({"code":"resource_exhausted")", 0), 0u) << ex->body();
  EXPECT_EQ(unary_calls_, 0);
}

TEST_F(RouterTest, ConnectUnaryBodyOverLimitIs429) {
  std::string body = R"({"service":")" + std::string(kMaxMessage, 'x') + R"("})";
  auto ex = Call(kUnary, "application/json", body);
  EXPECT_EQ(ex->status(), 429);
  EXPECT_EQ(ex->body().rfind(R"({"code":"resource_exhausted")", 0), 0u) << ex->body();
}

TEST_F(RouterTest, ConnectUnaryToStreamingMethodIs415) {
  auto ex = Call(kStream, "application/json", R"({"service":"1"})");
  EXPECT_EQ(ex->status(), 415);
  EXPECT_EQ(stream_calls_, 0);
}

TEST_F(RouterTest, ConnectStreamToUnaryMethodIs415) {
  auto ex = Call(kUnary, "application/connect+json", Env(R"({"service":"up"})"));
  EXPECT_EQ(ex->status(), 415);
  EXPECT_EQ(unary_calls_, 0);
}

TEST_F(RouterTest, MalformedConnectTimeoutIsInvalidArgument) {
  auto ex = Call(kUnary, "application/json", "{}", false, {{"connect-timeout-ms", "soon"}});
  EXPECT_EQ(ex->status(), 400);
  EXPECT_EQ(
      ex->body(),
      R"({"code":"invalid_argument","message":"malformed connect-timeout-ms header \"soon\""})");
  EXPECT_EQ(unary_calls_, 0);
}

// --- Content types ---------------------------------------------------------------------------

TEST_F(RouterTest, UnsupportedContentTypeIs415) {
  auto ex = Call(kUnary, "text/plain", "hi");
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->status(), 415);
  auto accept = ex->ResponseHeader("accept-post");
  ASSERT_TRUE(accept.has_value());
  EXPECT_NE(accept->find("application/grpc-web-text"), std::string::npos);
  EXPECT_EQ(unary_calls_, 0);
}

TEST_F(RouterTest, MissingContentTypeIs415) {
  auto ex = Call(kUnary, "", "{}");
  EXPECT_EQ(ex->status(), 415);
}

TEST_F(RouterTest, GrpcOverHttp1Is415) {
  auto ex = Call(kUnary, "application/grpc", Env(Req("up")), /*http2=*/false);
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->status(), 415);
  EXPECT_NE(ex->body().find("HTTP/2"), std::string::npos);
  EXPECT_EQ(unary_calls_, 0);
}

// --- gRPC ------------------------------------------------------------------------------------

TEST_F(RouterTest, GrpcUnarySuccess) {
  auto ex = Call(kUnary, "application/grpc", Env(Req("up")), /*http2=*/true);
  ASSERT_EQ(ex->events.size(), 3u);
  EXPECT_EQ(ex->events[0].kind, FakeExchange::Kind::kStartStream);
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/grpc");
  EXPECT_EQ(ex->events[1].kind, FakeExchange::Kind::kStreamData);
  const std::string& frame = ex->events[1].body;
  ASSERT_GE(frame.size(), kEnvelopeHeaderSize);
  auto frames = Frames(frame);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, 0);
  EXPECT_EQ(ParseStatus(frames[0].second), hpb::HealthCheckResponse::SERVING);
  EXPECT_EQ(ex->events[2].kind, FakeExchange::Kind::kEndStream);
  EXPECT_EQ(ex->Trailer("grpc-status"), "0");
  EXPECT_FALSE(ex->Trailer("grpc-message").has_value());
}

TEST_F(RouterTest, GrpcPlusProtoContentTypeIsGrpc) {
  auto ex = Call(kUnary, "application/grpc+proto", Env(Req("up")), true);
  EXPECT_EQ(ex->GrpcStatus(), "0");
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/grpc");
}

TEST_F(RouterTest, GrpcHandlerErrorIsTrailersOnlyWithPercentEncodedMessage) {
  auto ex = Call(kUnary, "application/grpc", Env(Req("fail")), true);
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->events[0].kind, FakeExchange::Kind::kSendResponse);
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/grpc");
  EXPECT_EQ(ex->ResponseHeader("grpc-status"), "3");
  EXPECT_EQ(ex->ResponseHeader("grpc-message"), "bad \"service\"%0A");
  EXPECT_EQ(ex->body(), "");
}

TEST_F(RouterTest, GrpcUnknownMethodIsTrailersOnlyUnimplemented) {
  auto ex = Call("/test.Echo/Nope", "application/grpc", Env(Req("")), true);
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->events[0].kind, FakeExchange::Kind::kSendResponse);
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->ResponseHeader("grpc-status"), "12");
  EXPECT_EQ(ex->ResponseHeader("grpc-message"), "unknown method /test.Echo/Nope");
  EXPECT_EQ(ex->body(), "");
}

TEST_F(RouterTest, GrpcMalformedRequestIsInvalidArgument) {
  auto ex = Call(kUnary, "application/grpc", Env(std::string("\x0a\x50xx", 4)), true);
  EXPECT_EQ(ex->GrpcStatus(), "3");
  EXPECT_EQ(unary_calls_, 0);
}

TEST_F(RouterTest, GrpcTwoRequestEnvelopesIsInvalidArgument) {
  auto ex = Call(kUnary, "application/grpc", Env(Req("up")) + Env(Req("up")), true);
  EXPECT_EQ(ex->GrpcStatus(), "3");
  EXPECT_EQ(ex->ResponseHeader("grpc-message"), "expected exactly one request message, got 2");
  EXPECT_EQ(unary_calls_, 0);
}

TEST_F(RouterTest, GrpcZeroRequestEnvelopesIsInvalidArgument) {
  auto ex = Call(kUnary, "application/grpc", "", true);
  EXPECT_EQ(ex->GrpcStatus(), "3");
  EXPECT_EQ(ex->ResponseHeader("grpc-message"), "expected exactly one request message, got 0");
}

TEST_F(RouterTest, GrpcTruncatedEnvelopeIsInvalidArgument) {
  std::string body = Env(Req("up"));
  body.pop_back();
  auto ex = Call(kUnary, "application/grpc", body, true);
  EXPECT_EQ(ex->GrpcStatus(), "3");
}

TEST_F(RouterTest, GrpcUnknownEnvelopeFlagsAreInvalidArgument) {
  auto ex = Call(kUnary, "application/grpc", Env(Req("up"), 0x02), true);
  EXPECT_EQ(ex->GrpcStatus(), "3");
}

TEST_F(RouterTest, GrpcMessageOverLimitIsResourceExhausted) {
  auto ex = Call(kUnary, "application/grpc", Env(Req(std::string(kMaxMessage, 'x'))), true);
  EXPECT_EQ(ex->GrpcStatus(), "8");
  EXPECT_EQ(unary_calls_, 0);
}

TEST_F(RouterTest, GrpcCompressedEnvelopeWithGzipEncodingDecodes) {
  auto ex = Call(kUnary, "application/grpc",
                 Env(GzipCompress(Req("up").SerializeAsString()), kEnvelopeCompressed), true,
                 {{"grpc-encoding", "gzip"}});
  EXPECT_EQ(ex->GrpcStatus(), "0");
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(ParseStatus(frames[0].second), hpb::HealthCheckResponse::SERVING);
}

TEST_F(RouterTest, GrpcCompressedFlagWithoutEncodingIsInvalidArgument) {
  auto ex = Call(kUnary, "application/grpc",
                 Env(GzipCompress(Req("up").SerializeAsString()), kEnvelopeCompressed), true);
  EXPECT_EQ(ex->GrpcStatus(), "3");
  EXPECT_EQ(ex->ResponseHeader("grpc-message"),
            "compressed message without a message encoding header");
  EXPECT_EQ(unary_calls_, 0);
}

TEST_F(RouterTest, GrpcCompressedFlagWithIdentityEncodingIsInvalidArgument) {
  auto ex = Call(kUnary, "application/grpc",
                 Env(GzipCompress(Req("up").SerializeAsString()), kEnvelopeCompressed), true,
                 {{"grpc-encoding", "identity"}});
  EXPECT_EQ(ex->GrpcStatus(), "3");
}

TEST_F(RouterTest, GrpcUnsupportedMessageEncodingIsUnimplemented) {
  auto ex = Call(kUnary, "application/grpc", Env(Req("up"), kEnvelopeCompressed), true,
                 {{"grpc-encoding", "snappy"}});
  EXPECT_EQ(ex->GrpcStatus(), "12");
}

TEST_F(RouterTest, GrpcCorruptCompressedMessageIsInvalidArgument) {
  auto ex = Call(kUnary, "application/grpc", Env("not gzip", kEnvelopeCompressed), true,
                 {{"grpc-encoding", "gzip"}});
  EXPECT_EQ(ex->GrpcStatus(), "3");
}

TEST_F(RouterTest, GrpcStreamWritesOneFramePerMessage) {
  auto ex = Call(kStream, "application/grpc", Env(Req("3")), true);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/grpc");
  auto chunks = ex->data_chunks();
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(ParseStatus(Frames(chunks[0])[0].second), hpb::HealthCheckResponse::SERVING);
  EXPECT_EQ(ParseStatus(Frames(chunks[1])[0].second), hpb::HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(ParseStatus(Frames(chunks[2])[0].second), hpb::HealthCheckResponse::SERVING);
  EXPECT_EQ(ex->Trailer("grpc-status"), "0");
  EXPECT_EQ(streams_.size(), 0u);
  EXPECT_EQ(rpc_metrics_.open_streams.Value(), 0);
}

TEST_F(RouterTest, GrpcStreamErrorAfterMessageEndsWithTrailers) {
  auto ex = Call(kStream, "application/grpc", Env(Req("err")), true);
  ASSERT_EQ(ex->data_chunks().size(), 1u);
  EXPECT_EQ(ex->Trailer("grpc-status"), "14");
  EXPECT_EQ(ex->Trailer("grpc-message"), "boom");
}

// --- Deadlines -------------------------------------------------------------------------------

TEST_F(RouterTest, GrpcTimeoutEndsNeverAnsweringStreamWithDeadlineExceeded) {
  // 200 ms: long enough that the call is still open when Call() returns, even under ASan on a
  // loaded machine (Call() polls the io_context, which would run an already-expired timer).
  auto ex = Call(kStream, "application/grpc", Env(Req("hang")), true, {{"grpc-timeout", "200m"}});
  ASSERT_NE(held_, nullptr);
  ASSERT_EQ(ex->events.size(), 1u);  // the headers of the accepted stream, no message
  EXPECT_EQ(ex->events[0].kind, FakeExchange::Kind::kStartStream);
  EXPECT_EQ(streams_.size(), 1u);
  EXPECT_EQ(rpc_metrics_.open_streams.Value(), 1);

  auto start = std::chrono::steady_clock::now();
  io_.restart();
  io_.run_for(std::chrono::seconds(10));  // returns once the timer fired and nothing is left
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  EXPECT_EQ(ex->Trailer("grpc-status"), "4");
  EXPECT_EQ(ex->Trailer("grpc-message"), "deadline exceeded");
  EXPECT_EQ(ex->violations, 0);
  EXPECT_EQ(cancel_hooks_, 1);
  EXPECT_TRUE(held_->IsDone());
  EXPECT_EQ(streams_.size(), 0u);
  EXPECT_EQ(rpc_metrics_.open_streams.Value(), 0);
  EXPECT_NE(Metrics().find(R"(peat_rpc_requests_total{method="/test.Echo/Stream",)"
                           R"(code="deadline_exceeded"} 1)"),
            std::string::npos);
}

TEST_F(RouterTest, GrpcTimeoutAfterAMessageEndsWithTrailers) {
  auto ex =
      Call(kStream, "application/grpc", Env(Req("hang-after-one")), true, {{"grpc-timeout", "2m"}});
  ASSERT_EQ(ex->data_chunks().size(), 1u);
  io_.restart();
  io_.run_for(std::chrono::seconds(10));
  EXPECT_EQ(ex->Trailer("grpc-status"), "4");
  EXPECT_EQ(ex->violations, 0);
}

TEST_F(RouterTest, ConnectTimeoutEndsNeverAnsweringUnaryWith504) {
  auto ex = Call(kAsync, "application/json", R"({"service":"hang"})", false,
                 {{"connect-timeout-ms", "200"}});
  EXPECT_TRUE(ex->events.empty());
  io_.restart();
  io_.run_for(std::chrono::seconds(10));
  EXPECT_EQ(ex->status(), 504);
  EXPECT_EQ(ex->body(), R"({"code":"deadline_exceeded","message":"deadline exceeded"})");
  EXPECT_EQ(cancel_hooks_, 1);
}

TEST_F(RouterTest, MalformedGrpcTimeoutIsInvalidArgument) {
  for (const char* bad : {"abc", "1x", "123456789S", "-1S"}) {
    auto ex = Call(kStream, "application/grpc", Env(Req("1")), true, {{"grpc-timeout", bad}});
    EXPECT_EQ(ex->GrpcStatus(), "3") << bad;
    EXPECT_EQ(ex->ResponseHeader("grpc-message"),
              std::string("malformed grpc-timeout header \"") + bad + "\"");
  }
  EXPECT_EQ(stream_calls_, 0);
}

TEST_F(RouterTest, UnaryDeadlineDefaultsAndIsClampedToMax) {
  auto before = std::chrono::steady_clock::now();
  Call(kAsync, "application/grpc", Env(Req("hang")), true);
  ASSERT_NE(held_, nullptr);
  EXPECT_GE(held_->deadline(), before + std::chrono::seconds(120));
  EXPECT_LE(held_->deadline(), std::chrono::steady_clock::now() + std::chrono::seconds(120));

  before = std::chrono::steady_clock::now();
  Call(kAsync, "application/grpc", Env(Req("hang")), true, {{"grpc-timeout", "10H"}});
  EXPECT_GE(held_->deadline(), before + std::chrono::seconds(300));
  EXPECT_LE(held_->deadline(), std::chrono::steady_clock::now() + std::chrono::seconds(300));
}

TEST_F(RouterTest, StreamsHaveNoDefaultDeadlineAndKeepTheClientsOwn) {
  // Subscriptions and watches are long-lived: no --rpc-default-timeout-secs, no clamp.
  Call(kStream, "application/grpc", Env(Req("hang")), true);
  ASSERT_NE(held_, nullptr);
  EXPECT_EQ(held_->deadline(), std::chrono::steady_clock::time_point::max());

  auto before = std::chrono::steady_clock::now();
  Call(kStream, "application/grpc", Env(Req("hang")), true, {{"grpc-timeout", "10H"}});
  EXPECT_GE(held_->deadline(), before + std::chrono::hours(10));
}

TEST_F(RouterTest, HugeGrpcTimeoutIsClampedToMax) {
  // Regression: a timeout beyond int64 nanoseconds is clamped to max_timeout, not wrapped into
  // a deadline in the past.
  auto before = std::chrono::steady_clock::now();
  Call(kStream, "application/grpc", Env(Req("hang")), true, {{"grpc-timeout", "99999999H"}});
  ASSERT_NE(held_, nullptr);
  EXPECT_GE(held_->deadline(), before + std::chrono::seconds(300));
}

// --- gRPC-Web --------------------------------------------------------------------------------

TEST_F(RouterTest, GrpcWebBinarySuccessEndsWithTrailerFrame) {
  auto ex = Call(kUnary, "application/grpc-web+proto", Env(Req("up")));
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/grpc-web+proto");
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].first, 0);
  EXPECT_EQ(ParseStatus(frames[0].second), hpb::HealthCheckResponse::SERVING);
  EXPECT_EQ(frames[1].first, kEnvelopeGrpcWebTrailers);
  EXPECT_EQ(frames[1].second, "grpc-status: 0\r\n");
  EXPECT_EQ(ex->events.back().kind, FakeExchange::Kind::kEndStream);
}

TEST_F(RouterTest, GrpcWebErrorHasStatusAndMessageInTrailerFrame) {
  auto ex = Call(kUnary, "application/grpc-web", Env(Req("fail")));
  EXPECT_EQ(ex->status(), 200);
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, kEnvelopeGrpcWebTrailers);
  EXPECT_EQ(frames[0].second, "grpc-status: 3\r\ngrpc-message: bad \"service\"%0A\r\n");
}

TEST_F(RouterTest, GrpcWebUnknownMethodIsUnimplemented) {
  auto ex = Call("/test.Echo/Nope", "application/grpc-web", Env(Req("")));
  EXPECT_EQ(GrpcWebTrailers(ex->body()),
            "grpc-status: 12\r\ngrpc-message: unknown method /test.Echo/Nope\r\n");
}

TEST_F(RouterTest, GrpcWebTextSuccessIsBase64) {
  auto ex = Call(kUnary, "application/grpc-web-text", B64(Env(Req("up"))));
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/grpc-web-text");
  std::string decoded;
  for (const auto& chunk : ex->data_chunks()) decoded += UnB64(chunk);
  auto frames = Frames(decoded);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(ParseStatus(frames[0].second), hpb::HealthCheckResponse::SERVING);
  EXPECT_EQ(frames[1].first, kEnvelopeGrpcWebTrailers);
  EXPECT_EQ(frames[1].second, "grpc-status: 0\r\n");
}

TEST_F(RouterTest, GrpcWebTextAcceptsSeparatelyPaddedChunks) {
  std::string raw = Env(Req("up"));  // 5 + 4 bytes
  ASSERT_EQ(raw.size(), 9u);
  std::string first = B64(raw.substr(0, 4));  // "xxxxxx=="
  std::string second = B64(raw.substr(4));    // "xxxxxxx="
  ASSERT_EQ(first.substr(6), "==");
  ASSERT_EQ(second.back(), '=');
  auto ex = Call(kUnary, "application/grpc-web-text+proto", first + second);
  std::string decoded;
  for (const auto& chunk : ex->data_chunks()) decoded += UnB64(chunk);
  auto frames = Frames(decoded);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(ParseStatus(frames[0].second), hpb::HealthCheckResponse::SERVING);
  EXPECT_EQ(frames[1].second, "grpc-status: 0\r\n");
  EXPECT_EQ(unary_calls_, 1);
}

TEST_F(RouterTest, GrpcWebTextNotBase64IsInvalidArgument) {
  auto ex = Call(kUnary, "application/grpc-web-text", "!!!not base64!!!");
  std::string decoded;
  for (const auto& chunk : ex->data_chunks()) decoded += UnB64(chunk);
  EXPECT_EQ(GrpcWebTrailers(decoded),
            "grpc-status: 3\r\ngrpc-message: malformed grpc-web-text body: not base64\r\n");
  EXPECT_EQ(unary_calls_, 0);
}

// --- Connect streaming -----------------------------------------------------------------------

TEST_F(RouterTest, ConnectStreamJsonSuccess) {
  auto ex = Call(kStream, "application/connect+json", Env(R"({"service":"2"})"));
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/connect+json");
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], std::make_pair(uint8_t{0}, std::string(R"({"status":"SERVING"})")));
  EXPECT_EQ(frames[1], std::make_pair(uint8_t{0}, std::string(R"({"status":"NOT_SERVING"})")));
  EXPECT_EQ(frames[2], std::make_pair(kEnvelopeConnectEndStream, std::string("{}")));
  EXPECT_EQ(ex->events.back().kind, FakeExchange::Kind::kEndStream);
}

TEST_F(RouterTest, ConnectStreamProtoSuccess) {
  auto ex = Call(kStream, "application/connect+proto", Env(Req("1")));
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/connect+proto");
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].first, 0);
  EXPECT_EQ(ParseStatus(frames[0].second), hpb::HealthCheckResponse::SERVING);
  EXPECT_EQ(frames[1], std::make_pair(kEnvelopeConnectEndStream, std::string("{}")));
}

TEST_F(RouterTest, ConnectStreamErrorIsInTheEndStreamEnvelope) {
  auto ex = Call(kStream, "application/connect+json", Env(R"({"service":"err"})"));
  EXPECT_EQ(ex->status(), 200);
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].first, 0);
  EXPECT_EQ(frames[1], std::make_pair(kEnvelopeConnectEndStream,
                                      std::string(R"({"error":{"code":"unavailable",)"
                                                  R"("message":"boom"}})")));
}

TEST_F(RouterTest, ConnectStreamUnknownMethodIsUnimplementedEndStream) {
  auto ex = Call("/test.Echo/Nope", "application/connect+json", Env("{}"));
  EXPECT_EQ(ex->status(), 200);
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, kEnvelopeConnectEndStream);
  EXPECT_EQ(frames[0].second,
            R"({"error":{"code":"unimplemented","message":"unknown method /test.Echo/Nope"}})");
}

TEST_F(RouterTest, ConnectStreamCompressedEnvelopeWithConnectEncodingDecodes) {
  auto ex = Call(kStream, "application/connect+json",
                 Env(GzipCompress(R"({"service":"1"})"), kEnvelopeCompressed), false,
                 {{"connect-content-encoding", "gzip"}});
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].second, R"({"status":"SERVING"})");
  EXPECT_EQ(frames[1].second, "{}");
}

TEST_F(RouterTest, ConnectStreamTwoRequestEnvelopesIsInvalidArgument) {
  auto ex = Call(kStream, "application/connect+json", Env("{}") + Env("{}"));
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].second, R"({"error":{"code":"invalid_argument",)"
                              R"("message":"expected exactly one request message, got 2"}})");
  EXPECT_EQ(stream_calls_, 0);
}

TEST_F(RouterTest, ConnectStreamTimeoutEndsWithDeadlineExceeded) {
  auto ex = Call(kStream, "application/connect+json", Env(R"({"service":"hang"})"), false,
                 {{"connect-timeout-ms", "1"}});
  io_.restart();
  io_.run_for(std::chrono::seconds(10));
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, kEnvelopeConnectEndStream);
  EXPECT_EQ(frames[0].second,
            R"({"error":{"code":"deadline_exceeded","message":"deadline exceeded"}})");
}

// --- Server streams answer their headers when accepted --------------------------------------

// Every streaming protocol: the content type of the request, HTTP/2 or not, the request body
// carrying HealthCheckRequest{service}, and the response content type.
struct StreamProtocol {
  std::string content_type;
  bool http2;
  std::string (*body)(const std::string& service);
  std::string response_type;
};

std::vector<StreamProtocol> StreamProtocols() {
  auto json = [](const std::string& s) { return Env(R"({"service":")" + s + R"("})"); };
  auto proto = [](const std::string& s) { return Env(Req(s)); };
  auto text = [](const std::string& s) { return B64(Env(Req(s))); };
  return {
      {"application/connect+json", false, json, "application/connect+json"},
      {"application/connect+proto", true, proto, "application/connect+proto"},
      {"application/grpc", true, proto, "application/grpc"},
      {"application/grpc-web+proto", false, proto, "application/grpc-web+proto"},
      {"application/grpc-web-text", false, text, "application/grpc-web-text"},
  };
}

TEST_F(RouterTest, AcceptedStreamSendsStatusAndHeadersBeforeAnyMessage) {
  for (const auto& p : StreamProtocols()) {
    SCOPED_TRACE(p.content_type);
    held_.reset();
    auto ex = Call(kStream, p.content_type, p.body("hang"), p.http2);
    ASSERT_NE(held_, nullptr);
    ASSERT_FALSE(held_->IsDone());
    // The handler accepted the call and has nothing to send yet: the headers are out anyway.
    ASSERT_EQ(ex->events.size(), 1u);
    EXPECT_EQ(ex->events[0].kind, FakeExchange::Kind::kStartStream);
    EXPECT_EQ(ex->status(), 200);
    EXPECT_EQ(ex->ResponseHeader("content-type"), p.response_type);

    // Messages and the status follow on the stream already open.
    held_->Write(Resp(hpb::HealthCheckResponse::SERVING));
    held_->Finish(Status::Ok());
    Drain();
    EXPECT_EQ(ex->violations, 0);
    ASSERT_GE(ex->events.size(), 3u);
    EXPECT_EQ(ex->events[1].kind, FakeExchange::Kind::kStreamData);
    EXPECT_EQ(ex->events.back().kind, FakeExchange::Kind::kEndStream);
    for (const auto& e : ex->events) EXPECT_NE(e.kind, FakeExchange::Kind::kSendResponse);
  }
}

TEST_F(RouterTest, AcceptedStreamHeadersCarryCors) {
  auto ex = Call(kStream, "application/grpc-web-text", B64(Env(Req("hang"))), false,
                 {{"origin", "http://localhost:3000"}});
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->ResponseHeader("access-control-allow-origin"), "http://localhost:3000");
}

TEST_F(RouterTest, StreamRefusedBeforeAcceptingKeepsTheProtocolsErrorForm) {
  for (const auto& p : StreamProtocols()) {
    SCOPED_TRACE(p.content_type);
    auto ex = Call(kStream, p.content_type, p.body("reject"), p.http2);
    EXPECT_TRUE(ex->ended());
    if (p.content_type == "application/grpc") {
      // Trailers-only: one HEADERS frame with the status.
      ASSERT_EQ(ex->events.size(), 1u);
      EXPECT_EQ(ex->events[0].kind, FakeExchange::Kind::kSendResponse);
      EXPECT_EQ(ex->ResponseHeader("grpc-status"), "3");
      EXPECT_EQ(ex->ResponseHeader("grpc-message"), "rejected");
    } else {
      // Connect end-stream envelope / gRPC-Web trailer frame, and no message before it.
      EXPECT_EQ(ex->status(), 200);
      std::string body;
      for (const auto& chunk : ex->data_chunks()) {
        body += p.content_type == "application/grpc-web-text" ? UnB64(chunk) : chunk;
      }
      auto frames = Frames(body);
      ASSERT_EQ(frames.size(), 1u);
      if (p.content_type.starts_with("application/connect")) {
        EXPECT_EQ(frames[0], std::make_pair(kEnvelopeConnectEndStream,
                                            std::string(R"({"error":{"code":"invalid_argument",)"
                                                        R"("message":"rejected"}})")));
      } else {
        EXPECT_EQ(frames[0],
                  std::make_pair(kEnvelopeGrpcWebTrailers,
                                 std::string("grpc-status: 3\r\ngrpc-message: rejected\r\n")));
      }
    }
  }
}

// --- Oversized bodies (transport limit) ------------------------------------------------------

TEST_F(RouterTest, OversizedConnectUnaryIs429) {
  auto ex = Oversized(kUnary, "application/json");
  EXPECT_EQ(ex->status(), 429);
  EXPECT_EQ(ex->body(), R"({"code":"resource_exhausted","message":"request body exceeds )"
                        R"j(--max-message-bytes (4096 bytes)"})j");
  EXPECT_EQ(unary_calls_, 0);
}

TEST_F(RouterTest, OversizedConnectStreamIsResourceExhaustedEndStream) {
  auto ex = Oversized(kStream, "application/connect+proto");
  EXPECT_EQ(ex->status(), 200);
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, kEnvelopeConnectEndStream);
  EXPECT_EQ(frames[0].second.rfind(R"({"error":{"code":"resource_exhausted")", 0), 0u)
      << frames[0].second;
  EXPECT_EQ(stream_calls_, 0);
}

TEST_F(RouterTest, OversizedGrpcIsResourceExhausted) {
  auto ex = Oversized(kUnary, "application/grpc", /*http2=*/true);
  EXPECT_EQ(ex->GrpcStatus(), "8");
  EXPECT_EQ(unary_calls_, 0);
}

TEST_F(RouterTest, OversizedGrpcWebIsResourceExhausted) {
  auto ex = Oversized(kUnary, "application/grpc-web");
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, kEnvelopeGrpcWebTrailers);
  EXPECT_EQ(frames[0].second.rfind("grpc-status: 8\r\n", 0), 0u) << frames[0].second;
}

TEST_F(RouterTest, OversizedGrpcWebTextIsResourceExhausted) {
  auto ex = Oversized(kUnary, "application/grpc-web-text");
  std::string decoded;
  for (const auto& chunk : ex->data_chunks()) decoded += UnB64(chunk);
  EXPECT_EQ(GrpcWebTrailers(decoded).rfind("grpc-status: 8\r\n", 0), 0u);
}

TEST_F(RouterTest, MaxBodyBytesLeavesRoomForBase64AndEnvelopes) {
  EXPECT_GE(router_->max_body_bytes(), (kMaxMessage + kEnvelopeHeaderSize) * 4 / 3 + 4);
}

// --- Handler lifecycle -----------------------------------------------------------------------

TEST_F(RouterTest, DroppedUnaryCallIsAnsweredInternal) {
  auto ex = Call(kAsync, "application/json", R"({"service":"drop"})");
  EXPECT_EQ(async_calls_, 1);
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->status(), 500);
  EXPECT_EQ(ex->body(), R"({"code":"internal","message":"handler returned without a response"})");
  EXPECT_NE(
      Metrics().find(R"(peat_rpc_requests_total{method="/test.Echo/Async",code="internal"} 1)"),
      std::string::npos);
}

TEST_F(RouterTest, DroppedGrpcStreamIsAnsweredInternal) {
  auto ex = Call(kStream, "application/grpc", Env(Req("drop")), true);
  EXPECT_EQ(ex->GrpcStatus(), "13");
  EXPECT_EQ(streams_.size(), 0u);
  EXPECT_EQ(rpc_metrics_.open_streams.Value(), 0);
}

TEST_F(RouterTest, ReplyFromAnotherThreadIsDelivered) {
  auto ex = Call(kAsync, "application/json", R"({"service":"thread"})");
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->body(), R"({"status":"SERVING"})");
}

TEST_F(RouterTest, CallFinishesExactlyOnce) {
  auto ex = Call(kAsync, "application/json", R"({"service":"twice"})");
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->body(), R"({"status":"SERVING"})");
  std::string m = Metrics();
  EXPECT_NE(m.find(R"(peat_rpc_requests_total{method="/test.Echo/Async",code="ok"} 1)"),
            std::string::npos);
  EXPECT_EQ(m.find(R"(method="/test.Echo/Async",code="internal")"), std::string::npos);
}

TEST_F(RouterTest, PeerGoneRunsTheHandlersCancelHook) {
  auto ex = Call(kStream, "application/grpc", Env(Req("hang-after-one")), true);
  ASSERT_NE(held_, nullptr);
  ASSERT_TRUE(ex->has_cancel_hook());
  ASSERT_EQ(ex->events.size(), 2u);  // headers + one message
  EXPECT_EQ(streams_.size(), 1u);

  boost::asio::post(io_, [ex] { ex->Cancel(); });
  Drain();
  EXPECT_EQ(cancel_hooks_, 1);
  EXPECT_TRUE(held_->IsDone());
  EXPECT_EQ(streams_.size(), 0u);
  EXPECT_EQ(rpc_metrics_.open_streams.Value(), 0);

  // Later writes from the handler go nowhere.
  held_->Write(Resp(hpb::HealthCheckResponse::SERVING));
  held_->Finish(Status::Ok());
  Drain();
  EXPECT_EQ(ex->events.size(), 2u);
  EXPECT_EQ(cancel_hooks_, 1);
  EXPECT_NE(
      Metrics().find(R"(peat_rpc_requests_total{method="/test.Echo/Stream",code="canceled"} 1)"),
      std::string::npos);
}

TEST_F(RouterTest, EndAllEndsRegisteredStreamsWithOk) {
  auto ex = Call(kStream, "application/grpc", Env(Req("hang-after-one")), true);
  ASSERT_NE(held_, nullptr);
  EXPECT_EQ(streams_.size(), 1u);
  EXPECT_FALSE(streams_.draining());

  streams_.EndAll();
  Drain();
  EXPECT_TRUE(streams_.draining());
  EXPECT_EQ(cancel_hooks_, 1);
  EXPECT_TRUE(held_->IsDone());
  EXPECT_EQ(ex->data_chunks().size(), 1u);
  EXPECT_EQ(ex->Trailer("grpc-status"), "0");
  EXPECT_EQ(streams_.size(), 0u);
  EXPECT_EQ(rpc_metrics_.open_streams.Value(), 0);
  EXPECT_EQ(ex->violations, 0);
}

TEST_F(RouterTest, EndAllEndsConnectStreamWithEmptyEndStream) {
  auto ex = Call(kStream, "application/connect+json", Env(R"({"service":"hang"})"));
  streams_.EndAll();
  Drain();
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], std::make_pair(kEnvelopeConnectEndStream, std::string("{}")));
}

TEST_F(RouterTest, StreamStartedWhileDrainingEndsAtOnceWithOk) {
  streams_.EndAll();
  auto ex = Call(kStream, "application/grpc", Env(Req("hang")), true);
  EXPECT_EQ(ex->GrpcStatus(), "0");
  EXPECT_TRUE(ex->ended());
  EXPECT_EQ(streams_.size(), 0u);
  EXPECT_EQ(rpc_metrics_.open_streams.Value(), 0);
}

TEST_F(RouterTest, HandlerOfStreamStartedWhileDrainingIsToldToStop) {
  // Regression: a stream that starts while the server drains ends at once with OK, and its
  // handler either never runs or has its cancel hook run (so it cannot leak the call).
  streams_.EndAll();
  auto ex = Call(kStream, "application/grpc", Env(Req("hang")), true);
  EXPECT_EQ(ex->GrpcStatus(), "0");
  EXPECT_TRUE(stream_calls_ == 0 || cancel_hooks_ == 1)
      << "handler ran " << stream_calls_ << "x, cancel hook ran " << cancel_hooks_ << "x";
}

// --- Ops endpoints and CORS ------------------------------------------------------------------

TEST_F(RouterTest, LivezIs200) {
  auto ex = Get("GET", "/livez");
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->body(), "ok\n");
}

TEST_F(RouterTest, ReadyzFollowsTheHook) {
  auto ok = Get("GET", "/readyz");
  EXPECT_EQ(ok->status(), 200);
  ready_ = false;
  auto not_ready = Get("GET", "/readyz");
  EXPECT_EQ(not_ready->status(), 503);
  EXPECT_EQ(not_ready->body(), "not ready: starting\n");
}

TEST_F(RouterTest, MetricsContainRequestCountsAfterACall) {
  Call(kUnary, "application/json", R"({"service":"up"})");
  Call(kUnary, "application/json", R"({"service":"up"})");
  Call(kUnary, "application/json", R"({"service":"fail"})");
  auto ex = Get("GET", "/metrics");
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string body = ex->body();
  EXPECT_NE(body.find("# TYPE peat_rpc_requests_total counter\n"), std::string::npos);
  EXPECT_NE(body.find("peat_rpc_requests_total{method=\"/test.Echo/Unary\",code=\"ok\"} 2\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("peat_rpc_requests_total{method=\"/test.Echo/Unary\","
                      "code=\"invalid_argument\"} 1\n"),
            std::string::npos);
  EXPECT_NE(
      body.find("peat_rpc_latency_seconds_count{method=\"/test.Echo/Unary\",code=\"ok\"} 2\n"),
      std::string::npos);
}

TEST_F(RouterTest, UnknownGetPathIs404AndOtherMethodsAre405) {
  EXPECT_EQ(Get("GET", "/nope")->status(), 404);
  auto put = Get("PUT", kUnary);
  EXPECT_EQ(put->status(), 405);
  EXPECT_EQ(put->ResponseHeader("allow"), "GET, POST, OPTIONS");
}

TEST_F(RouterTest, CorsPreflightEchoesOrigin) {
  auto ex = Get("OPTIONS", kUnary,
                {{"origin", "https://app.example"},
                 {"access-control-request-method", "POST"},
                 {"access-control-request-headers", "content-type,x-grpc-web"}});
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->status(), 204);
  EXPECT_EQ(ex->body(), "");
  EXPECT_EQ(ex->ResponseHeader("access-control-allow-origin"), "https://app.example");
  EXPECT_EQ(ex->ResponseHeader("access-control-allow-headers"), "content-type,x-grpc-web");
  auto methods = ex->ResponseHeader("access-control-allow-methods");
  ASSERT_TRUE(methods.has_value());
  EXPECT_NE(methods->find("POST"), std::string::npos);
  EXPECT_EQ(ex->ResponseHeader("vary"), "Origin");
}

TEST_F(RouterTest, CorsPreflightWithoutOriginHasNoAllowOrigin) {
  auto ex = Get("OPTIONS", kUnary);
  EXPECT_EQ(ex->status(), 204);
  EXPECT_FALSE(ex->ResponseHeader("access-control-allow-origin").has_value());
  auto headers = ex->ResponseHeader("access-control-allow-headers");
  ASSERT_TRUE(headers.has_value());
  EXPECT_NE(headers->find("x-grpc-web"), std::string::npos);
}

TEST_F(RouterTest, RpcResponsesCarryCorsHeadersForBrowsers) {
  auto ex = Call(kUnary, "application/grpc-web-text", B64(Env(Req("up"))), false,
                 {{"origin", "http://localhost:3000"}});
  EXPECT_EQ(ex->ResponseHeader("access-control-allow-origin"), "http://localhost:3000");
  auto expose = ex->ResponseHeader("access-control-expose-headers");
  ASSERT_TRUE(expose.has_value());
  EXPECT_NE(expose->find("grpc-status"), std::string::npos);
  EXPECT_NE(expose->find("grpc-message"), std::string::npos);

  auto err = Call("/test.Echo/Nope", "application/json", "{}", false,
                  {{"origin", "http://localhost:3000"}});
  EXPECT_EQ(err->status(), 404);
  EXPECT_EQ(err->ResponseHeader("access-control-allow-origin"), "http://localhost:3000");
}

}  // namespace
}  // namespace peat::rpc

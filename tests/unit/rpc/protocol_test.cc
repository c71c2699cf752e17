#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "common/base64.h"
#include "grpc/health/v1/health.pb.h"
#include "rpc/connect_protocol.h"
#include "rpc/envelope.h"
#include "rpc/fake_exchange.h"
#include "rpc/grpc_protocol.h"
#include "rpc/gzip.h"

namespace peat::rpc {
namespace {

using testing::FakeExchange;

TEST(ConnectHttpStatusTest, MapsEveryCodeAsTheConnectProtocolSpecifies) {
  const std::pair<StatusCode, int> expected[] = {
      {StatusCode::kOk, 200},
      {StatusCode::kCancelled, 499},
      {StatusCode::kUnknown, 500},
      {StatusCode::kInvalidArgument, 400},
      {StatusCode::kDeadlineExceeded, 504},
      {StatusCode::kNotFound, 404},
      {StatusCode::kAlreadyExists, 409},
      {StatusCode::kPermissionDenied, 403},
      {StatusCode::kResourceExhausted, 429},
      {StatusCode::kFailedPrecondition, 400},
      {StatusCode::kAborted, 409},
      {StatusCode::kOutOfRange, 400},
      {StatusCode::kUnimplemented, 501},
      {StatusCode::kInternal, 500},
      {StatusCode::kUnavailable, 503},
      {StatusCode::kDataLoss, 500},
      {StatusCode::kUnauthenticated, 401},
  };
  ASSERT_EQ(std::size(expected), 17u);
  for (const auto& [code, http] : expected) {
    EXPECT_EQ(ConnectHttpStatus(code), http) << StatusCodeName(code);
  }
}

TEST(ConnectErrorJsonTest, CodeAndMessage) {
  EXPECT_EQ(ConnectErrorJson(InvalidArgumentError("bad collection")),
            R"({"code":"invalid_argument","message":"bad collection"})");
  EXPECT_EQ(ConnectErrorJson(CancelledError("gone")), R"({"code":"canceled","message":"gone"})");
  EXPECT_EQ(ConnectErrorJson(Status(StatusCode::kDataLoss, "x")),
            R"({"code":"data_loss","message":"x"})");
}

TEST(ConnectErrorJsonTest, EmptyMessageIsOmitted) {
  EXPECT_EQ(ConnectErrorJson(UnavailableError("")), R"({"code":"unavailable"})");
}

TEST(ConnectErrorJsonTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(ConnectErrorJson(InternalError("say \"hi\" \\ now\n\r\t\x01\x1f")),
            R"({"code":"internal","message":"say \"hi\" \\ now\n\r\t\u0001\u001f"})");
}

TEST(ConnectErrorJsonTest, PassesUtf8Through) {
  EXPECT_EQ(ConnectErrorJson(NotFoundError("caf\xc3\xa9 \xe2\x9c\x93")),
            "{\"code\":\"not_found\",\"message\":\"caf\xc3\xa9 \xe2\x9c\x93\"}");
}

TEST(PercentEncodeGrpcMessageTest, PrintableAsciiIsUnchanged) {
  EXPECT_EQ(PercentEncodeGrpcMessage("unknown method /a.B/C"), "unknown method /a.B/C");
  EXPECT_EQ(PercentEncodeGrpcMessage(" ~!\"#$&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}"),
            " ~!\"#$&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}");
  EXPECT_EQ(PercentEncodeGrpcMessage(""), "");
}

TEST(PercentEncodeGrpcMessageTest, EncodesPercentControlAndNonAscii) {
  EXPECT_EQ(PercentEncodeGrpcMessage("100%"), "100%25");
  EXPECT_EQ(PercentEncodeGrpcMessage("a\nb\r\t"), "a%0Ab%0D%09");
  EXPECT_EQ(PercentEncodeGrpcMessage(std::string("\x00\x1f\x7f", 3)), "%00%1F%7F");
  EXPECT_EQ(PercentEncodeGrpcMessage("caf\xc3\xa9"), "caf%C3%A9");
  EXPECT_EQ(PercentEncodeGrpcMessage("\xff"), "%FF");
}

// The encoders against a recording exchange.
class EncoderTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeExchange> MakeExchange(bool http2) {
    HttpRequest req;
    req.method = "POST";
    req.path = "/grpc.health.v1.Health/Check";
    req.http2 = http2;
    return std::make_shared<FakeExchange>(io_, std::move(req));
  }
  static grpc::health::v1::HealthCheckResponse Serving() {
    grpc::health::v1::HealthCheckResponse r;
    r.set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    return r;
  }

  boost::asio::io_context io_;
};

TEST_F(EncoderTest, SendConnectUnaryErrorUsesTheGivenStatusAndJson) {
  auto ex = MakeExchange(false);
  SendConnectUnaryError(*ex, NotFoundError("nope"), 404, {{"x-extra", "1"}});
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->events[0].kind, FakeExchange::Kind::kSendResponse);
  EXPECT_EQ(ex->status(), 404);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/json");
  EXPECT_EQ(ex->ResponseHeader("x-extra"), "1");
  EXPECT_EQ(ex->body(), R"({"code":"not_found","message":"nope"})");
}

TEST_F(EncoderTest, ConnectUnaryJsonSuccess) {
  auto ex = MakeExchange(false);
  auto enc = MakeConnectUnaryEncoder(ex, Codec::kJson, {});
  enc->SendMessage(Serving());
  EXPECT_TRUE(ex->events.empty());  // unary answers once, at Finish
  enc->Finish(Status::Ok());
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/json");
  EXPECT_EQ(ex->body(), R"({"status":"SERVING"})");
}

TEST_F(EncoderTest, ConnectUnaryErrorMapsHttpStatus) {
  auto ex = MakeExchange(false);
  auto enc = MakeConnectUnaryEncoder(ex, Codec::kProto, {});
  enc->Finish(PermissionDeniedError("wrong key"));
  EXPECT_EQ(ex->status(), 403);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/json");
  EXPECT_EQ(ex->body(), R"({"code":"permission_denied","message":"wrong key"})");
}

TEST_F(EncoderTest, ConnectStreamWritesEnvelopesThenEndStream) {
  auto ex = MakeExchange(true);
  auto enc = MakeConnectStreamEncoder(ex, Codec::kJson, {});
  enc->SendMessage(Serving());
  enc->Finish(Status::Ok());
  EXPECT_EQ(ex->violations, 0);
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/connect+json");
  std::string want;
  AppendEnvelope(want, 0, R"({"status":"SERVING"})");
  AppendEnvelope(want, kEnvelopeConnectEndStream, "{}");
  EXPECT_EQ(ex->body(), want);
  ASSERT_TRUE(ex->ended());
  EXPECT_EQ(ex->events.back().kind, FakeExchange::Kind::kEndStream);
}

TEST_F(EncoderTest, GrpcErrorWithoutMessagesIsTrailersOnly) {
  auto ex = MakeExchange(true);
  auto enc = MakeGrpcEncoder(ex, {});
  enc->Finish(UnavailableError("peer 100% gone"));
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->events[0].kind, FakeExchange::Kind::kSendResponse);
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/grpc");
  EXPECT_EQ(ex->ResponseHeader("grpc-status"), "14");
  EXPECT_EQ(ex->ResponseHeader("grpc-message"), "peer 100%25 gone");
  EXPECT_EQ(ex->body(), "");
}

TEST_F(EncoderTest, ConnectUnaryIgnoresSendHeaders) {
  auto ex = MakeExchange(false);
  auto enc = MakeConnectUnaryEncoder(ex, Codec::kJson, {});
  enc->SendHeaders();
  EXPECT_TRUE(ex->events.empty());  // the status depends on the outcome: sent at Finish
  enc->Finish(NotFoundError("nope"));
  ASSERT_EQ(ex->events.size(), 1u);
  EXPECT_EQ(ex->status(), 404);
}

TEST_F(EncoderTest, StreamingEncodersSendHeadersOnceBeforeTheFirstMessage) {
  struct Case {
    const char* name;
    std::unique_ptr<CallEncoder> (*make)(std::shared_ptr<FakeExchange>);
    const char* content_type;
  };
  const Case cases[] = {
      {"connect+json",
       [](std::shared_ptr<FakeExchange> ex) {
         return MakeConnectStreamEncoder(ex, Codec::kJson, {});
       },
       "application/connect+json"},
      {"grpc", [](std::shared_ptr<FakeExchange> ex) { return MakeGrpcEncoder(ex, {}); },
       "application/grpc"},
      {"grpc-web-text",
       [](std::shared_ptr<FakeExchange> ex) {
         return MakeGrpcWebEncoder(ex, true, "application/grpc-web-text", {});
       },
       "application/grpc-web-text"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto ex = MakeExchange(true);
    auto enc = c.make(ex);
    enc->SendHeaders();
    ASSERT_EQ(ex->events.size(), 1u);
    EXPECT_EQ(ex->events[0].kind, FakeExchange::Kind::kStartStream);
    EXPECT_EQ(ex->status(), 200);
    EXPECT_EQ(ex->ResponseHeader("content-type"), c.content_type);
    enc->SendHeaders();  // idempotent
    enc->SendMessage(Serving());
    enc->Finish(Status::Ok());
    EXPECT_EQ(ex->violations, 0);  // a second StartStream would be one
    EXPECT_EQ(ex->events[1].kind, FakeExchange::Kind::kStreamData);
    EXPECT_EQ(ex->events.back().kind, FakeExchange::Kind::kEndStream);
  }
}

TEST_F(EncoderTest, GrpcErrorAfterHeadersEndsWithTrailersNotTrailersOnly) {
  auto ex = MakeExchange(true);
  auto enc = MakeGrpcEncoder(ex, {});
  enc->SendHeaders();
  enc->Finish(UnavailableError("gone"));
  EXPECT_EQ(ex->violations, 0);
  ASSERT_EQ(ex->events.size(), 2u);
  EXPECT_EQ(ex->events[0].kind, FakeExchange::Kind::kStartStream);
  EXPECT_FALSE(ex->ResponseHeader("grpc-status").has_value());
  EXPECT_EQ(ex->Trailer("grpc-status"), "14");
  EXPECT_EQ(ex->Trailer("grpc-message"), "gone");
}

TEST_F(EncoderTest, GrpcWebTextBase64EncodesEachFrame) {
  auto ex = MakeExchange(false);
  auto enc = MakeGrpcWebEncoder(ex, /*text=*/true, "application/grpc-web-text", {});
  enc->Finish(Status::Ok());
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/grpc-web-text");
  // 0x80, length 16, "grpc-status: 0\r\n"
  EXPECT_EQ(ex->body(), "gAAAABBncnBjLXN0YXR1czogMA0K");
}

// The request direction of each adapter.
HttpRequest Request(std::string body, HeaderList headers = {}) {
  HttpRequest req;
  req.method = "POST";
  req.path = "/grpc.health.v1.Health/Check";
  req.headers = std::move(headers);
  req.body = std::move(body);
  return req;
}

std::string Enveloped(std::string_view payload, uint8_t flags = 0) {
  std::string out;
  AppendEnvelope(out, flags, payload);
  return out;
}

std::string HealthCheckBytes(const std::string& service) {
  grpc::health::v1::HealthCheckRequest m;
  m.set_service(service);
  return m.SerializeAsString();
}

TEST(ProtocolAdapterTest, ConnectUnaryDecodesTheBodyInEitherCodec) {
  grpc::health::v1::HealthCheckRequest out;
  ASSERT_TRUE(ConnectUnaryProtocol(Codec::kJson)
                  .DecodeRequest(Request(R"({"service":"a"})"), 1024, &out)
                  .ok());
  EXPECT_EQ(out.service(), "a");
  ASSERT_TRUE(ConnectUnaryProtocol(Codec::kProto)
                  .DecodeRequest(Request(HealthCheckBytes("b")), 1024, &out)
                  .ok());
  EXPECT_EQ(out.service(), "b");
  Status st =
      ConnectUnaryProtocol(Codec::kJson).DecodeRequest(Request(R"({"service":"abc"})"), 5, &out);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  st = ConnectUnaryProtocol(Codec::kJson)
           .DecodeRequest(Request("{}", {{"content-encoding", "br"}}), 1024, &out);
  EXPECT_EQ(st.code(), StatusCode::kUnimplemented);
  EXPECT_EQ(st.message(), "unsupported content-encoding \"br\"");
}

TEST(ProtocolAdapterTest, GzipRequestsAreInflated) {
  grpc::health::v1::HealthCheckRequest out;
  ASSERT_TRUE(ConnectUnaryProtocol(Codec::kJson)
                  .DecodeRequest(
                      Request(GzipCompress(R"({"service":"z"})"), {{"content-encoding", "gzip"}}),
                      1024, &out)
                  .ok());
  EXPECT_EQ(out.service(), "z");
  const std::string packed = Enveloped(GzipCompress(HealthCheckBytes("g")), kEnvelopeCompressed);
  ASSERT_TRUE(
      GrpcProtocol().DecodeRequest(Request(packed, {{"grpc-encoding", "gzip"}}), 1024, &out).ok());
  EXPECT_EQ(out.service(), "g");
  Status st = GrpcProtocol().DecodeRequest(Request(packed), 1024, &out);
  EXPECT_EQ(st.message(), "compressed message without a message encoding header");
  // Connect streams name the encoding in their own header.
  st = ConnectStreamProtocol(Codec::kProto)
           .DecodeRequest(Request(packed, {{"grpc-encoding", "gzip"}}), 1024, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(
      ConnectStreamProtocol(Codec::kProto)
          .DecodeRequest(Request(packed, {{"connect-content-encoding", "gzip"}}), 1024, &out)
          .ok());
}

TEST(ProtocolAdapterTest, EnvelopedRequestsHoldExactlyOneMessage) {
  grpc::health::v1::HealthCheckRequest out;
  const std::string one = Enveloped(HealthCheckBytes("x"));
  ASSERT_TRUE(GrpcWebProtocol(false).DecodeRequest(Request(one), 1024, &out).ok());
  EXPECT_EQ(out.service(), "x");
  EXPECT_EQ(GrpcProtocol().DecodeRequest(Request(one + one), 1024, &out).message(),
            "expected exactly one request message, got 2");
  EXPECT_EQ(GrpcProtocol().DecodeRequest(Request(""), 1024, &out).message(),
            "expected exactly one request message, got 0");
  EXPECT_EQ(GrpcProtocol()
                .DecodeRequest(Request(Enveloped(HealthCheckBytes("x"), 0x02)), 1024, &out)
                .message(),
            "invalid envelope flags in request message");
}

TEST(ProtocolAdapterTest, GrpcWebTextAcceptsConcatenatedPaddedChunks) {
  const std::string frame = Enveloped(HealthCheckBytes("t"));
  auto b64 = [](std::string_view raw) {
    return Base64Encode(std::span(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
  };
  grpc::health::v1::HealthCheckRequest out;
  // Two chunks, each padded, concatenated: the first ends at its padding.
  const std::string body = b64(frame.substr(0, 4)) + b64(frame.substr(4));
  ASSERT_NE(body.find('='), std::string::npos);
  ASSERT_TRUE(GrpcWebProtocol(true).DecodeRequest(Request(body), 1024, &out).ok());
  EXPECT_EQ(out.service(), "t");
  EXPECT_EQ(GrpcWebProtocol(true).DecodeRequest(Request("!!!!"), 1024, &out).message(),
            "malformed grpc-web-text body: not base64");
}

TEST(ProtocolAdapterTest, TimeoutHeadersAreTheProtocols) {
  auto connect =
      ConnectUnaryProtocol(Codec::kJson)
          .RequestTimeout(Request("", {{"connect-timeout-ms", "250"}, {"grpc-timeout", "1S"}}));
  ASSERT_TRUE(connect.ok());
  EXPECT_EQ(*connect, std::chrono::milliseconds(250));
  auto grpc = GrpcProtocol().RequestTimeout(Request("", {{"grpc-timeout", "2S"}}));
  ASSERT_TRUE(grpc.ok());
  EXPECT_EQ(*grpc, std::chrono::seconds(2));
  auto none = GrpcWebProtocol(true).RequestTimeout(Request("", {{"connect-timeout-ms", "1"}}));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto bad = ConnectStreamProtocol(Codec::kJson)
                 .RequestTimeout(Request("", {{"connect-timeout-ms", "soon"}}));
  EXPECT_EQ(bad.status().message(), "malformed connect-timeout-ms header \"soon\"");
}

}  // namespace
}  // namespace peat::rpc

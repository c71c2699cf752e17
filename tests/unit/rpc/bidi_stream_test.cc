// Bidirectional streams through the router: request messages handled as their envelopes arrive
// (in any split), the end of the client's stream, framing errors, the protocols that cannot carry
// a request stream, and a client that leaves mid-stream.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/base64.h"
#include "grpc/health/v1/health.pb.h"
#include "rpc/envelope.h"
#include "rpc/fake_exchange.h"
#include "rpc/method_table.h"
#include "rpc/rpc_metrics.h"
#include "rpc/rpc_router.h"
#include "rpc/stream_registry.h"

namespace peat::rpc {
namespace {

namespace hpb = grpc::health::v1;
using testing::FakeExchange;

constexpr const char* kBidi = "/test.Echo/Bidi";
constexpr const char* kUnary = "/test.Echo/Unary";
constexpr size_t kMaxMessage = 4096;

std::string Env(const std::string& service) {
  hpb::HealthCheckRequest r;
  r.set_service(service);
  std::string out;
  AppendEnvelope(out, 0, r.SerializeAsString());
  return out;
}

class BidiStreamTest : public ::testing::Test {
 protected:
  BidiStreamTest() {
    // Echo: "up" → SERVING, anything else → NOT_SERVING; "stop" ends the call with ABORTED; the
    // end of the client's stream ends it with OK.
    table_.AddBidi<hpb::HealthCheckRequest>(
        kBidi, [this](const std::shared_ptr<ServerCall>& call, const hpb::HealthCheckRequest* req) {
          if (!req) {
            ++ends_;
            return call->Finish(Status::Ok());
          }
          seen_.push_back(req->service());
          if (req->service() == "stop")
            return call->Finish(Status(StatusCode::kAborted, "stopped"));
          auto resp = std::make_unique<hpb::HealthCheckResponse>();
          resp->set_status(req->service() == "up" ? hpb::HealthCheckResponse::SERVING
                                                  : hpb::HealthCheckResponse::NOT_SERVING);
          call->Write(std::move(resp));
          call->SetCancelHook([this] { ++cancel_hooks_; });
        });
    table_.AddUnary<hpb::HealthCheckRequest, hpb::HealthCheckResponse>(
        kUnary,
        [](const hpb::HealthCheckRequest&, hpb::HealthCheckResponse*) { return Status::Ok(); });
    router_ = std::make_unique<RpcRouter>(
        table_, RouterOptions{kMaxMessage, std::chrono::seconds(120), std::chrono::seconds(300)},
        metrics_, streams_, OpsHooks{});
  }

  std::shared_ptr<FakeExchange> Open(std::string content_type, std::string body = {},
                                     bool streamed = true, bool http2 = true) {
    HttpRequest req;
    req.method = "POST";
    req.path = kBidi;
    req.headers.emplace_back("content-type", std::move(content_type));
    req.body = std::move(body);
    req.http2 = http2;
    auto ex = std::make_shared<FakeExchange>(io_, std::move(req));
    if (streamed) ex->StreamBody();
    boost::asio::post(io_, [this, ex] { router_->Handle(ex); });
    Run();
    return ex;
  }

  void Feed(const std::shared_ptr<FakeExchange>& ex, std::string_view piece, bool end = false) {
    boost::asio::post(io_, [ex, piece, end] { ex->FeedBody(piece, end); });
    Run();
  }

  void Run() {
    io_.restart();
    io_.poll();
  }

  // The statuses of the response messages so far.
  static std::vector<int> Statuses(const FakeExchange& ex) {
    std::vector<int> out;
    const std::string body = ex.body();
    auto envs = ParseEnvelopes(body, 1 << 20);
    EXPECT_TRUE(envs.ok()) << envs.status().ToString();
    if (!envs.ok()) return out;
    for (const auto& e : *envs) {
      if (e.flags != 0) continue;  // gRPC-Web trailers
      hpb::HealthCheckResponse r;
      EXPECT_TRUE(r.ParseFromArray(e.payload.data(), static_cast<int>(e.payload.size())));
      out.push_back(r.status());
    }
    return out;
  }

  boost::asio::io_context io_;
  RpcMetrics metrics_;
  StreamRegistry streams_{&metrics_.open_streams};
  MethodTable table_;
  std::unique_ptr<RpcRouter> router_;
  std::vector<std::string> seen_;
  int ends_ = 0;
  int cancel_hooks_ = 0;
};

TEST_F(BidiStreamTest, TransportsDispatchOnlyBidirectionalHttp2PostsAtTheirHeaders) {
  HttpRequest req;
  req.method = "POST";
  req.path = kBidi;
  req.http2 = true;
  req.headers.emplace_back("content-type", "application/grpc");
  EXPECT_TRUE(router_->StreamsRequestBody(req));
  req.headers.back().second = "application/grpc-web-text";  // refused at once, not after the body
  EXPECT_TRUE(router_->StreamsRequestBody(req));
  req.http2 = false;
  EXPECT_FALSE(router_->StreamsRequestBody(req));
  req.http2 = true;
  req.path = kUnary;
  EXPECT_FALSE(router_->StreamsRequestBody(req));
  req.path = "/test.Echo/Missing";
  EXPECT_FALSE(router_->StreamsRequestBody(req));
  req.path = kBidi;
  req.method = "GET";
  EXPECT_FALSE(router_->StreamsRequestBody(req));
}

TEST_F(BidiStreamTest, AnswersEachMessageAsItArrivesThenEndsWithTheClientsStream) {
  auto ex = Open("application/grpc");
  // Accepted: headers at once, before any request message.
  ASSERT_FALSE(ex->events.empty());
  EXPECT_EQ(ex->events[0].kind, FakeExchange::Kind::kStartStream);
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/grpc");

  Feed(ex, Env("up"));
  EXPECT_EQ(Statuses(*ex), (std::vector<int>{hpb::HealthCheckResponse::SERVING}));
  // The next message in pieces of one byte: answered when its last byte arrives, not before.
  std::string second = Env("down");
  for (size_t i = 0; i + 1 < second.size(); ++i) Feed(ex, second.substr(i, 1));
  EXPECT_EQ(Statuses(*ex).size(), 1u);
  Feed(ex, second.substr(second.size() - 1));
  EXPECT_EQ(Statuses(*ex), (std::vector<int>{hpb::HealthCheckResponse::SERVING,
                                             hpb::HealthCheckResponse::NOT_SERVING}));
  EXPECT_FALSE(ex->ended());
  // Two messages in one piece, then the end of the client's stream (an empty last piece).
  Feed(ex, Env("up") + Env("x"));
  EXPECT_EQ(Statuses(*ex).size(), 4u);
  Feed(ex, "", /*end=*/true);
  EXPECT_EQ(seen_, (std::vector<std::string>{"up", "down", "up", "x"}));
  EXPECT_EQ(ends_, 1);
  EXPECT_TRUE(ex->ended());
  EXPECT_EQ(ex->Trailer("grpc-status"), "0");
  EXPECT_FALSE(ex->has_body_reader());  // released with the response: no call kept alive
  EXPECT_EQ(ex->violations, 0);
  EXPECT_EQ(streams_.size(), 0u);
}

TEST_F(BidiStreamTest, AWholeBodyIsServedHalfDuplex) {
  // HTTP/1.1, or a client that ended its stream before the server read it: the body is complete.
  auto ex = Open("application/grpc-web+proto", Env("up") + Env("down"), /*streamed=*/false,
                 /*http2=*/false);
  EXPECT_EQ(Statuses(*ex), (std::vector<int>{hpb::HealthCheckResponse::SERVING,
                                             hpb::HealthCheckResponse::NOT_SERVING}));
  EXPECT_EQ(ends_, 1);
  EXPECT_TRUE(ex->ended());
  EXPECT_NE(ex->body().find("grpc-status: 0"), std::string::npos);
}

TEST_F(BidiStreamTest, TheHandlerMayEndTheCallAndLaterMessagesAreDropped) {
  auto ex = Open("application/grpc");
  Feed(ex, Env("stop") + Env("up"));
  EXPECT_EQ(seen_, (std::vector<std::string>{"stop"}));
  EXPECT_EQ(ex->Trailer("grpc-status"), "10");
  Feed(ex, Env("up"), /*end=*/true);
  EXPECT_EQ(seen_.size(), 1u);
  EXPECT_EQ(ends_, 0);
  EXPECT_EQ(ex->violations, 0);
}

TEST_F(BidiStreamTest, AStreamThatEndsInsideAnEnvelopeIsInvalidArgument) {
  auto ex = Open("application/grpc");
  std::string msg = Env("up");
  Feed(ex, msg + msg.substr(0, 3), /*end=*/true);
  EXPECT_EQ(seen_.size(), 1u);
  EXPECT_EQ(ends_, 0);
  EXPECT_EQ(ex->Trailer("grpc-status"), "3");
  EXPECT_NE(ex->Trailer("grpc-message")->find("inside a message envelope"), std::string::npos);
}

TEST_F(BidiStreamTest, AnOversizedMessageIsRefusedFromItsPrefixAlone) {
  auto ex = Open("application/grpc");
  std::string prefix("\x00\x00\x01\x00\x00", 5);  // declares 65536 bytes > kMaxMessage
  Feed(ex, prefix);
  EXPECT_TRUE(ex->ended());
  EXPECT_EQ(ex->Trailer("grpc-status"), "8");
  EXPECT_TRUE(seen_.empty());
}

TEST_F(BidiStreamTest, AMalformedMessageEndsTheCall) {
  auto ex = Open("application/grpc");
  std::string bad;
  AppendEnvelope(bad, 0, "\xff\xff\xff");
  Feed(ex, bad);
  EXPECT_EQ(ex->Trailer("grpc-status"), "3");
  EXPECT_TRUE(seen_.empty());
}

TEST_F(BidiStreamTest, ProtocolsWithoutARequestStreamAreRefused) {
  auto text = Open("application/grpc-web-text");
  EXPECT_TRUE(text->ended());
  auto trailers = Base64Decode(text->body());
  ASSERT_TRUE(trailers.ok());
  EXPECT_NE(std::string(trailers->begin(), trailers->end()).find("grpc-status: 12"),
            std::string::npos);
  auto unary = Open("application/proto");
  EXPECT_EQ(unary->status(), 415);
  EXPECT_TRUE(seen_.empty());
}

TEST_F(BidiStreamTest, AClientThatLeavesCancelsTheCall) {
  auto ex = Open("application/grpc");
  Feed(ex, Env("up"));
  ASSERT_EQ(streams_.size(), 1u);
  boost::asio::post(io_, [ex] { ex->Cancel(); });
  Run();
  EXPECT_EQ(cancel_hooks_, 1);
  EXPECT_EQ(streams_.size(), 0u);
  EXPECT_FALSE(ex->has_body_reader());
  Feed(ex, Env("up"), /*end=*/true);
  EXPECT_EQ(seen_.size(), 1u);
}

TEST_F(BidiStreamTest, DrainEndsOpenStreamsWithOk) {
  auto ex = Open("application/grpc");
  Feed(ex, Env("up"));
  streams_.EndAll();
  Run();
  EXPECT_TRUE(ex->ended());
  EXPECT_EQ(ex->Trailer("grpc-status"), "0");
  EXPECT_FALSE(ex->has_body_reader());
}

// --- TransportExchange: the body hand-over both transports share -------------------------------

class TestTransportExchange : public TransportExchange {
 public:
  TestTransportExchange(boost::asio::io_context& io, HttpRequest req)
      : TransportExchange(std::move(req)), io_(io) {}
  boost::asio::any_io_executor executor() const override { return io_.get_executor(); }
  void SendResponse(int, HeaderList, std::string) override { MarkEnded(); }
  void StartStream(int, HeaderList) override { started_ = true; }
  void StreamData(std::string) override {}
  void EndStream(HeaderList) override { MarkEnded(); }
  size_t PendingBytes() const override { return 0; }

 private:
  boost::asio::io_context& io_;
};

struct Pieces {
  std::string body;
  int ends = 0;
  int calls = 0;
};

TEST(TransportExchangeTest, ACompleteBodyIsHandedOverAtOnce) {
  boost::asio::io_context io;
  HttpRequest req;
  req.body = "whole";
  TestTransportExchange ex(io, std::move(req));
  Pieces got;
  ex.ReadBody([&got](std::string_view p, bool end) {
    got.body += p;
    got.ends += end;
  });
  EXPECT_EQ(got.body, "whole");
  EXPECT_EQ(got.ends, 1);
}

TEST(TransportExchangeTest, PiecesBeforeTheReaderAreKeptAndTheEndComesOnce) {
  boost::asio::io_context io;
  TestTransportExchange ex(io, HttpRequest{});
  ex.ExpectStreamedBody();
  ex.DeliverBody("ab", false);
  ex.DeliverBody("c", false);
  auto got = std::make_shared<Pieces>();
  ex.ReadBody([got](std::string_view p, bool end) {
    got->body += p;
    got->ends += end;
    ++got->calls;
  });
  EXPECT_EQ(got->body, "abc");
  EXPECT_EQ(got->calls, 1);
  ex.DeliverBody("d", true);
  ex.DeliverBody("e", true);  // after the end: dropped
  EXPECT_EQ(got->body, "abcd");
  EXPECT_EQ(got->ends, 1);
  EXPECT_EQ(got.use_count(), 1);  // the reader is released after the end
}

TEST(TransportExchangeTest, TheReaderIsReleasedWhenTheResponseEndsOrThePeerLeaves) {
  boost::asio::io_context io;
  for (bool cancel : {false, true}) {
    TestTransportExchange ex(io, HttpRequest{});
    ex.ExpectStreamedBody();
    auto got = std::make_shared<Pieces>();
    ex.ReadBody([got](std::string_view p, bool) { got->body += p; });
    ex.DeliverBody("x", false);
    EXPECT_EQ(got.use_count(), 2);  // held by the reader
    if (cancel) {
      ex.Cancel();
    } else {
      ex.StartStream(200, {});
      ex.EndStream({});  // e.g. the deadline or the drain ended the call
    }
    EXPECT_EQ(got.use_count(), 1) << (cancel ? "cancel" : "end");
    ex.DeliverBody("y", true);
    EXPECT_EQ(got->body, "x");
  }
}

TEST(TransportExchangeTest, AReaderSetAfterThePeerLeftIsNotKept) {
  // A client that opens a stream and resets it in the same read: the exchange is cancelled before
  // the router reads its body (found by fuzz/bidi_stream_fuzzer.cc).
  boost::asio::io_context io;
  TestTransportExchange ex(io, HttpRequest{});
  ex.ExpectStreamedBody();
  ex.DeliverBody("x", false);
  ex.Cancel();
  auto got = std::make_shared<Pieces>();
  ex.ReadBody([got](std::string_view p, bool) { got->body += p; });
  EXPECT_EQ(got.use_count(), 1);
  EXPECT_EQ(got->body, "");
}

TEST(TransportExchangeTest, AReaderThatEndsTheResponseIsNotCalledAgain) {
  boost::asio::io_context io;
  TestTransportExchange ex(io, HttpRequest{});
  ex.ExpectStreamedBody();
  auto got = std::make_shared<Pieces>();
  ex.ReadBody([got, &ex](std::string_view, bool) {
    ++got->calls;
    ex.SendResponse(200, {}, {});
  });
  ex.DeliverBody("x", false);
  ex.DeliverBody("y", false);
  EXPECT_EQ(got->calls, 1);
  EXPECT_EQ(got.use_count(), 1);
}

}  // namespace
}  // namespace peat::rpc

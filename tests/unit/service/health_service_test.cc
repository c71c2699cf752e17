#include "service/health_service.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "grpc/health/v1/health.pb.h"
#include "rpc/envelope.h"
#include "rpc/fake_exchange.h"
#include "rpc/rpc_router.h"

namespace peat::service {
namespace {

using rpc::testing::FakeExchange;

TEST(HealthStateTest, UnregisteredServiceIsServiceUnknown) {
  HealthState state;
  EXPECT_EQ(state.Get(""), ServingStatus::kServiceUnknown);
  EXPECT_EQ(state.Get("peat.sidecar.v1.PeatSidecar"), ServingStatus::kServiceUnknown);
}

TEST(HealthStateTest, SetThenGet) {
  HealthState state;
  state.Set("", ServingStatus::kServing);
  state.Set("svc", ServingStatus::kNotServing);
  EXPECT_EQ(state.Get(""), ServingStatus::kServing);
  EXPECT_EQ(state.Get("svc"), ServingStatus::kNotServing);
  EXPECT_EQ(state.Get("other"), ServingStatus::kServiceUnknown);
  state.Set("svc", ServingStatus::kServing);
  EXPECT_EQ(state.Get("svc"), ServingStatus::kServing);
}

TEST(HealthStateTest, WatcherGetsCurrentStatusAtOnceAndEveryChange) {
  HealthState state;
  state.Set("", ServingStatus::kServing);
  std::vector<ServingStatus> seen;
  state.Watch("", [&seen](ServingStatus s) { seen.push_back(s); });
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], ServingStatus::kServing);

  state.Set("", ServingStatus::kNotServing);
  state.Set("", ServingStatus::kServing);
  EXPECT_EQ(seen, (std::vector<ServingStatus>{ServingStatus::kServing, ServingStatus::kNotServing,
                                              ServingStatus::kServing}));
}

TEST(HealthStateTest, UnchangedSetDoesNotNotify) {
  HealthState state;
  state.Set("svc", ServingStatus::kServing);
  int calls = 0;
  state.Watch("svc", [&calls](ServingStatus) { ++calls; });
  EXPECT_EQ(calls, 1);
  state.Set("svc", ServingStatus::kServing);
  state.Set("svc", ServingStatus::kServing);
  EXPECT_EQ(calls, 1);
  state.Set("svc", ServingStatus::kNotServing);
  EXPECT_EQ(calls, 2);
}

TEST(HealthStateTest, WatchingAnUnknownServiceSeesServiceUnknownThenItsFirstStatus) {
  HealthState state;
  std::vector<ServingStatus> seen;
  state.Watch("later", [&seen](ServingStatus s) { seen.push_back(s); });
  state.Set("later", ServingStatus::kServing);
  EXPECT_EQ(seen,
            (std::vector<ServingStatus>{ServingStatus::kServiceUnknown, ServingStatus::kServing}));
}

TEST(HealthStateTest, WatchersOnlySeeTheirService) {
  HealthState state;
  std::vector<ServingStatus> a, b;
  state.Watch("a", [&a](ServingStatus s) { a.push_back(s); });
  state.Watch("b", [&b](ServingStatus s) { b.push_back(s); });
  state.Set("a", ServingStatus::kServing);
  state.Set("", ServingStatus::kNotServing);
  EXPECT_EQ(a,
            (std::vector<ServingStatus>{ServingStatus::kServiceUnknown, ServingStatus::kServing}));
  EXPECT_EQ(b, (std::vector<ServingStatus>{ServingStatus::kServiceUnknown}));
}

TEST(HealthStateTest, UnwatchStopsNotificationsForThatWatcherOnly) {
  HealthState state;
  int first = 0, second = 0;
  uint64_t id1 = state.Watch("", [&first](ServingStatus) { ++first; });
  uint64_t id2 = state.Watch("", [&second](ServingStatus) { ++second; });
  EXPECT_NE(id1, id2);
  state.Unwatch(id1);
  state.Set("", ServingStatus::kServing);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 2);
  state.Unwatch(id2);
  state.Unwatch(id2);    // twice: harmless
  state.Unwatch(98765);  // unknown id: harmless
  state.Set("", ServingStatus::kNotServing);
  EXPECT_EQ(second, 2);
}

TEST(HealthStateTest, WatcherMayCallBackIntoTheState) {
  HealthState state;
  std::vector<ServingStatus> seen;
  state.Watch("", [&](ServingStatus) { seen.push_back(state.Get("")); });
  state.Set("", ServingStatus::kServing);  // must not deadlock
  EXPECT_EQ(seen.back(), ServingStatus::kServing);
}

// Check and Watch through the router, over Connect, against a recording exchange.
class HealthRpcTest : public ::testing::Test {
 protected:
  HealthRpcTest() {
    RegisterHealthService(table_, state_);
    router_ = std::make_unique<rpc::RpcRouter>(table_, rpc::RouterOptions{}, metrics_, streams_,
                                               rpc::OpsHooks{});
  }

  std::shared_ptr<FakeExchange> Call(const std::string& path, const std::string& content_type,
                                     std::string body) {
    rpc::HttpRequest req;
    req.method = "POST";
    req.path = path;
    req.headers.emplace_back("content-type", content_type);
    req.body = std::move(body);
    auto ex = std::make_shared<FakeExchange>(io_, std::move(req));
    boost::asio::post(io_, [this, ex] { router_->Handle(ex); });
    Drain();
    return ex;
  }
  void Drain() {
    io_.restart();
    io_.poll();
  }
  static std::string Env(std::string_view payload) {
    std::string out;
    rpc::AppendEnvelope(out, 0, payload);
    return out;
  }
  static std::vector<std::pair<uint8_t, std::string>> Frames(std::string_view body) {
    std::vector<std::pair<uint8_t, std::string>> out;
    auto envs = rpc::ParseEnvelopes(body, 1 << 20);
    EXPECT_TRUE(envs.ok());
    if (!envs.ok()) return out;
    for (const auto& e : *envs) out.emplace_back(e.flags, std::string(e.payload));
    return out;
  }

  boost::asio::io_context io_;
  rpc::RpcMetrics metrics_;
  rpc::StreamRegistry streams_{&metrics_.open_streams};
  HealthState state_;
  rpc::MethodTable table_;
  std::unique_ptr<rpc::RpcRouter> router_;
};

TEST_F(HealthRpcTest, RegistersCheckAndWatch) {
  ASSERT_NE(table_.Find("/grpc.health.v1.Health/Check"), nullptr);
  ASSERT_NE(table_.Find("/grpc.health.v1.Health/Watch"), nullptr);
  EXPECT_EQ(table_.Find("/grpc.health.v1.Health/Check")->kind, rpc::MethodKind::kUnary);
  EXPECT_EQ(table_.Find("/grpc.health.v1.Health/Watch")->kind, rpc::MethodKind::kServerStreaming);
}

TEST_F(HealthRpcTest, CheckAnswersTheServiceStatus) {
  state_.Set("", ServingStatus::kServing);
  state_.Set("svc", ServingStatus::kNotServing);
  auto overall = Call("/grpc.health.v1.Health/Check", "application/json", "{}");
  EXPECT_EQ(overall->status(), 200);
  EXPECT_EQ(overall->body(), R"({"status":"SERVING"})");
  auto svc = Call("/grpc.health.v1.Health/Check", "application/json", R"({"service":"svc"})");
  EXPECT_EQ(svc->body(), R"({"status":"NOT_SERVING"})");
}

TEST_F(HealthRpcTest, CheckOfUnknownServiceIsNotFound) {
  auto ex = Call("/grpc.health.v1.Health/Check", "application/json", R"({"service":"nope"})");
  EXPECT_EQ(ex->status(), 404);
  EXPECT_EQ(ex->body(), R"({"code":"not_found","message":"unknown service \"nope\""})");
}

TEST_F(HealthRpcTest, WatchStreamsCurrentStatusAndChangesThenEndsOnDrain) {
  state_.Set("", ServingStatus::kServing);
  auto ex = Call("/grpc.health.v1.Health/Watch", "application/connect+json", Env("{}"));
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->data_chunks().size(), 1u);
  state_.Set("", ServingStatus::kNotServing);
  state_.Set("", ServingStatus::kNotServing);  // unchanged: no message
  Drain();
  streams_.EndAll();
  Drain();
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], std::make_pair(uint8_t{0}, std::string(R"({"status":"SERVING"})")));
  EXPECT_EQ(frames[1], std::make_pair(uint8_t{0}, std::string(R"({"status":"NOT_SERVING"})")));
  EXPECT_EQ(frames[2], std::make_pair(rpc::kEnvelopeConnectEndStream, std::string("{}")));
  EXPECT_EQ(ex->violations, 0);
  // The watcher was unregistered, releasing the call (and with it the exchange).
  EXPECT_EQ(ex.use_count(), 1);
}

TEST_F(HealthRpcTest, WatchOfUnknownServiceStaysOpen) {
  auto ex = Call("/grpc.health.v1.Health/Watch", "application/connect+json",
                 Env(R"({"service":"later"})"));
  auto frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].second, R"({"status":"SERVICE_UNKNOWN"})");
  EXPECT_FALSE(ex->ended());
  state_.Set("later", ServingStatus::kServing);
  Drain();
  frames = Frames(ex->body());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].second, R"({"status":"SERVING"})");
}

TEST_F(HealthRpcTest, WatchClientGoneUnregistersTheWatcher) {
  state_.Set("", ServingStatus::kServing);
  auto ex = Call("/grpc.health.v1.Health/Watch", "application/connect+json", Env("{}"));
  EXPECT_GT(ex.use_count(), 1);
  boost::asio::post(io_, [ex] { ex->Cancel(); });
  Drain();
  EXPECT_EQ(ex.use_count(), 1);
  state_.Set("", ServingStatus::kNotServing);
  Drain();
  EXPECT_EQ(ex->data_chunks().size(), 1u);
}

TEST_F(HealthRpcTest, WatchStartedWhileDrainingDoesNotLeakItsWatcher) {
  // Regression: a Watch started while the server drains must not leave its watcher (which owns
  // the call, its encoder and the exchange) registered in HealthState.
  streams_.EndAll();
  auto ex = Call("/grpc.health.v1.Health/Watch", "application/connect+json", Env("{}"));
  EXPECT_TRUE(ex->ended());
  EXPECT_EQ(ex.use_count(), 1);
}

}  // namespace
}  // namespace peat::service

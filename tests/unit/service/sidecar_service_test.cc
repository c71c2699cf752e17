#include "service/sidecar_service.h"

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "peat/sidecar/v1/sidecar.pb.h"
#include "rpc/envelope.h"
#include "rpc/fake_exchange.h"
#include "rpc/rpc_router.h"

namespace peat::service {
namespace {

namespace pb = peat::sidecar::v1;
using rpc::testing::FakeExchange;

class FakeStatusSource : public StatusSource {
 public:
  NodeStatusSnapshot Snapshot() const override {
    ++calls;
    return snapshot;
  }
  NodeStatusSnapshot snapshot;
  mutable int calls = 0;
};

const google::protobuf::ServiceDescriptor* SidecarDescriptor() {
  return pb::GetStatusRequest::descriptor()->file()->FindServiceByName("PeatSidecar");
}

class SidecarServiceTest : public ::testing::Test {
 protected:
  SidecarServiceTest() {
    source_.snapshot.node_id = "node-7";
    source_.snapshot.endpoint_id = std::string(32, 'a') + std::string(32, '0');
    source_.snapshot.phase = NodePhase::kSyncing;
    source_.snapshot.sync_active = true;
    source_.snapshot.connected_peers = 4;
    RegisterSidecarService(table_, source_);
    router_ = std::make_unique<rpc::RpcRouter>(table_, rpc::RouterOptions{}, metrics_, streams_,
                                               rpc::OpsHooks{});
  }

  std::shared_ptr<FakeExchange> Call(const std::string& method, const std::string& content_type,
                                     std::string body, bool http2 = false) {
    rpc::HttpRequest req;
    req.method = "POST";
    req.path = std::string(kSidecarServicePath) + method;
    req.headers.emplace_back("content-type", content_type);
    req.body = std::move(body);
    req.http2 = http2;
    auto ex = std::make_shared<FakeExchange>(io_, std::move(req));
    boost::asio::post(io_, [this, ex] { router_->Handle(ex); });
    io_.restart();
    io_.poll();
    EXPECT_EQ(ex->violations, 0);
    return ex;
  }

  pb::GetStatusResponse GetStatus() {
    auto ex = Call("GetStatus", "application/proto", "");
    EXPECT_EQ(ex->status(), 200);
    pb::GetStatusResponse resp;
    EXPECT_TRUE(resp.ParseFromString(ex->body()));
    return resp;
  }

  boost::asio::io_context io_;
  rpc::RpcMetrics metrics_;
  rpc::StreamRegistry streams_{&metrics_.open_streams};
  FakeStatusSource source_;
  rpc::MethodTable table_;
  std::unique_ptr<rpc::RpcRouter> router_;
};

TEST_F(SidecarServiceTest, ServicePathPrefix) {
  EXPECT_STREQ(kSidecarServicePath, "/peat.sidecar.v1.PeatSidecar/");
}

TEST_F(SidecarServiceTest, EveryMethodOfTheDescriptorIsRegisteredWithTheRightKind) {
  const auto* service = SidecarDescriptor();
  ASSERT_NE(service, nullptr);
  ASSERT_EQ(service->method_count(), 27);
  EXPECT_EQ(table_.size(), static_cast<size_t>(service->method_count()));
  for (int i = 0; i < service->method_count(); ++i) {
    const auto* m = service->method(i);
    const rpc::MethodSpec* spec = table_.Find("/peat.sidecar.v1.PeatSidecar/" + m->name());
    ASSERT_NE(spec, nullptr) << m->name();
    EXPECT_EQ(spec->kind,
              m->server_streaming() ? rpc::MethodKind::kServerStreaming : rpc::MethodKind::kUnary)
        << m->name();
    ASSERT_NE(spec->request_prototype, nullptr) << m->name();
    EXPECT_EQ(spec->request_prototype->GetDescriptor(), m->input_type()) << m->name();
    EXPECT_TRUE(static_cast<bool>(spec->handler)) << m->name();
  }
}

TEST_F(SidecarServiceTest, EveryContractRpcIsRouted) {
  // CONTRACT.md's RPC table.
  const char* contract[] = {"GetStatus",
                            "ConnectPeer",
                            "DisconnectPeer",
                            "ListPeers",
                            "PutDocument",
                            "GetDocument",
                            "DeleteDocument",
                            "ListDocuments",
                            "PutNode",
                            "GetNodes",
                            "PutCell",
                            "GetCells",
                            "PutTrack",
                            "GetTracks",
                            "PutCommand",
                            "GetCommands",
                            "Subscribe",
                            "StartSync",
                            "StopSync",
                            "GetSyncStats",
                            "SendAttachments",
                            "GetAttachmentDistribution",
                            "SubscribeAttachmentBundle",
                            "CancelAttachmentDistribution",
                            "SetCollectionConfig",
                            "GetCollectionConfig",
                            "ListCollectionConfigs"};
  for (const char* name : contract) {
    EXPECT_NE(table_.Find(std::string(kSidecarServicePath) + name), nullptr) << name;
  }
  EXPECT_EQ(table_.size(), std::size(contract));
}

TEST_F(SidecarServiceTest, ContractStreamingMethodsAreExactlySubscribeAndAttachmentBundle) {
  std::set<std::string> streaming;
  const auto* service = SidecarDescriptor();
  for (int i = 0; i < service->method_count(); ++i) {
    const auto* m = service->method(i);
    const rpc::MethodSpec* spec = table_.Find(std::string(kSidecarServicePath) + m->name());
    ASSERT_NE(spec, nullptr);
    if (spec->kind == rpc::MethodKind::kServerStreaming) streaming.insert(m->name());
  }
  EXPECT_EQ(streaming, (std::set<std::string>{"Subscribe", "SubscribeAttachmentBundle"}));
  EXPECT_EQ(table_.Find("/peat.sidecar.v1.PeatSidecar/GetStatus")->kind, rpc::MethodKind::kUnary);
  EXPECT_EQ(table_.Find("/peat.sidecar.v1.PeatSidecar/PutDocument")->kind, rpc::MethodKind::kUnary);
}

TEST_F(SidecarServiceTest, GetStatusFillsFieldsFromTheStatusSource) {
  pb::GetStatusResponse resp = GetStatus();
  EXPECT_EQ(resp.node_id(), "node-7");
  EXPECT_EQ(resp.endpoint_addr(), std::string(32, 'a') + std::string(32, '0'));
  EXPECT_EQ(resp.phase(), pb::NODE_PHASE_SYNCING);
  EXPECT_TRUE(resp.sync_active());
  EXPECT_EQ(resp.connected_peers(), 4u);
  EXPECT_EQ(source_.calls, 1);
}

TEST_F(SidecarServiceTest, GetStatusOverConnectJson) {
  source_.snapshot.sync_active = false;
  source_.snapshot.connected_peers = 0;
  source_.snapshot.phase = NodePhase::kReady;
  auto ex = Call("GetStatus", "application/json", "{}");
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->body(), "{\"nodeId\":\"node-7\",\"endpointAddr\":\"" + std::string(32, 'a') +
                            std::string(32, '0') + "\",\"phase\":\"NODE_PHASE_READY\"}");
}

TEST_F(SidecarServiceTest, GetStatusMapsEveryPhase) {
  const std::pair<NodePhase, pb::NodePhase> phases[] = {
      {NodePhase::kInitializing, pb::NODE_PHASE_INITIALIZING},
      {NodePhase::kReady, pb::NODE_PHASE_READY},
      {NodePhase::kSyncing, pb::NODE_PHASE_SYNCING},
      {NodePhase::kShuttingDown, pb::NODE_PHASE_SHUTTING_DOWN},
  };
  for (const auto& [phase, want] : phases) {
    source_.snapshot.phase = phase;
    EXPECT_EQ(GetStatus().phase(), want) << static_cast<int>(phase);
  }
}

TEST_F(SidecarServiceTest, UnbuiltUnaryRpcAnswersUnimplemented) {
  auto ex =
      Call("PutDocument", "application/json", R"({"collection":"c","docId":"d","jsonData":"{}"})");
  EXPECT_EQ(ex->status(), 501);
  EXPECT_EQ(ex->body(), R"({"code":"unimplemented","message":"PutDocument is not implemented )"
                        R"(in this peat-node build yet"})");
}

TEST_F(SidecarServiceTest, UnbuiltRpcOverGrpcIsStatus12) {
  pb::ListPeersRequest req;
  std::string body;
  rpc::AppendEnvelope(body, 0, req.SerializeAsString());
  auto ex = Call("ListPeers", "application/grpc", body, /*http2=*/true);
  EXPECT_EQ(ex->GrpcStatus(), "12");
  EXPECT_EQ(ex->ResponseHeader("grpc-message"),
            "ListPeers is not implemented in this peat-node build yet");
}

TEST_F(SidecarServiceTest, UnbuiltStreamingRpcEndsWithUnimplemented) {
  std::string body;
  rpc::AppendEnvelope(body, 0, R"({"collections":["a"]})");
  auto ex = Call("Subscribe", "application/connect+json", body);
  EXPECT_EQ(ex->status(), 200);
  const std::string response = ex->body();
  auto envs = rpc::ParseEnvelopes(response, 1 << 20);
  ASSERT_TRUE(envs.ok());
  ASSERT_EQ(envs->size(), 1u);
  EXPECT_EQ((*envs)[0].flags, rpc::kEnvelopeConnectEndStream);
  EXPECT_EQ((*envs)[0].payload, R"({"error":{"code":"unimplemented","message":"Subscribe is not )"
                                R"(implemented in this peat-node build yet"}})");
  EXPECT_EQ(streams_.size(), 0u);
}

TEST_F(SidecarServiceTest, UnbuiltRpcStillValidatesItsRequest) {
  auto ex = Call("PutDocument", "application/json", R"({"collection":)");
  EXPECT_EQ(ex->status(), 400);
}

TEST(SidecarServiceRegistrationTest, KeepsHandlersRegisteredBeforeIt) {
  rpc::MethodTable table;
  bool custom = false;
  table.AddUnary<pb::PutDocumentRequest, pb::PutDocumentResponse>(
      std::string(kSidecarServicePath) + "PutDocument",
      [&custom](const pb::PutDocumentRequest&, pb::PutDocumentResponse*) {
        custom = true;
        return Status::Ok();
      });
  const rpc::MethodSpec* before = table.Find("/peat.sidecar.v1.PeatSidecar/PutDocument");
  ASSERT_NE(before, nullptr);
  FakeStatusSource source;
  RegisterSidecarService(table, source);
  EXPECT_EQ(table.size(), static_cast<size_t>(SidecarDescriptor()->method_count()));
  // Still the custom handler: run it through a router.
  boost::asio::io_context io;
  rpc::RpcMetrics metrics;
  rpc::StreamRegistry streams(&metrics.open_streams);
  rpc::RpcRouter router(table, rpc::RouterOptions{}, metrics, streams, rpc::OpsHooks{});
  rpc::HttpRequest req;
  req.method = "POST";
  req.path = "/peat.sidecar.v1.PeatSidecar/PutDocument";
  req.headers.emplace_back("content-type", "application/json");
  req.body = "{}";
  auto ex = std::make_shared<FakeExchange>(io, std::move(req));
  boost::asio::post(io, [&router, ex] { router.Handle(ex); });
  io.run();
  EXPECT_TRUE(custom);
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->body(), "{}");
}

}  // namespace
}  // namespace peat::service

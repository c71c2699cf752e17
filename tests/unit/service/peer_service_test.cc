// The peer and sync RPCs (peer_service.h) over a fake PeerControl, through the real router
// (ServiceHarness) with Connect JSON calls: request validation (BEHAVIOR.md "Peers, sync, status"),
// what reaches the mesh, how its answers map to RPC statuses and responses.
#include "service/peer_service.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "peat/sidecar/v1/sidecar.pb.h"
#include "service/service_harness.h"

namespace peat::service {
namespace {

namespace pb = peat::sidecar::v1;
using json = nlohmann::json;

const std::string kPeer = std::string(32, 'a') + std::string(32, '7');

// Records what the service asks and answers as scripted. Answers at once unless `defer_connect`,
// in which case the test answers ConnectPeer later through `pending_connect`.
class FakePeerControl : public PeerControl {
 public:
  struct Connect {
    std::string endpoint_id;
    std::vector<std::string> addresses;
  };

  void ConnectPeer(std::string endpoint_id, std::vector<std::string> addresses,
                   Done done) override {
    connects.push_back(Connect{std::move(endpoint_id), std::move(addresses)});
    if (defer_connect) {
      pending_connect = std::move(done);
      return;
    }
    done(connect_result);
  }
  void DisconnectPeer(std::string endpoint_id, Done done) override {
    disconnects.push_back(std::move(endpoint_id));
    done(Status::Ok());
  }
  void ListPeers(std::function<void(std::vector<PeerView>)> done) override { done(peers); }
  void SetSyncActive(bool active) override {
    sync_calls.push_back(active);
    active_ = active;
  }
  bool sync_active() const override { return active_; }
  void GetSyncStats(std::function<void(SyncStats)> done) override { done(stats); }

  Status connect_result = Status::Ok();
  bool defer_connect = false;
  Done pending_connect;
  std::vector<PeerView> peers;
  SyncStats stats;

  std::vector<Connect> connects;
  std::vector<std::string> disconnects;
  std::vector<bool> sync_calls;

 private:
  bool active_ = false;
};

class PeerServiceTest : public ::testing::Test {
 protected:
  PeerServiceTest() {
    h_.Register([this](rpc::MethodTable& table) { RegisterPeerService(table, mesh_); });
  }

  // Starts a Connect JSON call and runs what is ready.
  std::shared_ptr<testing::TestExchange> Start(const std::string& method, const json& body) {
    auto ex = h_.Start(method, "application/json", body.dump());
    h_.Poll();
    return ex;
  }
  // HTTP status and body of a call run to completion.
  std::pair<int, std::string> Call(const std::string& method, const json& body) {
    auto ex = h_.CallJson(method, body.dump());
    return {ex->status(), ex->body()};
  }
  static std::pair<int, std::string> Error(int http, const std::string& code,
                                           const std::string& message) {
    return {http, json{{"code", code}, {"message", message}}.dump()};
  }
  template <typename Resp>
  static Resp Parse(const std::pair<int, std::string>& answer) {
    EXPECT_EQ(answer.first, 200) << answer.second;
    Resp resp;
    auto st = google::protobuf::util::JsonStringToMessage(answer.second, &resp);
    EXPECT_TRUE(st.ok()) << answer.second;
    return resp;
  }

  FakePeerControl mesh_;  // outlives the harness's calls
  testing::ServiceHarness h_;
};

// --- ConnectPeer -----------------------------------------------------------------------------

TEST_F(PeerServiceTest, ConnectPeerRejectsAnEndpointIdThatIsNot64LowercaseHex) {
  const std::string bad[] = {"", std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'A'),
                             std::string(63, 'a') + "g"};
  for (const auto& id : bad) {
    auto [http, body] =
        Call("ConnectPeer", {{"endpointId", id}, {"addresses", json::array({"10.0.0.7:4433"})}});
    EXPECT_EQ(http, 400) << id;
    auto error = json::parse(body);
    EXPECT_EQ(error["code"], "invalid_argument") << id;
    EXPECT_EQ(error["message"].get<std::string>().rfind(
                  "endpoint_id must be 64 lowercase hex characters", 0),
              0u)
        << body;
  }
  EXPECT_TRUE(mesh_.connects.empty());
}

TEST_F(PeerServiceTest, ConnectPeerWithoutAddressesIsInvalidAndNamesAddresses) {
  EXPECT_EQ(Call("ConnectPeer", {{"endpointId", kPeer}}),
            Error(400, "invalid_argument", "addresses: at least one host:port is required"));
  // A relay URL alone is a transport this node does not have.
  auto [http, body] = Call("ConnectPeer", {{"endpointId", kPeer}, {"relayUrl", "https://relay"}});
  EXPECT_EQ(http, 503);
  EXPECT_EQ(json::parse(body)["code"], "unavailable");
  EXPECT_NE(body.find("relay_url"), std::string::npos) << body;
  EXPECT_TRUE(mesh_.connects.empty());
}

TEST_F(PeerServiceTest, ConnectPeerHandsTheIdAndEveryAddressToTheMesh) {
  EXPECT_EQ(Call("ConnectPeer", {{"endpointId", kPeer},
                                 {"addresses", json::array({"peer.local:4433", "10.0.0.7:4433"})}}),
            std::make_pair(200, std::string("{}")));
  ASSERT_EQ(mesh_.connects.size(), 1u);
  EXPECT_EQ(mesh_.connects[0].endpoint_id, kPeer);
  EXPECT_EQ(mesh_.connects[0].addresses,
            (std::vector<std::string>{"peer.local:4433", "10.0.0.7:4433"}));
}

TEST_F(PeerServiceTest, ConnectPeerPassesTheMeshErrorThrough) {
  mesh_.connect_result = UnavailableError("dial 10.0.0.7:4433: connection refused");
  EXPECT_EQ(
      Call("ConnectPeer", {{"endpointId", kPeer}, {"addresses", json::array({"10.0.0.7:4433"})}}),
      Error(503, "unavailable", "dial 10.0.0.7:4433: connection refused"));
  mesh_.connect_result = PermissionDeniedError("formation handshake refused (bad_proof)");
  EXPECT_EQ(
      Call("ConnectPeer", {{"endpointId", kPeer}, {"addresses", json::array({"10.0.0.7:4433"})}}),
      Error(403, "permission_denied", "formation handshake refused (bad_proof)"));
  mesh_.connect_result = InvalidArgumentError("endpoint_id is this node's own id");
  EXPECT_EQ(
      Call("ConnectPeer", {{"endpointId", kPeer}, {"addresses", json::array({"10.0.0.7:4433"})}}),
      Error(400, "invalid_argument", "endpoint_id is this node's own id"));
  EXPECT_EQ(mesh_.connects.size(), 3u);
}

TEST_F(PeerServiceTest, ConnectPeerAnswersWhenTheMeshDoesFromItsThread) {
  mesh_.defer_connect = true;
  auto ex =
      Start("ConnectPeer", {{"endpointId", kPeer}, {"addresses", json::array({"10.0.0.7:4433"})}});
  ASSERT_EQ(mesh_.connects.size(), 1u);
  EXPECT_FALSE(ex->ended());  // dialing and handshaking take their time
  std::thread mesh_thread([done = std::move(mesh_.pending_connect)] { done(Status::Ok()); });
  mesh_thread.join();
  // The answer hops back to the connection thread.
  ASSERT_TRUE(h_.RunUntil([&] { return ex->ended(); }));
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->body(), "{}");
}

// --- DisconnectPeer / ListPeers --------------------------------------------------------------

TEST_F(PeerServiceTest, DisconnectPeerValidatesTheIdAndSucceedsForAnyValidOne) {
  auto [http, body] = Call("DisconnectPeer", {{"endpointId", "not-hex"}});
  EXPECT_EQ(http, 400);
  EXPECT_EQ(json::parse(body)["code"], "invalid_argument");
  EXPECT_TRUE(mesh_.disconnects.empty());

  // Unknown to the mesh or not: success (the mesh answers OK for unknown peers).
  EXPECT_EQ(Call("DisconnectPeer", {{"endpointId", kPeer}}),
            std::make_pair(200, std::string("{}")));
  EXPECT_EQ(mesh_.disconnects, std::vector<std::string>{kPeer});
}

TEST_F(PeerServiceTest, ListPeersMapsEveryPeerView) {
  EXPECT_EQ(Parse<pb::ListPeersResponse>(Call("ListPeers", json::object())).peers_size(), 0);

  const std::string other(64, 'c');
  mesh_.peers = {PeerView{kPeer, {"10.0.0.7:4433"}, true, std::nullopt},
                 PeerView{other, {"peer.local:4433", "10.0.0.8:4433"}, false, std::nullopt}};
  auto resp = Parse<pb::ListPeersResponse>(Call("ListPeers", json::object()));
  ASSERT_EQ(resp.peers_size(), 2);
  EXPECT_EQ(resp.peers(0).endpoint_id(), kPeer);
  EXPECT_EQ(
      std::vector<std::string>(resp.peers(0).addresses().begin(), resp.peers(0).addresses().end()),
      std::vector<std::string>{"10.0.0.7:4433"});
  EXPECT_TRUE(resp.peers(0).connected());
  EXPECT_EQ(resp.peers(1).endpoint_id(), other);
  EXPECT_EQ(
      std::vector<std::string>(resp.peers(1).addresses().begin(), resp.peers(1).addresses().end()),
      (std::vector<std::string>{"peer.local:4433", "10.0.0.8:4433"}));
  EXPECT_FALSE(resp.peers(1).connected());
}

// --- StartSync / StopSync / GetSyncStats -----------------------------------------------------

TEST_F(PeerServiceTest, StartAndStopSyncSetTheMeshFlag) {
  EXPECT_EQ(Call("StartSync", json::object()), std::make_pair(200, std::string("{}")));
  EXPECT_TRUE(mesh_.sync_active());
  EXPECT_EQ(Call("StopSync", json::object()), std::make_pair(200, std::string("{}")));
  EXPECT_FALSE(mesh_.sync_active());
  EXPECT_EQ(mesh_.sync_calls, (std::vector<bool>{true, false}));
}

TEST_F(PeerServiceTest, GetSyncStatsMapsTheMeshCounters) {
  mesh_.stats = SyncStats{true, 3, 123'456'789'012ull, 42};
  auto resp = Parse<pb::GetSyncStatsResponse>(Call("GetSyncStats", json::object()));
  EXPECT_TRUE(resp.sync_active());
  EXPECT_EQ(resp.connected_peers(), 3u);
  EXPECT_EQ(resp.bytes_sent(), 123'456'789'012ull);
  EXPECT_EQ(resp.bytes_received(), 42u);
}

}  // namespace
}  // namespace peat::service

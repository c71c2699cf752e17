// MeshFixture: meshes over an in-memory network (fake_network.h) with a fake clock, each with
// its own SQLite store (and, on request, its own BlobStore), on their real loop threads. Time
// moves only when a test advances it; the tests wait for conditions by round trips through the
// mesh loops (a real-time bound is only a safety net). Shared by mesh_test and blob_transfer_test.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "blob/blob_store.h"
#include "common/fake_clock.h"
#include "mesh/fake_network.h"
#include "mesh/mesh.h"
#include "mesh/relay_routes.h"
#include "peat/mesh/v1/mesh.pb.h"
#include "store/store_test_util.h"
#include "temp_dir.h"

namespace peat::mesh::testing {

inline const std::string kIdA(64, 'a');  // the smaller id: its dial wins a tie
inline const std::string kIdB(64, 'b');
inline const std::string kIdC(64, 'c');
inline const std::string kAddrA = "127.0.0.1:4001";
inline const std::string kAddrB = "127.0.0.1:4002";
inline const std::string kAddrC = "127.0.0.1:4003";
// Real time; only a broken test waits this long.
inline constexpr auto kSafetyNet = std::chrono::seconds(20);

// Blocks on an answer a mesh gives on its loop; nullopt if none came within the safety net.
template <typename T>
std::optional<T> Await(const std::function<void(std::function<void(T)>)>& ask) {
  auto answer = std::make_shared<std::promise<T>>();
  auto future = answer->get_future();
  ask([answer](T value) { answer->set_value(std::move(value)); });
  if (future.wait_for(kSafetyNet) != std::future_status::ready) return std::nullopt;
  return future.get();
}

class MeshFixture : public ::testing::Test {
 protected:
  struct TestNode {
    std::string id;
    store::testing::TempDir dir;
    std::unique_ptr<store::SqliteDocumentStore> store;
    peat::testing::TempDir blob_dir{"peat-mesh-blobs"};
    std::unique_ptr<blob::BlobStore> blobs;  // only with AddNode(..., with_blobs = true)
    std::string address;
    std::vector<store::PeerRecord> static_peers;
    // Applied to the options of every Mesh made for the node (set it, then Recreate).
    std::function<void(MeshOptions&)> tweak;
    std::unique_ptr<Mesh> mesh;
    bool running = false;
  };

  ~MeshFixture() override {
    // Every mesh stops before any is destroyed: a running loop may still post to another. Then
    // the stores close: their writers finish in-flight merges and saves, whose answers post to
    // the (stopped, still alive) mesh loops. As in the node: mesh stopped, store closed, mesh gone.
    for (auto& n : nodes_) n->mesh->Stop();
    for (auto& n : nodes_) n->store.reset();
  }

  TestNode& AddNode(const std::string& id, const std::string& address,
                    std::vector<store::PeerRecord> static_peers = {}, bool with_blobs = false) {
    auto n = std::make_unique<TestNode>();
    n->id = id;
    n->address = address;
    n->static_peers = std::move(static_peers);
    auto so = store::testing::BaseOptions(n->dir.path());
    // As a real node: the tag its writes carry is its endpoint id's prefix (relay trees key on it).
    so.node_tag = NodeTagOfEndpoint(id);
    if (so.node_tag == 0) so.node_tag = 0x1000 + nodes_.size();  // an id that is not hex
    n->store = store::testing::OpenOrDie(so);
    if (with_blobs) OpenBlobs(*n);
    MakeMesh(*n);
    nodes_.push_back(std::move(n));
    return *nodes_.back();
  }
  // A new Mesh (and BlobStore, reopened on the same directory) for the node: what a restart of
  // the process keeps is the document store and the blob directory.
  void Recreate(TestNode& n) {
    n.mesh->Stop();
    n.running = false;
    n.mesh.reset();
    if (n.blobs) {
      n.blobs.reset();
      OpenBlobs(n);
    }
    MakeMesh(n);
  }
  void OpenBlobs(TestNode& n) {
    auto blobs = blob::BlobStore::Open(blob::BlobStoreOptions{n.blob_dir.path(), {}});
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    n.blobs = std::move(*blobs);
  }
  void MakeMesh(TestNode& n) {
    MeshOptions o;
    o.listen_ip = n.address.substr(0, n.address.find(':'));
    o.listen_port = static_cast<uint16_t>(std::stoi(n.address.substr(n.address.find(':') + 1)));
    o.app_id = "mesh-test";
    o.static_peers = n.static_peers;
    o.transport_factory = net_.Factory(n.id);
    o.clock = &clock_;
    o.blob_store = n.blobs.get();
    o.blob_spread_chunks = false;  // chunk 0 first: tests that cut links expect the order
    if (n.tweak) n.tweak(o);
    n.mesh =
        std::make_unique<Mesh>(std::move(o), n.id, "node-" + n.id.substr(0, 1), *n.store, *n.store);
  }
  void Start(TestNode& n) {
    Status st = n.mesh->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    n.running = true;
  }
  void Stop(TestNode& n) {
    n.mesh->Stop();
    n.running = false;
  }

  static std::vector<PeerView> Peers(TestNode& n) {
    auto peers = Await<std::vector<PeerView>>([&n](auto done) { n.mesh->ListPeers(done); });
    EXPECT_TRUE(peers.has_value()) << "ListPeers did not answer";
    return peers.value_or(std::vector<PeerView>{});
  }
  static std::optional<PeerView> Peer(TestNode& n, const std::string& id) {
    for (auto& p : Peers(n)) {
      if (p.endpoint_id == id) return p;
    }
    return std::nullopt;
  }
  static bool Connected(TestNode& n, const std::string& id) {
    auto p = Peer(n, id);
    return p && p->connected;
  }
  static Status ConnectPeer(TestNode& n, const std::string& id, const std::string& address) {
    auto st = Await<Status>([&](auto done) { n.mesh->ConnectPeer(id, {address}, done); });
    return st.value_or(InternalError("ConnectPeer did not answer"));
  }
  static Status DisconnectPeer(TestNode& n, const std::string& id) {
    auto st = Await<Status>([&](auto done) { n.mesh->DisconnectPeer(id, done); });
    return st.value_or(InternalError("DisconnectPeer did not answer"));
  }
  static std::optional<std::string> Get(TestNode& n, const std::string& doc) {
    auto r = n.store->Get("c", doc);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  }
  static uint64_t MetricValue(TestNode& n, const std::string& name) {
    std::string out;
    n.mesh->AppendMetrics(out);
    const auto at = out.find("\n" + name + " ");
    if (at == std::string::npos) return ~uint64_t{0};
    return std::stoull(out.substr(at + name.size() + 2));
  }

  // One round trip through every running mesh loop: whatever was posted to them before (timer
  // handlers the clock fired, dial answers, frames) has run.
  void Settle() {
    for (auto& n : nodes_) {
      if (n->running) Peers(*n);
    }
  }
  // Settles until `pred` holds; false if it does not within the safety net.
  bool WaitUntil(const std::function<bool()>& pred) {
    const auto give_up = std::chrono::steady_clock::now() + kSafetyNet;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > give_up) return pred();
      Settle();
    }
    return true;
  }

  // The pending redial of a mesh with one registered peer that is down: the only armed timer.
  std::chrono::milliseconds PendingDelay() {
    auto next = clock_.NextExpiry();
    EXPECT_TRUE(next.has_value());
    return std::chrono::duration_cast<std::chrono::milliseconds>(next.value_or(clock_.Now()) -
                                                                 clock_.Now());
  }

  FakeNetwork::FrameFilter AckFrames() {
    return [](const std::string& bytes) {
      v1::Frame frame;
      return frame.ParseFromString(bytes) && frame.has_ack();
    };
  }

  peat::testing::FakeClock clock_;
  FakeNetwork net_{clock_};
  std::vector<std::unique_ptr<TestNode>> nodes_;
};

}  // namespace peat::mesh::testing

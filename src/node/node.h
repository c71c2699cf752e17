// Node: the composition root. Owns the data dir (and its lock), the identity, the document store,
// the API server and the services, and walks the lifecycle INITIALIZING (opening the store) →
// READY → SHUTTING_DOWN. READY reads SYNCING while the mesh's sync is active; GetStatus, the
// peat_node_phase metric and the "phase X" log lines all show that same phase (CurrentPhase),
// and every change of it is logged, StartSync/StopSync included.
//
// Start() and Shutdown() are called from the control thread (main); Snapshot() and readiness are
// thread-safe and called from RPC threads.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "attach/attachment_manager.h"
#include "blob/blob_store.h"
#include "bridge/nats_bridge.h"
#include "common/metrics.h"
#include "common/status.h"
#include "console/console_site.h"
#include "discovery/candidate_dialer.h"
#include "discovery/k8s_discovery.h"
#include "discovery/mdns_discovery.h"
#include "mesh/mesh.h"
#include "node/data_dir_lock.h"
#include "node/node_config.h"
#include "node/node_identity.h"
#include "rpc/method_table.h"
#include "rpc/rpc_server.h"
#include "service/health_service.h"
#include "service/status_source.h"
#include "service/subscriber.h"
#include "store/sqlite_document_store.h"
#include "watcher/agent_watcher.h"

namespace peat {

class Node : public service::StatusSource {
 public:
  explicit Node(NodeConfig config);
  ~Node() override;

  // Creates, locks and tightens the data dir, loads the identity, opens the store, registers
  // services, binds every listener. Errors name the cause; FAILED_PRECONDITION and
  // INVALID_ARGUMENT mean the configuration or the machine must change (main exits 2).
  Status Start();
  // Addresses actually bound (port 0 resolved).
  std::vector<std::string> bound_addresses() const;
  // Drains: readiness 503, health NOT_SERVING, stop accepting, end streams, finish in-flight
  // RPCs, wait up to --shutdown-grace-secs, stop. Returns true if the drain completed in time.
  bool Shutdown();

  service::NodeStatusSnapshot Snapshot() const override;
  bool IsReady(std::string* reason) const;

 private:
  Status StartMesh();
  // The blob store, and the attachment manager when a root or an inbox is configured.
  Status OpenAttachments();
  // The agent watcher (--agent-addr), started as soon as the store is open (WATCHER.md §5).
  Status StartAgentWatcher();
  // The NATS bridge (--nats-mapping), started once the store is open; never waits for NATS.
  Status StartNatsBridge();
  Status StartAttachments();
  // mDNS discovery (docs/DISCOVERY.md): on unless --disable-mdns, the formation has no key or the
  // mesh listens on loopback; a socket that cannot open is logged, not fatal.
  void StartDiscovery();
  // Kubernetes discovery (--enable-kubernetes-discovery), started once the mesh runs; a node
  // outside a cluster logs why and runs without it.
  Status StartKubernetesDiscovery();
  // Logs that the formation has no key: loopback-only (info), or exposed by
  // --allow-keyless-mesh (warning, at every start).
  void LogFormationKey() const;
  bool IsLoopbackMesh() const;
  void SetPhase(service::NodePhase phase);
  // The phase as reported: READY reads SYNCING while sync is active.
  service::NodePhase CurrentPhase() const;
  // Logs "phase X" when CurrentPhase() differs from the last phase logged.
  void LogPhaseChange();
  void AppendSubscriberMetrics(std::string& out) const;

  NodeConfig config_;
  std::optional<DataDirLock> data_dir_lock_;  // declared first: released last
  std::optional<NodeIdentity> identity_;      // set by Start()
  std::string node_id_;
  std::string endpoint_id_;
  std::atomic<service::NodePhase> phase_{service::NodePhase::kInitializing};
  std::mutex phase_log_mu_;
  std::optional<service::NodePhase> logged_phase_;  // guarded by phase_log_mu_
  MetricsRegistry metrics_;
  // Declaration order is teardown order reversed: the server (and the handlers it runs) goes
  // first, then the blocking pool, then the store.
  std::shared_ptr<mesh::MemberAckTracker> member_acks_;  // the store's tombstone purge veto
  std::unique_ptr<store::SqliteDocumentStore> store_;
  std::unique_ptr<watcher::AgentWatcher> agent_watcher_;  // stopped when the drain begins
  std::unique_ptr<bridge::NatsBridge> nats_bridge_;       // stopped when the drain begins
  std::unique_ptr<boost::asio::thread_pool> blocking_;    // scans and large lists
  std::unique_ptr<boost::asio::thread_pool> snapshots_;   // Subscribe snapshots (may stall on a
                                                          // slow client; kept apart from scans)
  std::unique_ptr<blob::BlobStore> blobs_;
  std::unique_ptr<attach::AttachmentManager> attachments_;  // stopped before the mesh
  std::string attachments_unavailable_;  // why the blob store could not open (wrong key), or ""

  discovery::DiscoveryMetrics discovery_metrics_;  // outlives the mesh (its callbacks count)
  std::unique_ptr<mesh::Mesh> mesh_;               // stopped before the store closes
  std::shared_ptr<discovery::CandidateDialer> dialer_;
  std::unique_ptr<discovery::MdnsDiscovery> mdns_;          // stopped when the drain begins
  std::unique_ptr<discovery::K8sDiscovery> k8s_discovery_;  // dials through mesh_; stopped first
  rpc::MethodTable methods_;
  service::HealthState health_;
  service::SubscriberMetrics subscriber_metrics_;
  std::unique_ptr<console::ConsoleSite> console_;  // the router's OpsHooks::web
  std::unique_ptr<rpc::RpcServer> server_;
};

}  // namespace peat

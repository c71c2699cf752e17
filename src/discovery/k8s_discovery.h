// K8sDiscovery: Kubernetes peer discovery (--enable-kubernetes-discovery). Lists and watches the
// EndpointSlices of a namespace that match a label selector, through the API server with the
// pod's service-account token and CA (k8s_api_client.h), and keeps the mesh dialing exactly the
// pods they list (k8s_slices.h: a pod's endpoint id is derived from its pod name).
//
// The loop (on its own thread):
//  * list `GET /apis/discovery.k8s.io/v1/namespaces/NS/endpointslices?labelSelector=…`, then
//    watch from the list's resourceVersion (`watch=1&allowWatchBookmarks=true`, ended by the
//    server after --discovery-interval-secs and resumed from the last resourceVersion seen, which
//    bookmarks advance);
//  * 410 Gone (an ERROR event or the HTTP status) → list again; 401/403 (an expired token: the
//    file is read again on every request) and any other failure — connection refused or cut, a
//    bad certificate, a body or line that is not the expected JSON — count an error and list
//    again after a backoff (1 s doubling to min(30 s, the interval), jittered), never a crash.
//    Slices already known stay in force while the API server is unreachable;
//  * reconcile after every change and every interval: each listed pod that is not connected, or
//    whose address changed, is dialed (PeerControl::ConnectPeer: registered on success, so the
//    mesh redials it after drops); each pod this discovery proposed that is no longer listed is
//    dropped (PeerControl::DisconnectPeer: unregistered and disconnected; no more redials). A
//    listed pod that dialed us first is not dialed, but is dropped the same way when it leaves
//    (PlanReconcile in k8s_slices.h).
//  * nothing is reconciled before the first list answered; the proposed ids are kept in
//    K8sDiscoveryOptions::state_file, so a pod that left while this node was down is dropped too.
//
// Threading: Start/Stop/AppendMetrics from any thread (Stop joins the loop; call before the
// PeerControl goes away). PeerControl callbacks are posted back onto the loop.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/peer_control.h"
#include "common/status.h"
#include "discovery/k8s_api_client.h"
#include "discovery/k8s_slices.h"

namespace peat::discovery {

struct K8sDiscoveryOptions {
  K8sApiConfig api;
  std::string namespace_name;  // empty: the service-account namespace file
  std::string label_selector = "app=peat-node";
  std::string annotation_prefix = "peat.";
  std::chrono::seconds interval{30};
  std::string own_pod;          // POD_NAME; skipped
  std::string own_endpoint_id;  // skipped
  DeriveEndpointId derive;      // pod name → endpoint id
  // The endpoint ids this discovery proposed, one a line, kept across restarts (the mesh persists
  // the peers ConnectPeer registered): a pod that left while the node was down is dropped at the
  // first list. Empty: not kept.
  std::string state_file;
  Clock* clock = &RealClock();
};

struct K8sDiscoveryCounters {
  std::atomic<uint64_t> lists{0};         // list requests answered 200
  std::atomic<uint64_t> watch_events{0};  // ADDED/MODIFIED/DELETED/BOOKMARK applied
  std::atomic<uint64_t> relists_gone{0};  // 410 Gone
  std::atomic<uint64_t> errors{0};        // failed requests, unexpected statuses, bad JSON
  std::atomic<uint64_t> dials{0};         // ConnectPeer calls
  std::atomic<uint64_t> drops{0};         // DisconnectPeer calls
  std::atomic<uint64_t> pods{0};          // peers listed now (gauge)
};

class K8sDiscovery {
 public:
  // FAILED_PRECONDITION when the namespace is neither given nor readable.
  static StatusOr<std::unique_ptr<K8sDiscovery>> Create(K8sDiscoveryOptions options,
                                                        PeerControl& peers);
  ~K8sDiscovery();

  void Start();
  void Stop();
  const K8sDiscoveryCounters& counters() const { return counters_; }
  // The peat_discovery_kubernetes_* metrics (docs/OPERATIONS.md); `d` null (discovery off or
  // not started): the families with zero samples, so every node exports them.
  static void AppendMetrics(const K8sDiscovery* d, std::string& out);

 private:
  K8sDiscovery(K8sDiscoveryOptions options, PeerControl& peers);

  std::string BasePath() const;
  void List();
  void Watch();
  void OnWatchLine(std::string_view line);
  void OnWatchDone(K8sResponse r);
  void Fail(const std::string& what, bool gone = false);
  void Reconcile();
  void ArmReconcile();
  void LoadState();
  void SaveState();
  struct Gate {
    std::mutex mu;
    boost::asio::io_context* io = nullptr;  // null once stopped; guarded by mu
  };
  // Runs `fn` on the loop, from a PeerControl callback (another thread; the callback holds the
  // gate, not `this`): dropped once Stop began, so a late callback never reaches a stopped or
  // destroyed discovery.
  static void PostVia(const std::shared_ptr<Gate>& gate, std::function<void()> fn);

  K8sDiscoveryOptions options_;
  PeerControl& peers_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  K8sApiClient client_;
  std::unique_ptr<Timer> retry_timer_;
  std::unique_ptr<Timer> reconcile_timer_;
  std::chrono::milliseconds backoff_{0};
  std::mt19937_64 rng_{std::random_device{}()};

  std::map<std::string, K8sSlice> slices_;  // by name
  std::string resource_version_;
  bool watch_failed_ = false;  // the current watch ended in an error already handled

  std::map<std::string, std::vector<std::string>> proposed_;  // endpoint id → addresses dialed
  std::set<std::string> dialing_;
  std::set<std::string> saved_;  // the ids in state_file
  bool listed_ = false;          // no reconcile (so no drop) before the first list
  bool reconciling_ = false;
  bool reconcile_again_ = false;

  K8sDiscoveryCounters counters_;
};

}  // namespace peat::discovery

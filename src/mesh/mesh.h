// Mesh: this node as a peer of its formation. Owns the mesh loop (one thread), the transport and
// its listener, the peer registry (static --peer entries and ConnectPeer registrations,
// persisted in the store) with redial-forever backoff, and one ReplicationSession per connected
// peer. It observes the store's replication log (one "feed advanced" signal per committed group,
// coalesced into one task on the loop) and tells every session when new changes commit.
//
// Connections: any node that passes the formation handshake may connect; registered peers are
// also dialed by us. Two nodes that dial each other at once end up with one session: the one
// dialed by the smaller endpoint id wins (both sides decide alike); between two connections of
// the same dialer the newer wins (the older is probably dead and not yet noticed).
//
// Time and the network are injected (MeshOptions::clock, ::transport_factory): the node passes
// RealClock() and TlsTransportFactory; unit tests a fake clock and an in-memory transport.
//
// Blobs: the Mesh is the node's blob::BlobTransfer (blob/blob_transfer.h): Fetch and the other
// methods post to the loop, where the BlobEngine (mesh/blob_engine.h) fetches, serves and relays
// over the sessions. MeshOptions::blob_store null: blob wants are answered not_found and Fetch
// fails FAILED_PRECONDITION.
//
// Threading: public methods are thread-safe (they post to the loop); Start/Drain/Stop are called
// from the node's control thread. AppendMetrics and Drain wait for the loop (bounded) and must
// not be called on it.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "blob/blob_store.h"
#include "blob/blob_transfer.h"
#include "common/clock.h"
#include "common/peer_control.h"
#include "common/status.h"
#include "crypto/secure_bytes.h"
#include "mesh/backoff.h"
#include "mesh/blob_engine.h"
#include "mesh/formation_proof.h"
#include "mesh/member_ack_tracker.h"
#include "mesh/mesh_counters.h"
#include "mesh/replication_session.h"
#include "mesh/session_options.h"
#include "mesh/transport.h"
#include "store/peer_state_store.h"
#include "store/replication_log.h"

namespace peat::mesh {

struct MeshOptions {
  std::string listen_ip = "0.0.0.0";
  uint16_t listen_port = 0;
  std::string app_id;
  SecureBytes shared_key;  // decoded --shared-key; empty = formation by app id only
  std::vector<store::PeerRecord> static_peers;
  bool auto_sync = true;
  // Called after SetSyncActive changed the flag (on the caller's thread); may be empty.
  std::function<void(bool active)> on_sync_changed;
  // Replication priority class per collection (see priority_lanes.h); unlisted = routine.
  std::map<std::string, int> collection_priorities;
  SessionOptions session;
  // Formation members and their acknowledged feed positions (also the store's tombstone purge
  // veto); null: not tracked.
  std::shared_ptr<MemberAckTracker> member_acks;
  std::chrono::milliseconds redial_initial{1'000};
  std::chrono::milliseconds redial_max{60'000};
  // A peer whose session was lost less than `recent_loss_window` ago is redialed at most
  // `redial_after_loss_max` apart: a cut link that heals is back within seconds (B12), while a
  // peer that stays away backs off to redial_max after the window.
  std::chrono::milliseconds redial_after_loss_max{2'000};
  std::chrono::milliseconds recent_loss_window{120'000};
  // ConnectPeer: attempts over all addresses, this far apart.
  int connect_attempts = 3;
  std::chrono::milliseconds connect_attempt_gap{200};
  std::chrono::milliseconds dial_timeout{3'000};
  // Makes the transport at Start (required; the node's is TlsTransportFactory).
  TransportFactory transport_factory;
  // Time and timers of the mesh and its sessions; must outlive the Mesh.
  Clock* clock = &RealClock();

  // Blobs (docs/spec/ATTACHMENTS.md §15). The store blobs are served from and fetched into
  // (null: none; must outlive the Mesh), which roots may be served (empty: all), whether our
  // Hello says we have an attachment inbox (the node sets it when --attachment-inbox is given),
  // sources used at once per fetch (--attachment-max-sources) and the bytes of blobs this node
  // relays for others (--attachment-relay-cache-bytes).
  blob::BlobStore* blob_store = nullptr;
  blob::BlobServePolicy blob_serve_policy;
  bool accepts_attachments = false;
  int blob_max_sources = 3;
  uint64_t blob_relay_cache_bytes = uint64_t{1} << 30;
  // Each fetch starts asking at a random chunk, so the receivers of one blob hold different
  // chunks early and serve them to each other (false: chunk 0 first; deterministic tests).
  bool blob_spread_chunks = true;
};

struct ConnectRequest;  // one ConnectPeer call in progress (mesh.cc)

class Mesh : public PeerControl, public blob::BlobTransfer {
 public:
  // `log` and `peers` (the store's replication log and peer state) must outlive the Mesh. The
  // store's answers to writes in flight are posted to the mesh loop, so close the store after
  // Stop() and before destroying the Mesh (as the node does).
  Mesh(MeshOptions options, std::string endpoint_id, std::string node_id,
       store::ReplicationLog& log, store::PeerStateStore& peers);
  ~Mesh() override;

  // Binds the mesh listener, starts the loop, registers static and persisted peers and dials
  // them. Logs "mesh listening on tcp://IP:PORT".
  Status Start();
  // The bound listener address, "ip:port".
  const std::string& listen_address() const { return listen_address_; }
  // Waits (until `deadline`, on the mesh clock) for every connected peer to acknowledge our feed
  // up to its current head: pending changes reach peers before shutdown. True if they all did
  // (also when the mesh is not running).
  bool Drain(Clock::TimePoint deadline);
  // The same without blocking: `done` runs on the loop once the peers caught up (true) or at
  // `deadline` (false); at once on the calling thread, with true, if the mesh is not running.
  void DrainAsync(Clock::TimePoint deadline, std::function<void(bool caught_up)> done);
  // Closes every session and the listener, stops the loop. Idempotent.
  void Stop();

  // PeerControl (common/peer_control.h)
  void ConnectPeer(std::string endpoint_id, std::vector<std::string> addresses, Done done) override;
  void DisconnectPeer(std::string endpoint_id, Done done) override;
  void ListPeers(std::function<void(std::vector<PeerView>)> done) override;
  void SetSyncActive(bool active) override;
  bool sync_active() const override { return sync_active_.load(); }
  void GetSyncStats(std::function<void(SyncStats)> done) override;

  // blob::BlobTransfer (see blob/blob_transfer.h and mesh/blob_engine.h for the semantics).
  // Fetch on a mesh that is not running answers done(UNAVAILABLE) at once.
  FetchId Fetch(blob::FetchRequest request, ProgressFn progress, DoneFn done) override;
  void CancelFetch(FetchId id) override;
  void ListBlobPeers(std::function<void(std::vector<blob::BlobPeerInfo>)> done) override;
  void SetPeerEstablishedObserver(std::function<void(const blob::BlobPeerInfo&)> fn) override;

  uint32_t connected_peers() const { return connected_count_.load(); }
  // Relay trees (mesh/relay_routes.h): our next hop toward the node with tag `origin`, and
  // whether `peer` named us its parent toward it (what its latest RouteAdvert said). Any thread.
  std::optional<uint64_t> RelayParent(uint64_t origin) const;
  bool NamedParentBy(const std::string& peer, uint64_t origin) const;
  // peat_mesh_* samples for /metrics.
  void AppendMetrics(std::string& out) const;

 private:
  struct RegisteredPeer {
    store::PeerRecord record;
    std::unique_ptr<Backoff> backoff;
    std::unique_ptr<Timer> timer;
    bool dialing = false;
    std::optional<Clock::TimePoint> lost_at;  // when its last session closed
  };
  struct DrainWaiter {
    std::function<void(bool)> done;
    std::unique_ptr<Timer> deadline;
  };
  using SessionPtr = std::shared_ptr<ReplicationSession>;
  using DialDone = std::function<void(Status)>;

  // Loop-only helpers.
  void RegisterOnLoop(store::PeerRecord record, bool persist);
  void ScheduleRedial(const std::string& endpoint_id, std::chrono::milliseconds delay);
  // The next backoff delay of `peer`, capped at redial_after_loss_max within recent_loss_window
  // of a lost session.
  std::chrono::milliseconds NextRedialDelay(RegisteredPeer& peer);
  void RedialNow(const std::string& endpoint_id);
  void DialAddresses(std::string endpoint_id, std::vector<std::string> addresses, size_t index,
                     Status last_error, DialDone done);
  void ConnectAttempt(std::shared_ptr<ConnectRequest> req);
  SessionPtr AdoptConnection(std::shared_ptr<MeshConnection> connection, DialDone handshake_done);
  void OnEstablished(const SessionPtr& session);
  void OnSessionClosed(const SessionPtr& session, const Status& why,
                       const std::string& handshake_failure);
  // Writer thread: the store's feed advanced; posts OnFeedAdvanced (one task while one is pending).
  void PostFeedAdvanced();
  void OnFeedAdvanced();
  void RedialSoonAfterReconnect(const std::string& connected_peer);
  void OnPeerAcked(const std::string& peer, uint64_t seq);
  void PersistMemberAck(const std::string& peer);
  void UpdateConnectedCount();
  // Relay trees: the routes' neighbours follow established_; a change is advertised to every
  // established peer (once per loop turn).
  void SyncRouteNeighbours();
  void PostRouteAdverts();
  // Relay trees, cut-through (SessionEnvironment::relay_ahead): each of `changes`, just received
  // whole from `from`, goes now to every other peer that named us its parent toward the
  // state's writer.
  void RelayAhead(const ReplicationSession& from, const std::vector<store::RemoteChange>& changes);
  bool OutboundCaughtUp() const;
  void CheckDrains();
  void FinishDrain(uint64_t id, bool caught_up);
  void AppendBlobMetrics(std::string& out) const;
  template <typename T>
  T RunOnLoop(std::function<T()> fn, T fallback) const;

  MeshOptions options_;
  Clock& clock_;
  const std::string endpoint_id_;
  const std::string node_id_;
  store::ReplicationLog& log_;
  store::PeerStateStore& peer_store_;

  mutable boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::future<void> loop_exited_;  // ready when the loop thread's io_.run() returned
  std::unique_ptr<Transport> transport_;
  std::optional<FormationKey> formation_key_;
  PendingStates pending_states_;       // before env_ and the sessions: outlives them
  std::optional<RelayRoutes> routes_;  // relay trees (offer mode only); before env_ too
  bool adverts_posted_ = false;        // a route broadcast is queued on the loop
  SessionEnvironment env_;
  MeshCounters counters_;
  uint64_t feed_observer_id_ = 0;
  std::string listen_address_;

  std::atomic<bool> sync_active_{false};
  std::atomic<uint32_t> connected_count_{0};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> feed_posted_{false};

  // Loop-only state.
  std::map<std::string, RegisteredPeer> registered_;
  std::map<std::string, SessionPtr> established_;  // by peer endpoint id
  std::set<SessionPtr> sessions_;                  // every live session (handshaking too)
  std::map<const ReplicationSession*, DialDone> handshake_waiters_;
  // ConnectPeer requests waiting out the gap between attempts (their timers hold them weakly).
  std::set<std::shared_ptr<ConnectRequest>> connect_gaps_;
  std::map<uint64_t, DrainWaiter> drains_;
  uint64_t next_drain_id_ = 1;
  std::unique_ptr<Timer> drain_poll_;  // rechecks pending drains while there are any
  uint64_t closed_bytes_sent_ = 0;     // wire bytes of connections that already closed
  uint64_t closed_bytes_received_ = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> peer_closed_bytes_;  // sent, received
  uint64_t next_seed_ = 1;
  std::mt19937 jitter_rng_{std::random_device{}()};
  struct AckPersistence {
    uint64_t wanted = 0;
    bool in_flight = false;
  };
  std::map<std::string, AckPersistence> ack_persistence_;  // one SaveMemberAck in flight per peer

  // Blobs (loop only, except the atomic id).
  std::unique_ptr<BlobEngine> blob_;
  std::atomic<uint64_t> next_fetch_id_{1};
  std::function<void(const blob::BlobPeerInfo&)> peer_established_observer_;
  std::map<std::string, blob::BlobPeerInfo> blob_peers_seen_;  // every peer established this run
};

}  // namespace peat::mesh

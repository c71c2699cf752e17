// ReplicationSession: one authenticated connection to one peer, after the transport's TLS
// handshake. It runs the formation handshake (Hello with a proof of the shared key, both
// directions), then replicates documents both ways (proto/peat/mesh/v1/mesh.proto):
//
// - Outbound (our feed → peer): the peer asks with SyncRequest{after_seq = its checkpoint}. We
//   read our change feed from there (ReplicationLog::ReadFeed; one entry per changed document, so
//   catch-up moves each changed document once) and send ChangeBatch frames, at most
//   `window_batches` unacknowledged, then keep going as new changes commit (OnFeedAdvanced).
//   Entries whose state came from this very peer unchanged (src_peer) are not sent back: that is
//   echo suppression. Relaying is natural: what we merged from A is in our feed for C.
// - Relay once (protocol 3, SessionOptions::relay_offers): such a relayed entry goes as an
//   offer (StateDigest, no state). The receiver asks (ChangeWant) only for offers it neither
//   holds nor is already getting from another peer or an earlier batch (PendingStates, shared by
//   the node's sessions), merges the WantReply on its own (no checkpoint), and merges and
//   acknowledges the batch once every offer is held — batches still commit in order, so a
//   checkpoint never passes a state we lack. When whoever was bringing an offered state gives up
//   (its session ended), the batch asks its own peer. Wants are answered at once, outside the
//   send window (they are bounded by the asker's window of batches). An offer names the peer the
//   state came from (a hint); when we stream from that peer too, its copy is expected for a
//   moment (2 × its RTT + 10 ms, at least 200 ms) before we ask.
// - Inbound (peer's feed → us): we ask from our persisted checkpoint (void when the peer's store
//   epoch changed: it lost its data, start over from zero), merge each batch in one store
//   transaction that also stores the new checkpoint, and acknowledge it. Batches are applied in
//   order, one stream at a time.
// - StopSync pauses both directions (we stop sending and ask the peer to stop); the connection
//   stays up. StartSync resumes from the checkpoints, so writes made while paused flow.
// - Liveness (link_liveness.h): Ping after send silence; every Pong is an RTT sample; a link
//   silent longer than the adaptive bound (floor --mesh-dead-after-ms, ~2.5 s on a LAN) is
//   dead: the session ends at once (on_closed runs before the connection's flush and TLS
//   shutdown finish) and the mesh counts it (peat_mesh_dead_links_total).
// - Blobs (protocol 2, docs/spec/ATTACHMENTS.md §15.3–§15.4): blob frames are checked
//   (blob_frames.h; a bad one is dropped and counted, the session stays up) and handed to the
//   mesh's BlobFrameHandler, which answers BlobWant by ServeBlob(): the session sends the wanted
//   pieces from the BlobStore, sharing its send window with document batches through the
//   LinkScheduler (class order, ¾ rule, anti-starvation, piece size). BlobAck returns credit and
//   an RTT sample like BatchAck; BlobCancel stops a serve. Blob frames go only to a peer whose
//   Hello said blob_protocol >= 1.
//
// Time: read and waited for through env.clock (common/clock.h), so tests can run it on a fake.
//
// Threading: lives on the mesh loop (one thread); every method must be called there. Store
// callbacks (writer thread) are posted back to the loop; a session destroyed meanwhile is
// skipped (weak_ptr).
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "blob/blob_store.h"
#include "blob/manifest.h"
#include "common/clock.h"
#include "common/status.h"
#include "mesh/formation_proof.h"
#include "mesh/link_liveness.h"
#include "mesh/link_scheduler.h"
#include "mesh/mesh_counters.h"
#include "mesh/pending_states.h"
#include "mesh/priority_lanes.h"
#include "mesh/relay_routes.h"
#include "mesh/send_window.h"
#include "mesh/session_options.h"
#include "mesh/transport.h"
#include "store/replication_log.h"

namespace peat::mesh {

namespace v1 {
class ChangeBatch;
class Frame;
}  // namespace v1

// 2: blob frames (a protocol 1 peer never gets one). 3: offers, ChangeWant, WantReply (relay
// once; a protocol 2 peer gets every change whole). 4: RouteAdvert and relay trees (a relayed
// state goes whole to a peer that named us its parent toward the state's writer; a protocol 3
// peer gets offers only).
inline constexpr uint32_t kMeshProtocolVersion = 4;
inline constexpr uint32_t kMeshOffersProtocolVersion = 3;
inline constexpr uint32_t kMeshRoutesProtocolVersion = 4;
inline constexpr uint32_t kMeshMinProtocolVersion = 1;

class ReplicationSession;

// The mesh's blob engine as a session sees it (mesh/blob_engine.h). Loop only.
class BlobFrameHandler {
 public:
  virtual ~BlobFrameHandler() = default;
  // A checked BlobWant, BlobManifest, BlobPiece, BlobHave or BlobError arrived on `session`.
  virtual void OnBlobFrame(const std::shared_ptr<ReplicationSession>& session,
                           const v1::Frame& frame) = 0;
  // `bytes` of piece data went out to `peer` in `priority_class`.
  virtual void OnPieceSent(const std::string& peer, int priority_class, size_t bytes) = 0;
};

// Chunks [chunk, end) of a served blob, the first from byte `offset`.
struct BlobSpan {
  uint64_t chunk = 0;
  uint64_t end = 0;
  uint32_t offset = 0;
};

// What every session of a node shares (owned by Mesh, outlives the sessions).
struct SessionEnvironment {
  store::ReplicationLog* store = nullptr;
  std::string endpoint_id;  // ours, 64 hex
  std::string node_id;
  const FormationKey* formation_key = nullptr;
  std::array<uint8_t, 16> app_id_hash{};
  SessionOptions options;
  std::vector<PriorityLane> lanes = {PriorityLane{}};  // highest class first; at least one
  MeshCounters* counters = nullptr;
  // The peer now holds our feed through `seq` (it acknowledged a batch, or asked to resume
  // after it): tombstone purge waits for this (MemberAckTracker).
  std::function<void(const std::string& peer, uint64_t seq)> peer_acked;
  // Time and timers (never null; must outlive the sessions).
  Clock* clock = &RealClock();
  // Blobs: where pieces are read from (null: nothing is served) and who handles blob frames
  // (null: blob frames are dropped as bad). `accepts_attachments` goes into our Hello.
  blob::BlobStore* blob_store = nullptr;
  BlobFrameHandler* blob_handler = nullptr;
  bool accepts_attachments = false;
  // States in flight to this node, shared by its sessions (relay once). Null: each session
  // keeps its own (no dedup across peers).
  PendingStates* pending_states = nullptr;
  // The established session with the peer whose endpoint id starts with `prefix` (16 hex
  // digits), if any (an offer's source hint). Null function: hints are ignored.
  std::function<std::shared_ptr<ReplicationSession>(std::string_view prefix)> session_by_prefix;
  // Relay trees (protocol 4; mesh/relay_routes.h). Null: no trees (offers only, as protocol 3).
  // A peer's RouteAdvert goes to `route_advert` (the mesh updates the table and advertises).
  RelayRoutes* routes = nullptr;
  std::function<void(const std::shared_ptr<ReplicationSession>&, std::vector<RelayRoute>)>
      route_advert;
  // Relay trees, cut-through: whole states a session just received (not merged here yet) are
  // handed to `relay_ahead`, which passes each on to the peers that named us their parent toward
  // its writer (SendAhead) — a tree hop then costs one network trip instead of a trip plus our
  // commit. Null: relayed states leave only through our feed, after the merge.
  std::function<void(const ReplicationSession& from, const std::vector<store::RemoteChange>&)>
      relay_ahead;
};

class ReplicationSession : public std::enable_shared_from_this<ReplicationSession> {
 public:
  struct Callbacks {
    // The formation handshake succeeded: documents may flow.
    std::function<void(const std::shared_ptr<ReplicationSession>&)> on_established;
    // The session ended (runs once). `handshake_failure` is the refusal reason when it ended
    // during the handshake because the formation check failed ("" otherwise).
    std::function<void(const std::shared_ptr<ReplicationSession>&, const Status& why,
                       const std::string& handshake_failure)>
        on_closed;
  };

  ReplicationSession(boost::asio::io_context& io, const SessionEnvironment& env,
                     std::shared_ptr<MeshConnection> connection, Callbacks callbacks);
  ~ReplicationSession();

  // Sends Hello and starts reading. `sync_active` is the node's current sync flag.
  void Start(bool sync_active);
  // The node's sync flag changed (StartSync / StopSync).
  void SetSyncActive(bool active);
  // New local changes committed: send what the peer's window allows.
  void OnFeedAdvanced();
  // Says Goodbye{reason} and closes.
  void Close(const std::string& reason);
  // Sends our relay routes as advertised to this peer (protocol 4 peers, with routes only).
  void SendRouteAdvert();
  // The peer's node tag (mesh/relay_routes.h NodeTagOfEndpoint).
  uint64_t peer_tag() const { return peer_tag_; }
  // Relay trees, cut-through (SessionEnvironment::relay_ahead): sends `changes`, whole states
  // received from another peer and not merged here yet, now, in a ChangeBatch whose through_seq
  // is the one last sent (it moves no checkpoint). When the same state later leaves our feed it
  // is not sent again. Sends nothing (false) to a peer below protocol 4, when documents do not
  // flow, or when the send window has no room: the feed sends them after the merge, as usual.
  // Cut-through batches count against the peer's batch window apart from the feed's
  // (BatchKind::kAhead), so they never hold a feed batch back, nor a feed batch them.
  bool SendAhead(std::vector<store::RemoteChange> changes);

  bool established() const { return established_; }
  bool closed() const { return closed_; }
  bool is_dialer() const { return connection_->is_dialer(); }
  const std::string& peer_endpoint_id() const { return connection_->peer_endpoint_id(); }
  const std::string& remote_address() const { return connection_->remote_address(); }
  const std::string& peer_node_id() const { return peer_node_id_; }
  // Endpoint id of the side that dialed this connection.
  const std::string& dialer_endpoint_id() const;
  // Creation order among the node's sessions (newer = larger).
  uint64_t serial() const { return serial_; }

  // For metrics and drain.
  uint64_t wire_bytes_sent() const { return connection_->wire_bytes_sent(); }
  uint64_t wire_bytes_received() const { return connection_->wire_bytes_received(); }
  // Peer's feed head as last reported, and how far we merged it.
  uint64_t peer_last_seq() const { return peer_last_seq_; }
  uint64_t inbound_checkpoint() const { return in_.checkpoint; }
  // Our feed position the peer acknowledged through (0 before it asked for our feed).
  uint64_t outbound_acked() const { return out_.acked; }
  // The peer asked for our feed and sync is active.
  bool outbound_active() const { return DocumentsFlowing(); }
  // We stream the peer's feed now (sync active, stream requested).
  bool inbound_active() const { return in_.active; }
  Clock::TimePoint last_contact() const { return liveness_.last_contact(); }
  const LinkLiveness& liveness() const { return liveness_; }
  // Wire bytes the peer acknowledged (MeshConnection::wire_bytes_acked).
  uint64_t wire_bytes_acked() const { return connection_->wire_bytes_acked(); }
  std::string congestion_control() const { return connection_->congestion_control(); }
  const SendWindow& send_window() const { return send_window_; }
  // True when the peer asked for our feed and has acknowledged everything up to our head (or
  // does not want it now): nothing of ours is waiting to reach it.
  bool OutboundCaughtUp() const;

  // Blobs (see above). The peer speaks blob frames / has an inbox (from its Hello).
  bool peer_blob_capable() const { return peer_blob_protocol_ >= 1; }
  bool peer_accepts_attachments() const { return peer_accepts_attachments_; }
  // Sends a blob control frame (want, manifest, have, ack, cancel, error) at once; dropped when
  // the peer does not speak blob frames.
  void SendBlobFrame(const v1::Frame& frame);
  // Serves `spans` of `root` (whose manifest is `manifest`; spans checked against it) for the
  // peer's request `request_id` in `priority_class`. Chunks not readable yet (a partial being
  // fetched) wait for OnBlobChunksAvailable.
  void ServeBlob(uint64_t request_id, const blob::BlobRoot& root, int priority_class,
                 const blob::BlobManifest& manifest, std::vector<BlobSpan> spans);
  // Chunks of `root` may have become readable: retries serves that waited for them.
  void OnBlobChunksAvailable(const blob::BlobRoot& root);
  // Serves of `root` waiting for chunks end with BlobError{not_found} (the fetch that would have
  // verified them ended).
  void FailBlockedServes(const blob::BlobRoot& root);
  size_t serving_requests() const { return serves_.size(); }

 private:
  struct Outbound {  // serving the peer's SyncRequest
    bool requested = false;
    bool active = false;
    uint64_t stream_id = 0;
    std::vector<uint64_t> lane_cursor;  // per lane: feed read through
    uint64_t sent_through = 0;          // min of the lane cursors, as last sent
    uint64_t acked = 0;                 // feed position acknowledged through
    uint32_t window = 1;                // batches the peer allows in flight
  };
  struct Serve {  // a BlobWant being answered
    blob::BlobRoot root{};
    int priority_class = 3;
    blob::BlobManifest manifest;
    std::deque<BlobSpan> todo;
    bool blocked = false;  // the next chunk is not readable yet
  };
  struct InboundBatch {  // a ChangeBatch of the peer's feed, merged in arrival order
    uint64_t stream_id = 0;
    uint64_t through = 0;
    std::vector<store::RemoteChange> changes;  // the whole states it carried
    std::vector<std::string> keys;             // their PendingStates keys (relay once)
    size_t unresolved = 0;                     // offers not held yet
    bool abandoned = false;                    // its stream was replaced, or the session ended
  };
  struct OutstandingWant {                    // a ChangeWant we sent, waiting for its WantReply
    std::map<std::string, std::string> keys;  // DocName → PendingStates key, not answered yet
    std::weak_ptr<InboundBatch> batch;        // the batch whose offers it fetches
  };
  struct Inbound {  // our stream of the peer's feed
    uint64_t stream_id = 0;
    bool active = false;
    std::string epoch;        // the peer's store epoch
    uint64_t checkpoint = 0;  // merged (and persisted) through
  };

  void OnFrame(std::string bytes);
  void OnConnectionClosed(const Status& why);
  void OnHello(const v1::Frame& frame);
  void FailHandshake(const std::string& reason, const std::string& detail);
  void RequestStream();
  void OnSyncRequest(const v1::Frame& frame);
  void OnChangeBatch(v1::Frame& frame);
  // Holds `in` until every offer in it is held, then merges batches in order.
  void DrainInbound();
  // Merges `in` with its checkpoint (plus `extra` states that resolve `extra_keys`, in the same
  // transaction); `in` must be the head of the queue, with nothing else to wait for.
  void SubmitBatch(InboundBatch& in, std::vector<store::RemoteChange> extra = {},
                   std::vector<std::string> extra_keys = {});
  void OnBatchMerged(uint64_t stream_id, uint64_t through_seq, size_t changes, Status status,
                     const std::vector<std::string>& owned_keys);
  // An offer of `in` waits for `key` (pending here); when it fails, asks this peer.
  void WatchOffer(const std::shared_ptr<InboundBatch>& in, const std::string& key,
                  const store::DocRef& doc);
  // Merges `changes` without moving the checkpoint (a WantReply, or a waiting batch's whole
  // states); their PendingStates `keys` resolve when it is done. `what` names them in logs.
  void MergeWithoutCheckpoint(std::vector<store::RemoteChange> changes,
                              std::vector<std::string> keys, const char* what);
  // A batch that has to wait for its turn merges its whole states ahead of its checkpoint.
  void MergeAhead(InboundBatch& in);
  // A batch with nothing left to merge, every earlier merge committed: acknowledged at once; its
  // checkpoint is written with the stream's next merge or by FlushCheckpoint a second later.
  void DeferCheckpoint(uint64_t stream_id, uint64_t through);
  void FlushCheckpoint();
  void SendWant(const std::shared_ptr<InboundBatch>& in, std::vector<store::DocRef> docs,
                std::vector<std::string> keys);
  void OnWant(const v1::Frame& frame);
  void OnWantReply(v1::Frame& frame);
  // The session an offer's source hint names, when its copy of the state can be expected.
  std::shared_ptr<ReplicationSession> ExpectedSource(const std::string& hint);
  // Waits a moment for `source`'s copy of `key` before the offer is fetched.
  void Expect(const std::string& key, const ReplicationSession& source);
  void OnExpectTimer();
  // Queued batches and outstanding wants end (stream replaced, paused, or session over).
  void AbandonInbound();
  PendingStates& pending() {
    return env_.pending_states != nullptr ? *env_.pending_states : own_pending_;
  }
  void OnBatchAck(const v1::Frame& frame);
  void Pump();
  // Reads the next page of lane `lane` and sends it; false when the lane had nothing to send.
  bool SendFromLane(size_t lane, uint64_t head, bool* failed);
  // Documents are on: the peer asked for our feed and sync is active.
  bool DocumentsFlowing() const;
  // What has data now, for the scheduler.
  std::vector<SendUnit> ReadyUnits();
  // Sends one piece of the oldest serve of `priority_class`; false when none could go.
  bool SendPiece(int priority_class);
  void OnBlobAck();
  void SendBatch(std::vector<store::FeedEntry> entries, uint64_t head);
  // Moves the held offers (held_offers_) into `batch`; returns how many.
  size_t AppendHeldOffers(v1::ChangeBatch* batch);
  uint64_t LowWatermark() const;
  void SendFrame(const v1::Frame& frame);
  void ArmKeepalive();
  void OnKeepaliveTimer();
  // The link is dead: ends the session now (the connection closes in the background).
  void DeclareDead(Clock::TimePoint now);

  boost::asio::io_context& io_;
  const SessionEnvironment& env_;
  std::shared_ptr<MeshConnection> connection_;
  Callbacks callbacks_;
  const uint64_t serial_;
  std::unique_ptr<Timer> handshake_timer_;
  std::unique_ptr<Timer> keepalive_timer_;

  bool started_ = false;
  bool established_ = false;
  bool closed_ = false;
  bool sync_active_ = false;
  std::string handshake_failure_;
  std::string peer_node_id_;
  std::string peer_epoch_;
  uint64_t peer_last_seq_ = 0;
  uint64_t next_stream_id_ = 1;
  uint64_t ping_nonce_ = 0;
  Outbound out_;
  SendWindow send_window_;
  LinkScheduler scheduler_;
  std::map<uint64_t, Serve> serves_;  // by request id
  uint32_t peer_blob_protocol_ = 0;
  bool peer_accepts_attachments_ = false;
  Inbound in_;
  LinkLiveness liveness_;
  Clock::TimePoint keepalive_due_;  // when the keepalive timer was meant to fire
  uint64_t bytes_seen_ = 0;         // wire_bytes_received at the last look
  Clock::TimePoint last_progress_;  // inbound: last merge or stream request
  uint32_t merges_pending_ = 0;
  Clock::TimePoint last_sent_;
  uint32_t peer_protocol_ = 1;  // highest version both sides speak
  uint64_t peer_tag_ = 0;       // NodeTagOfEndpoint(peer_endpoint_id())
  std::deque<std::shared_ptr<InboundBatch>> inbound_;
  std::map<uint64_t, OutstandingWant> wants_;  // by request id
  uint64_t next_want_id_ = 1;
  PendingStates own_pending_;
  struct Expectation {
    std::string key;
    uint64_t owner = 0;
  };
  std::multimap<Clock::TimePoint, Expectation> expected_;  // by deadline
  std::unique_ptr<Timer> expect_timer_;
  // Checkpoints of batches that carried nothing to merge (every offered state already held) are
  // written at most once a second (DeferCheckpoint); what was written last, and when.
  std::unique_ptr<Timer> checkpoint_timer_;
  bool checkpoint_flush_armed_ = false;
  uint64_t checkpoint_written_ = 0;
  Clock::TimePoint checkpoint_written_at_{};
  // States sent ahead on this stream (SendAhead), DocName → StateDigest, until our feed reaches
  // them; cleared with a new stream, and when it reaches kMaxSentAhead (a state merged here
  // without a feed entry of its own leaves one behind; a cleared one is only sent twice).
  std::map<std::string, std::string> sent_ahead_;
  // Offers held back while a batch is in flight (SendBatch), sent with the next batch.
  std::unique_ptr<v1::Frame> held_offers_;
};

}  // namespace peat::mesh

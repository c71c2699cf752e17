#include "mesh/replication_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>

#include "common/endpoint_id.h"
#include "mesh/blob_frames.h"
#include "mesh/state_digest.h"
#include "peat/mesh/v1/mesh.pb.h"

namespace peat::mesh {

namespace {

std::atomic<uint64_t> g_next_serial{1};

// An offer's source hint: this many leading hex digits of an endpoint id.
constexpr size_t kSourceHintChars = 16;
// How long the checkpoint of batches with nothing to merge may stay unwritten (DeferCheckpoint).
constexpr auto kCheckpointWriteInterval = std::chrono::seconds(1);

// The least time an offered state is expected from its tree parent before it is fetched (Expect).
constexpr std::chrono::milliseconds kMinPatience{200};

// Bound of ReplicationSession::sent_ahead_.
constexpr size_t kMaxSentAhead = 4096;

// A document's name inside one want (collection and id cannot hold NUL).
std::string DocName(const std::string& collection, const std::string& doc_id) {
  std::string name = collection;
  name.push_back('\0');
  name += doc_id;
  return name;
}

}  // namespace

ReplicationSession::ReplicationSession(boost::asio::io_context& io, const SessionEnvironment& env,
                                       std::shared_ptr<MeshConnection> connection,
                                       Callbacks callbacks)
    : io_(io),
      env_(env),
      connection_(std::move(connection)),
      callbacks_(std::move(callbacks)),
      serial_(g_next_serial.fetch_add(1)),
      handshake_timer_(env.clock->MakeTimer(io)),
      keepalive_timer_(env.clock->MakeTimer(io)),
      send_window_([&env] {
        SendWindowOptions o = env.options.send_window;
        o.max_batch_bytes = env.options.batch_max_bytes;
        return o;
      }()),
      scheduler_(env.lanes.front().priority_class),
      liveness_(env.options.liveness, env.clock->Now()),
      expect_timer_(env.clock->MakeTimer(io)),
      checkpoint_timer_(env.clock->MakeTimer(io)) {}

ReplicationSession::~ReplicationSession() = default;

const std::string& ReplicationSession::dialer_endpoint_id() const {
  return connection_->is_dialer() ? env_.endpoint_id : connection_->peer_endpoint_id();
}

void ReplicationSession::Start(bool sync_active) {
  if (started_) return;
  started_ = true;
  sync_active_ = sync_active;
  last_sent_ = env_.clock->Now();
  liveness_ = LinkLiveness(env_.options.liveness, last_sent_);
  std::weak_ptr<ReplicationSession> weak = weak_from_this();
  connection_->Start(
      [weak](std::string frame) {
        if (auto self = weak.lock()) self->OnFrame(std::move(frame));
      },
      [weak](const Status& why) {
        if (auto self = weak.lock()) self->OnConnectionClosed(why);
      });

  // Hello: our proof of the shared key, bound to this TLS session and both endpoint ids.
  const std::string& dialer = dialer_endpoint_id();
  const std::string& listener =
      connection_->is_dialer() ? connection_->peer_endpoint_id() : env_.endpoint_id;
  const FormationRole role =
      connection_->is_dialer() ? FormationRole::kDialer : FormationRole::kListener;
  auto proof = env_.formation_key->Prove(role, connection_->channel_binding(), dialer, listener);
  if (!proof.ok()) {
    FailHandshake("protocol", proof.status().message());
    return;
  }
  v1::Frame frame;
  auto* hello = frame.mutable_hello();
  hello->set_protocol_version(kMeshProtocolVersion);
  hello->set_min_protocol_version(kMeshMinProtocolVersion);
  hello->set_app_id_hash(env_.app_id_hash.data(), env_.app_id_hash.size());
  hello->set_proof(proof->data(), proof->size());
  hello->set_node_id(env_.node_id);
  hello->set_store_epoch(env_.store->Epoch());
  hello->set_last_seq(env_.store->LastSeq());
  hello->set_accepts_attachments(env_.accepts_attachments);
  hello->set_blob_protocol(env_.blob_handler != nullptr ? kBlobProtocol : 0);
  SendFrame(frame);

  handshake_timer_->Arm(env_.options.handshake_timeout, [weak](bool expired) {
    if (!expired) return;
    auto self = weak.lock();
    if (self && !self->established_ && !self->closed_) {
      self->FailHandshake("timeout", "no Hello within the handshake timeout");
    }
  });
}

void ReplicationSession::SendFrame(const v1::Frame& frame) {
  if (closed_) return;
  connection_->Send(frame.SerializeAsString());
  last_sent_ = env_.clock->Now();
}

void ReplicationSession::Close(const std::string& reason) {
  if (closed_) return;
  v1::Frame bye;
  bye.mutable_goodbye()->set_reason(reason);
  SendFrame(bye);
  connection_->Close(reason);
}

void ReplicationSession::OnConnectionClosed(const Status& why) {
  if (closed_) return;
  closed_ = true;
  handshake_timer_->Cancel();
  keepalive_timer_->Cancel();
  AbandonInbound();
  auto self = shared_from_this();
  if (callbacks_.on_closed) callbacks_.on_closed(self, why, handshake_failure_);
}

void ReplicationSession::FailHandshake(const std::string& reason, const std::string& detail) {
  if (closed_ || !handshake_failure_.empty()) return;
  handshake_failure_ = reason;
  env_.counters->HandshakeFailed(reason);
  spdlog::warn("mesh handshake failed: reason={} peer={} addr={} ({}): {}", reason,
               ShortEndpointId(connection_->peer_endpoint_id()), connection_->remote_address(),
               connection_->is_dialer() ? "outbound" : "inbound", detail);
  Close(reason);
}

void ReplicationSession::OnFrame(std::string bytes) {
  if (closed_) return;
  liveness_.OnContact(env_.clock->Now());
  bytes_seen_ = connection_->wire_bytes_received();  // this frame's bytes are not news later
  v1::Frame frame;
  if (!frame.ParseFromString(bytes)) {
    env_.counters->bad_frames.Inc();
    if (!established_) {
      FailHandshake("protocol", "undecodable frame");
    } else {
      spdlog::warn("mesh peer {}: undecodable frame ({} bytes); closing",
                   ShortEndpointId(peer_endpoint_id()), bytes.size());
      Close("protocol");
    }
    return;
  }
  if (!established_) {
    if (frame.has_hello()) {
      OnHello(frame);
    } else if (frame.has_goodbye()) {
      // The peer refused us; our own check of its Hello would have said why, but it never came.
      FailHandshake(frame.goodbye().reason().empty() ? "refused" : frame.goodbye().reason(),
                    "the peer refused the handshake");
    } else {
      env_.counters->bad_frames.Inc();
      FailHandshake("protocol", "first frame is not Hello");
    }
    return;
  }
  if (IsBlobFrame(frame)) {
    Status checked = env_.blob_handler == nullptr
                         ? FailedPreconditionError("this node serves no blob frames")
                         : CheckBlobFrame(frame);
    if (!checked.ok()) {
      env_.counters->blob_bad_frames.Inc();
      spdlog::debug("mesh peer {}: blob frame dropped: {}", ShortEndpointId(peer_endpoint_id()),
                    checked.message());
      return;
    }
    if (frame.has_blob_ack()) {
      OnBlobAck();
    } else if (frame.has_blob_cancel()) {
      serves_.erase(frame.blob_cancel().request_id());
    } else {
      env_.blob_handler->OnBlobFrame(shared_from_this(), frame);
    }
    return;
  }
  switch (frame.body_case()) {
    case v1::Frame::kSyncRequest:
      OnSyncRequest(frame);
      break;
    case v1::Frame::kChanges:
      OnChangeBatch(frame);
      break;
    case v1::Frame::kAck:
      OnBatchAck(frame);
      break;
    case v1::Frame::kWant:
      OnWant(frame);
      break;
    case v1::Frame::kWantReply:
      OnWantReply(frame);
      break;
    case v1::Frame::kRouteAdvert: {
      if (!env_.routes || !env_.route_advert) break;  // no trees here: ignored
      const auto& advert = frame.route_advert();
      if (static_cast<size_t>(advert.routes_size()) > kMaxAdvertRoutes) {
        env_.counters->bad_frames.Inc();
        spdlog::warn("mesh peer {}: RouteAdvert of {} routes ignored",
                     ShortEndpointId(peer_endpoint_id()), advert.routes_size());
        break;
      }
      std::vector<RelayRoute> routes;
      routes.reserve(advert.routes_size());
      for (const auto& r : advert.routes()) routes.push_back({r.origin(), r.hops(), r.parent()});
      env_.route_advert(shared_from_this(), std::move(routes));
      break;
    }
    case v1::Frame::kPing: {
      peer_last_seq_ = std::max(peer_last_seq_, frame.ping().last_seq());
      v1::Frame pong;
      pong.mutable_pong()->set_nonce(frame.ping().nonce());
      SendFrame(pong);
      break;
    }
    case v1::Frame::kPong:
      liveness_.OnPong(frame.pong().nonce(), env_.clock->Now());
      break;
    case v1::Frame::kGoodbye:
      spdlog::info("mesh peer {} said goodbye: {}", ShortEndpointId(peer_endpoint_id()),
                   frame.goodbye().reason());
      connection_->Close("peer said goodbye: " + frame.goodbye().reason());
      break;
    default:
      env_.counters->bad_frames.Inc();
      spdlog::warn("mesh peer {}: unexpected frame kind {}; closing",
                   ShortEndpointId(peer_endpoint_id()), static_cast<int>(frame.body_case()));
      Close("protocol");
      break;
  }
}

void ReplicationSession::OnHello(const v1::Frame& frame) {
  const auto& hello = frame.hello();
  if (hello.protocol_version() < kMeshMinProtocolVersion ||
      hello.min_protocol_version() > kMeshProtocolVersion) {
    FailHandshake("protocol", "no common protocol version (peer speaks " +
                                  std::to_string(hello.min_protocol_version()) + ".." +
                                  std::to_string(hello.protocol_version()) + ")");
    return;
  }
  if (hello.app_id_hash() !=
      std::string_view(reinterpret_cast<const char*>(env_.app_id_hash.data()),
                       env_.app_id_hash.size())) {
    FailHandshake("app_id_mismatch", "the peer belongs to another formation (--app-id)");
    return;
  }
  const std::string& dialer = dialer_endpoint_id();
  const std::string& listener =
      connection_->is_dialer() ? connection_->peer_endpoint_id() : env_.endpoint_id;
  const FormationRole peer_role =
      connection_->is_dialer() ? FormationRole::kListener : FormationRole::kDialer;
  if (!env_.formation_key->Verify(peer_role, connection_->channel_binding(), dialer, listener,
                                  hello.proof())) {
    FailHandshake("bad_proof", "the peer does not prove this formation's --shared-key");
    return;
  }
  handshake_timer_->Cancel();
  established_ = true;
  peer_node_id_ = hello.node_id();
  peer_epoch_ = hello.store_epoch();
  peer_last_seq_ = hello.last_seq();
  peer_blob_protocol_ = hello.blob_protocol();
  peer_protocol_ = std::min(hello.protocol_version(), kMeshProtocolVersion);
  peer_tag_ = NodeTagOfEndpoint(peer_endpoint_id());
  peer_accepts_attachments_ = hello.accepts_attachments();
  env_.counters->sessions_established.Inc();
  ArmKeepalive();
  auto self = shared_from_this();
  if (callbacks_.on_established) callbacks_.on_established(self);
  if (closed_) return;  // e.g. closed as a duplicate by the callback
  if (sync_active_) RequestStream();
}

void ReplicationSession::SendRouteAdvert() {
  if (!established_ || closed_ || !env_.routes || peer_protocol_ < kMeshRoutesProtocolVersion) {
    return;
  }
  v1::Frame frame;
  auto* advert = frame.mutable_route_advert();
  for (const RelayRoute& r : env_.routes->AdvertFor(peer_tag_)) {
    auto* out = advert->add_routes();
    out->set_origin(r.origin);
    out->set_hops(r.hops);
    out->set_parent(r.parent);
  }
  SendFrame(frame);
}

void ReplicationSession::SetSyncActive(bool active) {
  if (sync_active_ == active) return;
  sync_active_ = active;
  if (!established_ || closed_) return;
  RequestStream();  // a new stream: active from our checkpoint, or a pause
  if (active) Pump();
}

void ReplicationSession::RequestStream() {
  AbandonInbound();  // the new stream resends from the checkpoint
  in_.stream_id = next_stream_id_++;
  in_.active = sync_active_;
  if (in_.epoch.empty()) {
    auto checkpoint = env_.store->GetCheckpoint(peer_endpoint_id());
    if (!checkpoint.ok()) {
      spdlog::warn("mesh peer {}: cannot read checkpoint ({}); closing",
                   ShortEndpointId(peer_endpoint_id()), checkpoint.status().ToString());
      Close("store error");
      return;
    }
    if (checkpoint->epoch == peer_epoch_) {
      in_.checkpoint = checkpoint->seq;
    } else {
      if (!checkpoint->epoch.empty()) {
        spdlog::info("mesh peer {}: its store epoch changed (it lost its data); resyncing from 0",
                     ShortEndpointId(peer_endpoint_id()));
      }
      in_.checkpoint = 0;
    }
    in_.epoch = peer_epoch_;
  }
  last_progress_ = env_.clock->Now();
  v1::Frame frame;
  auto* req = frame.mutable_sync_request();
  req->set_stream_id(in_.stream_id);
  req->set_active(in_.active);
  req->set_epoch(in_.epoch);
  req->set_after_seq(in_.checkpoint);
  req->set_window_batches(env_.options.window_batches);
  SendFrame(frame);
}

void ReplicationSession::OnSyncRequest(const v1::Frame& frame) {
  const auto& req = frame.sync_request();
  if (req.stream_id() <= out_.stream_id && out_.requested) return;  // stale
  out_.requested = true;
  out_.stream_id = req.stream_id();
  out_.active = req.active();
  const uint64_t head = env_.store->LastSeq();
  // A checkpoint of another epoch of our store, or ahead of our feed (a restored backup), is
  // void: send everything.
  uint64_t after = req.epoch() == env_.store->Epoch() ? req.after_seq() : 0;
  if (after > head) after = 0;
  if (after > 0 && env_.peer_acked) env_.peer_acked(peer_endpoint_id(), after);
  out_.lane_cursor.assign(env_.lanes.size(), after);
  out_.sent_through = after;
  out_.acked = after;
  out_.window = std::clamp<uint32_t>(req.window_batches(), 1, 64);
  send_window_.Reset();
  sent_ahead_.clear();  // the new stream starts from the peer's checkpoint: send them again
  held_offers_.reset();
  Pump();
}

void ReplicationSession::OnFeedAdvanced() {
  if (established_ && !closed_) Pump();
}

bool ReplicationSession::OutboundCaughtUp() const {
  if (!established_ || closed_) return true;
  if (!out_.requested || !out_.active || !sync_active_) return true;
  return send_window_.in_flight_batches() == 0 && out_.acked >= env_.store->LastSeq();
}

uint64_t ReplicationSession::LowWatermark() const {
  return *std::min_element(out_.lane_cursor.begin(), out_.lane_cursor.end());
}

bool ReplicationSession::DocumentsFlowing() const {
  return sync_active_ && out_.requested && out_.active;
}

std::vector<SendUnit> ReplicationSession::ReadyUnits() {
  std::vector<SendUnit> ready;
  if (DocumentsFlowing() && send_window_.in_flight_batches(BatchKind::kFeed) < out_.window) {
    const uint64_t head = env_.store->LastSeq();
    for (size_t lane = 0; lane < env_.lanes.size(); ++lane) {
      if (out_.lane_cursor[lane] < head) {
        ready.push_back(SendUnit{env_.lanes[lane].priority_class, UnitKind::kDocument});
      }
    }
  }
  for (const auto& [id, serve] : serves_) {
    if (!serve.blocked) ready.push_back(SendUnit{serve.priority_class, UnitKind::kBlobPiece});
  }
  return ready;
}

void ReplicationSession::Pump() {
  if (closed_ || !established_) return;
  for (;;) {
    const auto order = scheduler_.Order(ReadyUnits());
    bool sent = false;
    for (const SendUnit& unit : order) {
      // Classes below the top stop at three quarters of the send window: an urgent change or
      // piece never waits behind a full window of bulk.
      if (!send_window_.CanSend(scheduler_.IsTop(unit.priority_class))) continue;
      if (unit.kind == UnitKind::kBlobPiece) {
        sent = SendPiece(unit.priority_class);
      } else {
        const uint64_t head = env_.store->LastSeq();
        for (size_t lane = 0; lane < env_.lanes.size() && !sent; ++lane) {
          if (env_.lanes[lane].priority_class != unit.priority_class) continue;
          bool failed = false;
          sent = SendFromLane(lane, head, &failed);
          if (failed) return;
        }
      }
      if (sent) {
        scheduler_.OnSent(unit);
        break;
      }
    }
    if (closed_) return;
    if (sent) continue;
    break;
  }
  // Nothing to send, but the peer's checkpoint may still move (entries skipped as echoes or sent
  // ahead, or lanes that had no rows). Such a batch waits until none is in flight: a batch with
  // changes carries the same through_seq, and the last acknowledgement of a burst sends it.
  if (!DocumentsFlowing() || send_window_.in_flight_batches() > 0 || !send_window_.CanSend(true)) {
    return;
  }
  if (LowWatermark() <= out_.sent_through) return;
  SendBatch({}, env_.store->LastSeq());
}

bool ReplicationSession::SendFromLane(size_t lane, uint64_t head, bool* failed) {
  uint64_t& cursor = out_.lane_cursor[lane];
  if (cursor >= head) return false;
  store::FeedQuery query;
  query.after_seq = cursor;
  query.upto_seq = head;
  query.max_entries = env_.options.batch_max_entries;
  query.max_bytes = send_window_.NextBatchBytes();
  query.skip_src_peer = peer_endpoint_id();
  query.collections = env_.lanes[lane].collections;
  query.exclude_collections = env_.lanes[lane].exclude;
  auto page = env_.store->ReadFeed(query);
  if (!page.ok()) {
    spdlog::warn("mesh peer {}: reading the change feed failed ({}); closing",
                 ShortEndpointId(peer_endpoint_id()), page.status().ToString());
    *failed = true;
    Close("store error");
    return false;
  }
  cursor = std::max(cursor, page->scanned_through);
  if (page->entries.empty()) return false;
  SendBatch(std::move(page->entries), head);
  return true;
}

void ReplicationSession::SendBatch(std::vector<store::FeedEntry> entries, uint64_t head) {
  v1::Frame frame;
  auto* batch = frame.mutable_changes();
  batch->set_stream_id(out_.stream_id);
  batch->set_sender_last_seq(head);
  // A state we merged from another peer (src_peer) is offered: this peer probably got it too.
  const bool offer_relayed =
      env_.options.relay_offers && peer_protocol_ >= kMeshOffersProtocolVersion;
  const bool trees = offer_relayed && env_.routes && peer_protocol_ >= kMeshRoutesProtocolVersion;
  size_t offered = 0;
  size_t sent = 0;
  for (auto& e : entries) {
    if (!sent_ahead_.empty()) {
      // Sent ahead of our merge (cut-through): the peer has this very state.
      auto ahead = sent_ahead_.find(DocName(e.collection, e.doc_id));
      if (ahead != sent_ahead_.end()) {
        const bool same = ahead->second == StateDigest(e.state);
        sent_ahead_.erase(ahead);
        if (same) continue;
      }
    }
    ++sent;
    auto* c = batch->add_changes();
    c->set_collection(std::move(e.collection));
    c->set_doc_id(std::move(e.doc_id));
    if (offer_relayed && !e.src_peer.empty()) {
      if (trees) {
        // Relay trees: whole to a peer whose parent toward the writer we are, else an offer
        // naming the writer (the peer expects its own parent's copy).
        const uint64_t writer = WriterTag(e.state);
        if (writer != 0 && env_.routes->NamesUsParent(peer_tag_, writer)) {
          c->set_state(std::move(e.state));
          continue;
        }
        c->set_digest(StateDigest(e.state));
        c->set_source(NodeTagHex(writer));
      } else {
        c->set_digest(StateDigest(e.state));
        c->set_source(e.src_peer.substr(0, kSourceHintChars));
      }
      ++offered;
    } else {
      c->set_state(std::move(e.state));
    }
  }
  // A batch with nothing whole in it (on a relay tree's links: offers, the safety net while the
  // peer expects its parent's copy, or only a checkpoint move after everything went ahead) waits
  // while another batch is in flight: it goes with the next batch, or from Pump once the last
  // one is acknowledged. Bursts of relayed changes then cost a few batches, not one per commit.
  const int held = held_offers_ ? held_offers_->changes().changes_size() : 0;
  if (sent == offered && (offered == 0 || trees) && send_window_.in_flight_batches() > 0 &&
      held + offered <= env_.options.batch_max_entries) {
    if (offered > 0) {
      if (!held_offers_) held_offers_ = std::make_unique<v1::Frame>();
      auto* keep = held_offers_->mutable_changes()->mutable_changes();
      for (auto& c : *batch->mutable_changes()) keep->Add(std::move(c));
    }
    return;
  }
  const size_t released = AppendHeldOffers(batch);
  sent += released;
  offered += released;
  // Batches are merged in order, so once this one is merged every lane is merged through its
  // cursor: the lowest cursor is a safe checkpoint for the peer.
  out_.sent_through = std::max(out_.sent_through, LowWatermark());
  batch->set_through_seq(out_.sent_through);
  env_.counters->batches_sent.Inc();
  env_.counters->changes_sent.Inc(sent - offered);
  env_.counters->offers_sent.Inc(offered);
  send_window_.OnSent(frame.ByteSizeLong(), env_.clock->Now());
  SendFrame(frame);
}

bool ReplicationSession::SendAhead(std::vector<store::RemoteChange> changes) {
  if (closed_ || !DocumentsFlowing() || peer_protocol_ < kMeshRoutesProtocolVersion ||
      send_window_.in_flight_batches(BatchKind::kAhead) >= out_.window ||
      !send_window_.CanSend(false)) {
    return false;
  }
  if (sent_ahead_.size() + changes.size() > kMaxSentAhead) sent_ahead_.clear();
  v1::Frame frame;
  auto* batch = frame.mutable_changes();
  batch->set_stream_id(out_.stream_id);
  batch->set_through_seq(out_.sent_through);  // moves no checkpoint: these are not our feed
  batch->set_sender_last_seq(env_.store->LastSeq());
  size_t sent = 0;
  for (auto& change : changes) {
    std::string digest = StateDigest(change.state);
    auto [it, fresh] = sent_ahead_.try_emplace(DocName(change.collection, change.doc_id), digest);
    if (!fresh) {
      if (it->second == digest) continue;  // sent already (two peers brought it)
      it->second = std::move(digest);
    }
    auto* c = batch->add_changes();
    c->set_collection(std::move(change.collection));
    c->set_doc_id(std::move(change.doc_id));
    c->set_state(std::move(change.state));
    ++sent;
  }
  if (sent == 0) return true;
  // Offers held back (SendBatch) ride along; the checkpoint that covers them moves later.
  const size_t offered = AppendHeldOffers(batch);
  env_.counters->batches_sent.Inc();
  env_.counters->changes_sent.Inc(sent);
  env_.counters->states_sent_ahead.Inc(sent);
  env_.counters->offers_sent.Inc(offered);
  send_window_.OnSent(frame.ByteSizeLong(), env_.clock->Now(), Flow::kDocuments, BatchKind::kAhead);
  SendFrame(frame);
  return true;
}

size_t ReplicationSession::AppendHeldOffers(v1::ChangeBatch* batch) {
  if (!held_offers_) return 0;
  auto* held = held_offers_->mutable_changes()->mutable_changes();
  const size_t count = held->size();
  for (auto& c : *held) batch->mutable_changes()->Add(std::move(c));
  held_offers_.reset();
  return count;
}

void ReplicationSession::OnBatchAck(const v1::Frame& frame) {
  const auto& ack = frame.ack();
  if (ack.stream_id() != out_.stream_id || send_window_.in_flight_batches() == 0) {
    return;  // an older stream
  }
  send_window_.OnAcked(env_.clock->Now(), Flow::kDocuments, connection_->path_queue_delay());
  if (ack.through_seq() > out_.acked) {
    out_.acked = ack.through_seq();
    if (env_.peer_acked) env_.peer_acked(peer_endpoint_id(), out_.acked);
  }
  Pump();
}

void ReplicationSession::SendBlobFrame(const v1::Frame& frame) {
  if (!established_ || !peer_blob_capable()) return;
  SendFrame(frame);
}

void ReplicationSession::ServeBlob(uint64_t request_id, const blob::BlobRoot& root,
                                   int priority_class, const blob::BlobManifest& manifest,
                                   std::vector<BlobSpan> spans) {
  if (closed_ || spans.empty()) return;
  Serve& serve = serves_[request_id];
  serve.root = root;
  serve.priority_class = priority_class;
  serve.manifest = manifest;
  serve.todo.assign(spans.begin(), spans.end());
  serve.blocked = false;
  Pump();
}

void ReplicationSession::OnBlobChunksAvailable(const blob::BlobRoot& root) {
  bool any = false;
  for (auto& [id, serve] : serves_) {
    if (serve.root == root && serve.blocked) {
      serve.blocked = false;
      any = true;
    }
  }
  if (any) Pump();
}

void ReplicationSession::FailBlockedServes(const blob::BlobRoot& root) {
  for (auto it = serves_.begin(); it != serves_.end();) {
    if (it->second.root != root || !it->second.blocked) {
      ++it;
      continue;
    }
    v1::Frame error;
    error.mutable_blob_error()->set_request_id(it->first);
    error.mutable_blob_error()->set_reason(v1::BlobError::REASON_NOT_FOUND);
    SendBlobFrame(error);
    it = serves_.erase(it);
  }
}

bool ReplicationSession::SendPiece(int priority_class) {
  for (auto it = serves_.begin(); it != serves_.end();) {
    Serve& serve = it->second;
    if (serve.priority_class != priority_class || serve.blocked) {
      ++it;
      continue;
    }
    BlobSpan& span = serve.todo.front();
    const uint32_t chunk_len = serve.manifest.ChunkLength(span.chunk);
    const size_t want = std::min<size_t>(LinkScheduler::PieceBytes(send_window_.window_bytes()),
                                         chunk_len - span.offset);
    auto data = env_.blob_store == nullptr
                    ? StatusOr<std::string>(NotFoundError("no blob store"))
                    : env_.blob_store->ReadChunk(serve.root, span.chunk, span.offset, want);
    if (!data.ok() || data->empty()) {
      if (data.ok() || data.status().code() == StatusCode::kNotFound) {
        serve.blocked = true;  // not verified yet: a fetch or relay will tell us
        ++it;
        continue;
      }
      spdlog::warn("mesh peer {}: reading blob {} chunk {} failed: {}",
                   ShortEndpointId(peer_endpoint_id()), blob::BlobToken(serve.root).substr(0, 12),
                   span.chunk, data.status().ToString());
      v1::Frame error;
      error.mutable_blob_error()->set_request_id(it->first);
      error.mutable_blob_error()->set_reason(v1::BlobError::REASON_IO);
      SendBlobFrame(error);
      it = serves_.erase(it);
      continue;
    }
    v1::Frame frame;
    auto* piece = frame.mutable_blob_piece();
    piece->set_request_id(it->first);
    piece->set_root(serve.root.data(), serve.root.size());
    piece->set_chunk(span.chunk);
    piece->set_offset(span.offset);
    const size_t bytes = data->size();
    piece->set_data(std::move(*data));
    span.offset += static_cast<uint32_t>(bytes);
    if (span.offset >= chunk_len) {
      span.offset = 0;
      if (++span.chunk >= span.end) serve.todo.pop_front();
    }
    send_window_.OnSent(frame.ByteSizeLong(), env_.clock->Now(), Flow::kBlobPieces);
    SendFrame(frame);
    if (env_.blob_handler)
      env_.blob_handler->OnPieceSent(peer_endpoint_id(), priority_class, bytes);
    if (serve.todo.empty()) serves_.erase(it);
    return true;
  }
  return false;
}

void ReplicationSession::OnBlobAck() {
  send_window_.OnAcked(env_.clock->Now(), Flow::kBlobPieces, connection_->path_queue_delay());
  Pump();
}

void ReplicationSession::OnChangeBatch(v1::Frame& frame) {
  auto* batch = frame.mutable_changes();
  peer_last_seq_ = std::max(peer_last_seq_, batch->sender_last_seq());
  // Frames of a replaced or paused stream are dropped unacknowledged: after StopSync nothing
  // more is merged, and a resumed stream starts again from the persisted checkpoint.
  if (batch->stream_id() != in_.stream_id || !in_.active) return;
  env_.counters->batches_received.Inc();
  auto in = std::make_shared<InboundBatch>();
  in->stream_id = batch->stream_id();
  in->through = batch->through_seq();
  in->changes.reserve(batch->changes_size());
  const bool dedup = env_.options.relay_offers;
  std::vector<store::DocRef> lookup;  // offers not pending here: do we hold them?
  std::vector<std::string> lookup_keys;
  std::vector<std::string> lookup_digests;
  std::vector<std::string> lookup_sources;
  std::vector<store::DocRef> claimed;  // expected from this peer, offered by it: fetch them
  std::vector<std::string> claimed_keys;
  for (auto& c : *batch->mutable_changes()) {
    if (c.state().empty() && !c.digest().empty()) {
      env_.counters->offers_received.Inc();
      if (c.digest().size() != kStateDigestBytes) {
        env_.counters->bad_frames.Inc();
        spdlog::warn("mesh peer {}: offer with a {}-byte digest ignored",
                     ShortEndpointId(peer_endpoint_id()), c.digest().size());
        continue;
      }
      std::string key = PendingStates::Key(c.collection(), c.doc_id(), c.digest());
      store::DocRef doc{std::move(*c.mutable_collection()), std::move(*c.mutable_doc_id())};
      if (pending().Claim(key, serial_)) {
        // Its copy was expected from this peer, which only offers it: ask it now.
        ++in->unresolved;
        WatchOffer(in, key, doc);
        claimed.push_back(std::move(doc));
        claimed_keys.push_back(std::move(key));
        continue;
      }
      if (pending().Contains(key)) {
        ++in->unresolved;
        WatchOffer(in, key, doc);
        continue;
      }
      if (pending().RecentlyHeld(key)) continue;  // merged here moments ago
      lookup.push_back(std::move(doc));
      lookup_keys.push_back(std::move(key));
      lookup_digests.push_back(std::move(*c.mutable_digest()));
      lookup_sources.push_back(std::move(*c.mutable_source()));
      continue;
    }
    env_.counters->changes_received.Inc();
    if (dedup)
      in->keys.push_back(PendingStates::Key(c.collection(), c.doc_id(), StateDigest(c.state())));
    in->changes.push_back(store::RemoteChange{std::move(*c.mutable_collection()),
                                              std::move(*c.mutable_doc_id()),
                                              std::move(*c.mutable_state())});
  }
  // Cut-through: our tree children get these before we have merged them.
  if (env_.relay_ahead && !in->changes.empty()) env_.relay_ahead(*this, in->changes);
  if (!claimed.empty()) SendWant(in, std::move(claimed), std::move(claimed_keys));
  if (!lookup.empty()) {
    auto states = env_.store->ReadStates(lookup);
    if (!states.ok()) {
      spdlog::warn("mesh peer {}: reading offered documents failed ({}); closing",
                   ShortEndpointId(peer_endpoint_id()), states.status().ToString());
      Close("store error");
      return;
    }
    std::vector<store::DocRef> want;
    std::vector<std::string> want_keys;
    for (size_t i = 0; i < lookup.size(); ++i) {
      if (StateDigest((*states)[i]) == lookup_digests[i]) continue;  // held already
      ++in->unresolved;
      if (auto source = ExpectedSource(lookup_sources[i])) {
        // Its copy is probably on the way (a full mesh): wait a moment before asking.
        pending().Add(lookup_keys[i], source->serial(), /*expected=*/true);
        Expect(lookup_keys[i], *source);
        WatchOffer(in, lookup_keys[i], lookup[i]);
        continue;
      }
      pending().Add(lookup_keys[i], serial_);
      WatchOffer(in, lookup_keys[i], lookup[i]);
      want.push_back(std::move(lookup[i]));
      want_keys.push_back(std::move(lookup_keys[i]));
    }
    if (!want.empty()) SendWant(in, std::move(want), std::move(want_keys));
  }
  inbound_.push_back(in);
  DrainInbound();
  // Still queued (offers not held yet, or an earlier batch waiting): merge what it carried now.
  if (!in->changes.empty() && std::find(inbound_.begin(), inbound_.end(), in) != inbound_.end()) {
    MergeAhead(*in);
  }
}

std::shared_ptr<ReplicationSession> ReplicationSession::ExpectedSource(const std::string& hint) {
  if (hint.size() != kSourceHintChars || !env_.session_by_prefix) return nullptr;
  std::shared_ptr<ReplicationSession> source;
  if (env_.routes && peer_protocol_ >= kMeshRoutesProtocolVersion) {
    // The hint names the writer: its copy comes from our parent toward it.
    if (auto parent = env_.routes->Parent(NodeTagOfEndpoint(hint))) {
      source = env_.session_by_prefix(NodeTagHex(*parent));
    }
  }
  if (!source) source = env_.session_by_prefix(hint);
  if (!source || source.get() == this || !source->established() || source->closed() ||
      !source->inbound_active()) {
    return nullptr;
  }
  return source;
}

void ReplicationSession::Expect(const std::string& key, const ReplicationSession& source) {
  using std::chrono::milliseconds;
  // At least kMinPatience: a parent that is alive and working can be that late under load (B8
  // at 48 nodes on 2 cores: a 10 ms floor fetched 0.04-0.08 of all states a second time, and the
  // fetches made the slowest nodes slower still); a parent that is gone releases its keys at
  // once (DropOwner), so the wait only delays a parent that is alive but not delivering.
  const auto srtt = source.liveness().srtt().value_or(milliseconds(20));
  const Clock::Duration patience =
      std::clamp<Clock::Duration>(2 * srtt + milliseconds(10), kMinPatience, milliseconds(1000));
  const auto due = env_.clock->Now() + patience;
  const bool earliest = expected_.empty() || due < expected_.begin()->first;
  expected_.emplace(due, Expectation{key, source.serial()});
  if (!earliest) return;
  std::weak_ptr<ReplicationSession> weak = weak_from_this();
  expect_timer_->Arm(patience, [weak](bool expired) {
    if (!expired) return;
    if (auto self = weak.lock()) self->OnExpectTimer();
  });
}

void ReplicationSession::OnExpectTimer() {
  const auto now = env_.clock->Now();
  while (!expected_.empty() && expected_.begin()->first <= now) {
    Expectation e = std::move(expected_.begin()->second);
    expected_.erase(expected_.begin());
    pending().Expire(e.key, e.owner);  // not claimed in time: the waiting batch asks its peer
  }
  if (expected_.empty() || closed_) return;
  std::weak_ptr<ReplicationSession> weak = weak_from_this();
  expect_timer_->Arm(expected_.begin()->first - now, [weak](bool expired) {
    if (!expired) return;
    if (auto self = weak.lock()) self->OnExpectTimer();
  });
}

void ReplicationSession::WatchOffer(const std::shared_ptr<InboundBatch>& in, const std::string& key,
                                    const store::DocRef& doc) {
  std::weak_ptr<ReplicationSession> weak = weak_from_this();
  pending().Watch(key, [weak, in, key, doc](bool held) {
    auto self = weak.lock();
    if (!self || in->abandoned || self->closed_) return;
    if (held) {
      --in->unresolved;
      self->DrainInbound();
      return;
    }
    // Whoever was bringing it gave up: ask our peer (unless another batch already does).
    if (self->pending().Add(key, self->serial_)) {
      self->SendWant(in, {doc}, {key});
    }
    self->WatchOffer(in, key, doc);
  });
}

void ReplicationSession::SendWant(const std::shared_ptr<InboundBatch>& in,
                                  std::vector<store::DocRef> docs, std::vector<std::string> keys) {
  const uint64_t id = next_want_id_++;
  v1::Frame frame;
  auto* want = frame.mutable_want();
  want->set_request_id(id);
  OutstandingWant& w = wants_[id];
  w.batch = in;
  for (size_t i = 0; i < docs.size(); ++i) {
    w.keys.emplace(DocName(docs[i].collection, docs[i].doc_id), std::move(keys[i]));
    auto* d = want->add_docs();
    d->set_collection(std::move(docs[i].collection));
    d->set_doc_id(std::move(docs[i].doc_id));
  }
  env_.counters->states_wanted.Inc(docs.size());
  SendFrame(frame);
}

void ReplicationSession::OnWant(const v1::Frame& frame) {
  const auto& want = frame.want();
  // At most one batch's offers are asked for at a time.
  if (want.request_id() == 0 || want.docs_size() == 0 ||
      static_cast<size_t>(want.docs_size()) > std::max<size_t>(env_.options.batch_max_entries, 1)) {
    env_.counters->bad_frames.Inc();
    spdlog::warn("mesh peer {}: ChangeWant {} for {} document(s) ignored",
                 ShortEndpointId(peer_endpoint_id()), want.request_id(), want.docs_size());
    return;
  }
  std::vector<store::DocRef> docs;
  docs.reserve(want.docs_size());
  for (const auto& d : want.docs()) docs.push_back(store::DocRef{d.collection(), d.doc_id()});
  auto states = env_.store->ReadStates(docs);
  if (!states.ok()) {
    spdlog::warn("mesh peer {}: reading wanted documents failed ({}); closing",
                 ShortEndpointId(peer_endpoint_id()), states.status().ToString());
    Close("store error");
    return;
  }
  // Frames of at most batch_max_bytes of state (the first state of a frame always goes).
  v1::Frame out;
  size_t bytes = 0;
  out.mutable_want_reply()->set_request_id(want.request_id());
  for (size_t i = 0; i < docs.size(); ++i) {
    std::string& state = (*states)[i];
    if (state.empty()) continue;  // gone (purged): the asker stops waiting for it
    auto* reply = out.mutable_want_reply();
    if (reply->changes_size() > 0 && bytes + state.size() > env_.options.batch_max_bytes) {
      SendFrame(out);
      out.Clear();
      out.mutable_want_reply()->set_request_id(want.request_id());
      reply = out.mutable_want_reply();
      bytes = 0;
    }
    bytes += state.size();
    auto* c = reply->add_changes();
    c->set_collection(std::move(docs[i].collection));
    c->set_doc_id(std::move(docs[i].doc_id));
    c->set_state(std::move(state));
    env_.counters->changes_sent.Inc();
  }
  out.mutable_want_reply()->set_last(true);
  SendFrame(out);
}

void ReplicationSession::OnWantReply(v1::Frame& frame) {
  auto* reply = frame.mutable_want_reply();
  auto it = wants_.find(reply->request_id());
  if (it == wants_.end()) return;  // its stream was replaced or paused: nothing more is merged
  OutstandingWant& w = it->second;
  std::vector<store::RemoteChange> changes;
  std::vector<std::string> keys;
  for (auto& c : *reply->mutable_changes()) {
    auto k = w.keys.find(DocName(c.collection(), c.doc_id()));
    if (k == w.keys.end() || c.state().empty()) {
      env_.counters->bad_frames.Inc();
      continue;  // not asked for (or twice): ignored
    }
    keys.push_back(std::move(k->second));
    w.keys.erase(k);
    changes.push_back(store::RemoteChange{std::move(*c.mutable_collection()),
                                          std::move(*c.mutable_doc_id()),
                                          std::move(*c.mutable_state())});
  }
  env_.counters->changes_received.Inc(changes.size());
  if (reply->last()) {
    // Documents the peer no longer holds (purged after every member saw them): nothing to wait
    // for. They resolve after the states of this frame, in the same callback.
    for (auto& [name, key] : w.keys) keys.push_back(std::move(key));
    std::shared_ptr<InboundBatch> in = w.batch.lock();
    wants_.erase(it);
    // The common case: this answer was all the head batch waited for. One transaction merges
    // both, with the checkpoint.
    if (in && !in->abandoned && !inbound_.empty() && inbound_.front() == in &&
        in->unresolved == keys.size()) {
      inbound_.pop_front();
      in->abandoned = true;  // its offers' watchers have nothing more to do
      SubmitBatch(*in, std::move(changes), std::move(keys));
      DrainInbound();
      return;
    }
  }
  if (keys.empty()) return;
  MergeWithoutCheckpoint(std::move(changes), std::move(keys), "wanted");
}

void ReplicationSession::MergeWithoutCheckpoint(std::vector<store::RemoteChange> changes,
                                                std::vector<std::string> keys, const char* what) {
  ++merges_pending_;
  std::weak_ptr<ReplicationSession> weak = weak_from_this();
  boost::asio::io_context& io = io_;
  PendingStates* pending = &this->pending();
  const size_t count = changes.size();
  env_.store->MergeRemote(
      peer_endpoint_id(), std::move(changes), store::ReplicationCheckpoint{},
      [weak, &io, pending, keys = std::move(keys), count, what](Status status) mutable {
        boost::asio::post(io, [weak, pending, keys = std::move(keys), count, status, what] {
          auto self = weak.lock();
          if (!self) return;  // its keys were dropped when it closed
          if (self->merges_pending_ > 0) --self->merges_pending_;
          self->last_progress_ = self->env_.clock->Now();
          if (!status.ok()) {
            self->env_.counters->merge_failures.Inc();
            spdlog::warn("mesh peer {}: merging {} {} state(s) failed ({}); reconnecting",
                         ShortEndpointId(self->peer_endpoint_id()), count, what, status.ToString());
            self->Close("merge failed");
          }
          for (const auto& key : keys) pending->Resolve(key, status.ok());
        });
      });
}

void ReplicationSession::MergeAhead(InboundBatch& in) {
  // Its whole states now, its checkpoint in turn: a relay tree's push must not wait for a
  // neighbour's offer of some other change (or for an earlier batch's).
  std::vector<std::string> owned;
  for (auto& key : in.keys) {
    if (pending().Add(key, serial_) || pending().Claim(key, serial_))
      owned.push_back(std::move(key));
  }
  in.keys.clear();
  std::vector<store::RemoteChange> changes = std::move(in.changes);
  in.changes.clear();
  MergeWithoutCheckpoint(std::move(changes), std::move(owned), "relayed");
}

void ReplicationSession::AbandonInbound() {
  for (auto& in : inbound_) in->abandoned = true;
  inbound_.clear();
  wants_.clear();
  expect_timer_->Cancel();
  auto expected = std::move(expected_);
  expected_.clear();
  for (auto& [due, e] : expected) pending().Expire(e.key, e.owner);
  pending().DropOwner(serial_);
}

void ReplicationSession::DrainInbound() {
  while (!inbound_.empty() && inbound_.front()->unresolved == 0) {
    std::shared_ptr<InboundBatch> in = std::move(inbound_.front());
    inbound_.pop_front();
    SubmitBatch(*in);
  }
}

void ReplicationSession::SubmitBatch(InboundBatch& in, std::vector<store::RemoteChange> extra,
                                     std::vector<std::string> extra_keys) {
  // Its states are pending until merged: an offer of one of them from another peer waits.
  std::vector<std::string> owned = std::move(extra_keys);
  for (auto& key : in.keys) {
    if (pending().Add(key, serial_) || pending().Claim(key, serial_))
      owned.push_back(std::move(key));
  }
  for (auto& c : extra) in.changes.push_back(std::move(c));
  const uint64_t stream_id = in.stream_id;
  const uint64_t through = in.through;
  const auto now = env_.clock->Now();
  if (in.changes.empty() && owned.empty() && merges_pending_ == 0 &&
      now - checkpoint_written_at_ < kCheckpointWriteInterval) {
    // Nothing to merge (its offers were held, or merged ahead) and nothing of ours in flight:
    // a transaction only for the checkpoint would cost more than the batch. A restart before
    // the flush re-reads at most a second of the peer's feed, as offers of states held.
    DeferCheckpoint(stream_id, through);
    return;
  }
  checkpoint_written_ = std::max(checkpoint_written_, through);
  checkpoint_written_at_ = now;
  ++merges_pending_;
  const size_t count = in.changes.size();
  std::weak_ptr<ReplicationSession> weak = weak_from_this();
  boost::asio::io_context& io = io_;
  env_.store->MergeRemote(
      peer_endpoint_id(), std::move(in.changes), store::ReplicationCheckpoint{in_.epoch, through},
      [weak, &io, stream_id, through, count, owned = std::move(owned)](Status status) mutable {
        boost::asio::post(io, [weak, stream_id, through, count, status, owned = std::move(owned)] {
          if (auto self = weak.lock()) {
            self->OnBatchMerged(stream_id, through, count, status, owned);
          }
        });
      });
}

void ReplicationSession::DeferCheckpoint(uint64_t stream_id, uint64_t through) {
  env_.counters->checkpoints_deferred.Inc();
  OnBatchMerged(stream_id, through, 0, Status::Ok(), {});
  if (checkpoint_flush_armed_ || closed_) return;
  checkpoint_flush_armed_ = true;
  std::weak_ptr<ReplicationSession> weak = weak_from_this();
  checkpoint_timer_->Arm(kCheckpointWriteInterval, [weak](bool expired) {
    if (!expired) return;
    if (auto self = weak.lock()) self->FlushCheckpoint();
  });
}

void ReplicationSession::FlushCheckpoint() {
  checkpoint_flush_armed_ = false;
  if (closed_ || in_.epoch.empty() || in_.checkpoint <= checkpoint_written_) return;
  checkpoint_written_ = in_.checkpoint;
  checkpoint_written_at_ = env_.clock->Now();
  const std::string peer = peer_endpoint_id();
  env_.store->MergeRemote(peer, {}, store::ReplicationCheckpoint{in_.epoch, in_.checkpoint},
                          [peer](Status status) {
                            if (status.ok()) return;  // the next batch writes it again
                            spdlog::warn("mesh peer {}: writing its checkpoint failed ({})",
                                         ShortEndpointId(peer), status.ToString());
                          });
}

void ReplicationSession::OnBatchMerged(uint64_t stream_id, uint64_t through_seq, size_t changes,
                                       Status status, const std::vector<std::string>& owned_keys) {
  if (merges_pending_ > 0) --merges_pending_;
  last_progress_ = env_.clock->Now();
  for (const auto& key : owned_keys) pending().Resolve(key, status.ok());
  if (!status.ok()) {
    env_.counters->merge_failures.Inc();
    spdlog::warn("mesh peer {}: merging a batch of {} change(s) failed ({}); reconnecting",
                 ShortEndpointId(peer_endpoint_id()), changes, status.ToString());
    Close("merge failed");
    return;
  }
  in_.checkpoint = std::max(in_.checkpoint, through_seq);
  if (closed_) return;
  v1::Frame frame;
  auto* ack = frame.mutable_ack();
  ack->set_stream_id(stream_id);
  ack->set_through_seq(through_seq);
  SendFrame(frame);
}

// The timer wakes for the next Ping, the dead-link deadline or the watchdog, whichever is first.
void ReplicationSession::ArmKeepalive() {
  const auto now = env_.clock->Now();
  const auto& o = env_.options;
  Clock::Duration delay = std::min<Clock::Duration>(o.liveness.ping_interval, o.stall_timeout / 2);
  delay = std::min(delay, last_sent_ + o.liveness.ping_interval - now);
  delay = std::min(delay, liveness_.Deadline() - now);
  delay = std::max<Clock::Duration>(delay, std::chrono::milliseconds(1));
  keepalive_due_ = now + delay;
  std::weak_ptr<ReplicationSession> weak = weak_from_this();
  keepalive_timer_->Arm(delay, [weak](bool expired) {
    if (!expired) return;
    if (auto self = weak.lock()) self->OnKeepaliveTimer();
  });
}

void ReplicationSession::OnKeepaliveTimer() {
  if (closed_) return;
  const auto now = env_.clock->Now();
  // A timer that fires late means this loop (or the whole process) was not running: that time
  // is not the peer's silence, and frames it sent meanwhile may still wait in the socket.
  constexpr auto kLateGrace = std::chrono::milliseconds(50);
  if (now - keepalive_due_ > kLateGrace) liveness_.Excuse(now - keepalive_due_ - kLateGrace, now);
  // Bytes of a frame still arriving (a large batch on a slow link) are contact too (dated now:
  // at most one timer period late).
  const uint64_t received = connection_->wire_bytes_received();
  if (received != bytes_seen_) {
    bytes_seen_ = received;
    liveness_.OnContact(now);
  }
  liveness_.SetTransportRto(connection_->path_rto());
  if (liveness_.Dead(now)) {
    DeclareDead(now);
    return;
  }
  if (in_.active && peer_last_seq_ > in_.checkpoint && merges_pending_ == 0 &&
      now - last_progress_ > env_.options.stall_timeout) {
    env_.counters->stalls.Inc();
    spdlog::warn(
        "mesh peer {}: no replication progress for {} ms (its feed at {}, our checkpoint {}); "
        "asking again",
        ShortEndpointId(peer_endpoint_id()),
        std::chrono::duration_cast<std::chrono::milliseconds>(now - last_progress_).count(),
        peer_last_seq_, in_.checkpoint);
    RequestStream();
  }
  if (now - last_sent_ >= env_.options.liveness.ping_interval) {
    v1::Frame frame;
    frame.mutable_ping()->set_nonce(++ping_nonce_);
    frame.mutable_ping()->set_last_seq(env_.store->LastSeq());
    SendFrame(frame);
    liveness_.OnPingSent(ping_nonce_, now);
  }
  ArmKeepalive();
}

void ReplicationSession::DeclareDead(Clock::TimePoint now) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto silent = duration_cast<milliseconds>(now - liveness_.last_contact()).count();
  const auto bound = duration_cast<milliseconds>(liveness_.DeadAfter()).count();
  const auto srtt = duration_cast<milliseconds>(liveness_.srtt().value_or(Clock::Duration{}));
  env_.counters->dead_links.Inc();
  spdlog::warn("mesh peer {} silent for {} ms (bound {} ms, srtt {} ms); the link is dead",
               ShortEndpointId(peer_endpoint_id()), silent, bound, srtt.count());
  const Status why =
      UnavailableError("peer silent for " + std::to_string(silent) + " ms (dead link)");
  Close("peer silent");  // Goodbye (if the peer still reads), flush and shutdown are bounded
  OnConnectionClosed(why);
}

}  // namespace peat::mesh

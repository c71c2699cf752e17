#include "mesh/blob_engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <limits>

#include "common/endpoint_id.h"
#include "mesh/blob_frames.h"
#include "peat/mesh/v1/mesh.pb.h"

namespace peat::mesh {

namespace {

// Chunk prefixes held in memory across fetches, at most.
constexpr uint64_t kHeldPieceBytes = uint64_t{64} << 20;
// Requests one peer may have us serve at once (a fetcher asks a few chunks per source).
constexpr size_t kMaxServesPerSession = 256;
constexpr auto kProgressEvery = std::chrono::milliseconds(250);  // ≤ 4 progress calls a second
// Received chunks waiting for the writer thread, at most (engine-wide): when the disk is slower
// than the link, no new chunk is asked until some are written (B10 on loopback held 53 MiB).
constexpr uint64_t kMaxPendingWrites = 16;

std::string Short(const blob::BlobRoot& root) { return blob::BlobToken(root).substr(0, 12); }

void SetRoot(std::string* field, const blob::BlobRoot& root) {
  field->assign(reinterpret_cast<const char*>(root.data()), root.size());
}

}  // namespace

BlobEngine::BlobEngine(BlobEngineOptions options, Clock& clock, boost::asio::io_context& io,
                       const std::map<std::string, SessionPtr>& established)
    : options_(std::move(options)),
      clock_(clock),
      established_(established),
      io_(io),
      stall_timer_(clock.MakeTimer(io)) {}

BlobEngine::~BlobEngine() { writer_.join(); }

BlobEngine::SessionPtr BlobEngine::Connected(const std::string& peer) const {
  auto it = established_.find(peer);
  if (it == established_.end() || it->second->closed() || !it->second->peer_blob_capable()) {
    return nullptr;
  }
  return it->second;
}

// --- Serving ---------------------------------------------------------------------------------

void BlobEngine::OnBlobFrame(const SessionPtr& session, const v1::Frame& frame) {
  switch (frame.body_case()) {
    case v1::Frame::kBlobWant:
      HandleWant(session, frame);
      break;
    case v1::Frame::kBlobManifest:
      OnManifest(session, frame.blob_manifest());
      break;
    case v1::Frame::kBlobPiece:
      OnPiece(session, frame.blob_piece());
      break;
    case v1::Frame::kBlobHave:
      OnHave(session, frame.blob_have());
      break;
    case v1::Frame::kBlobError:
      OnError(session, frame.blob_error());
      break;
    default:
      break;
  }
}

void BlobEngine::OnPieceSent(const std::string& peer, int priority_class, size_t bytes) {
  metrics_.bytes_sent[{peer, priority_class}] += bytes;
}

void BlobEngine::BadFrame() {
  if (options_.bad_frames != nullptr) options_.bad_frames->Inc();
}

void BlobEngine::SendError(const SessionPtr& session, uint64_t request_id, int reason) {
  v1::Frame frame;
  frame.mutable_blob_error()->set_request_id(request_id);
  frame.mutable_blob_error()->set_reason(static_cast<v1::BlobError::Reason>(reason));
  session->SendBlobFrame(frame);
}

void BlobEngine::HandleWant(const SessionPtr& session, const v1::Frame& frame) {
  const auto& want = frame.blob_want();
  const blob::BlobRoot root = RootFromBytes(want.root());
  if (options_.store == nullptr)
    return SendError(session, want.request_id(), v1::BlobError::REASON_NOT_FOUND);
  if (options_.serve_policy && !options_.serve_policy(root)) {
    return SendError(session, want.request_id(), v1::BlobError::REASON_CANCELLED);
  }
  auto manifest_bytes = options_.store->Manifest(root);
  if (!manifest_bytes.ok()) {
    // Relayed: answered once the relay knows the manifest. Our own fetch that has no manifest
    // yet does not hold a peer's want (two fetchers probing each other would wait forever).
    if (want.hops_left() > 0 && StartRelay(root, static_cast<int>(want.priority_class()),
                                           want.hops_left() - 1, session->peer_endpoint_id())) {
      waiters_[root].push_back(Waiter{session, frame.SerializeAsString()});
      return;
    }
    if (want.ranges_size() == 0 && !want.want_manifest()) Watch(root, *session, want.request_id());
    return SendError(session, want.request_id(), v1::BlobError::REASON_NOT_FOUND);
  }
  auto manifest = blob::ParseManifest(*manifest_bytes);
  if (!manifest.ok()) return SendError(session, want.request_id(), v1::BlobError::REASON_IO);

  if (want.ranges_size() == 0 && !want.want_manifest()) {  // a probe
    v1::Frame have;
    auto* h = have.mutable_blob_have();
    h->set_request_id(want.request_id());
    SetRoot(h->mutable_root(), root);
    if (options_.store->Has(root)) {
      h->set_complete(true);
    } else {
      auto missing = options_.store->MissingChunks(root);
      if (!missing.ok()) return SendError(session, want.request_id(), v1::BlobError::REASON_IO);
      blob::ChunkBitmap bitmap(manifest->chunk_count());
      size_t m = 0;
      for (uint64_t i = 0; i < manifest->chunk_count(); ++i) {
        if (m < missing->size() && (*missing)[m] == i) {
          ++m;
        } else {
          bitmap.Set(i);
        }
      }
      h->set_chunk_bitmap(bitmap.bytes());
      Watch(root, *session, want.request_id());
    }
    session->SendBlobFrame(have);
    return;
  }
  if (want.want_manifest()) {
    v1::Frame m;
    m.mutable_blob_manifest()->set_request_id(want.request_id());
    SetRoot(m.mutable_blob_manifest()->mutable_root(), root);
    m.mutable_blob_manifest()->set_manifest(*manifest_bytes);
    session->SendBlobFrame(m);
  }
  std::vector<BlobSpan> spans;
  for (const auto& r : want.ranges()) {
    if (r.end_chunk() > manifest->chunk_count() ||
        r.first_offset() >= manifest->ChunkLength(r.first_chunk())) {
      BadFrame();
      spdlog::debug("mesh peer {}: BlobWant range past blob {}; dropped",
                    ShortEndpointId(session->peer_endpoint_id()), Short(root));
      return;
    }
    spans.push_back(BlobSpan{r.first_chunk(), r.end_chunk(), r.first_offset()});
  }
  if (!spans.empty() && session->serving_requests() >= kMaxServesPerSession) {
    return SendError(session, want.request_id(), v1::BlobError::REASON_BUSY);
  }
  if (!spans.empty()) {
    session->ServeBlob(want.request_id(), root, static_cast<int>(want.priority_class()), *manifest,
                       std::move(spans));
  }
}

bool BlobEngine::StartRelay(const blob::BlobRoot& root, int priority_class, uint32_t hops_left,
                            const std::string& exclude) {
  if (auto it = fetches_.find(root); it != fetches_.end()) {
    // A peer we are asking ourselves gets not_found: two relays never wait for each other.
    return it->second.relay && it->second.exclude != exclude && !it->second.sources.count(exclude);
  }
  bool any = false;
  for (const auto& [peer, s] : established_) {
    if (peer != exclude && Connected(peer)) any = true;
  }
  if (!any) return false;
  Fetch& f = NewFetch(root, priority_class, hops_left);
  f.relay = true;
  f.exclude = exclude;
  spdlog::info("mesh: relaying blob {} for peer {}", Short(root), ShortEndpointId(exclude));
  ProbePeers(f);
  if (auto it = fetches_.find(root); it != fetches_.end()) CheckStuck(it->second);
  return fetches_.count(root) > 0;
}

bool BlobEngine::MakeRelayRoom(uint64_t bytes) {
  // Oldest relayed copies first; one still being fetched stays.
  for (size_t tries = relay_order_.size();
       relay_bytes_ + bytes > options_.relay_cache_bytes && tries > 0; --tries) {
    const blob::BlobRoot root = relay_order_.front();
    relay_order_.pop_front();
    if (fetches_.count(root)) {
      relay_order_.push_back(root);
      continue;
    }
    relay_bytes_ -= std::min(relay_bytes_, relayed_[root]);
    relayed_.erase(root);
    if (Status st = options_.store->Remove(root); !st.ok() && st.code() != StatusCode::kNotFound) {
      spdlog::warn("mesh: evicting relayed blob {}: {}", Short(root), st.ToString());
    }
  }
  return relay_bytes_ + bytes <= options_.relay_cache_bytes;
}

void BlobEngine::AdoptRelayed(const blob::BlobRoot& root) {
  auto it = relayed_.find(root);
  if (it == relayed_.end()) return;
  relay_bytes_ -= std::min(relay_bytes_, it->second);
  relayed_.erase(it);
  std::erase(relay_order_, root);
}

void BlobEngine::AnswerWaiters(const blob::BlobRoot& root, bool found) {
  auto it = waiters_.find(root);
  if (it == waiters_.end()) return;
  auto waiters = std::move(it->second);
  waiters_.erase(it);
  for (const auto& w : waiters) {
    auto session = w.session.lock();
    if (!session || session->closed()) continue;
    v1::Frame frame;
    frame.ParseFromString(w.want);
    if (found) {
      frame.mutable_blob_want()->set_hops_left(0);  // no second relay
      HandleWant(session, frame);
    } else {
      SendError(session, frame.blob_want().request_id(), v1::BlobError::REASON_NOT_FOUND);
    }
  }
}

void BlobEngine::NotifyChunksAvailable(const blob::BlobRoot& root) {
  for (const auto& [peer, s] : established_) s->OnBlobChunksAvailable(root);
}

void BlobEngine::FailBlockedServes(const blob::BlobRoot& root) {
  for (const auto& [peer, s] : established_) s->FailBlockedServes(root);
}

void BlobEngine::Watch(const blob::BlobRoot& root, const ReplicationSession& session,
                       uint64_t probe_id) {
  auto it = fetches_.find(root);
  if (it == fetches_.end() || it->second.relay) return;  // nothing of ours will change
  it->second.watchers[session.peer_endpoint_id()] = probe_id;
}

void BlobEngine::AnnounceHave(const Fetch& f, bool complete) {
  if (f.watchers.empty() || !f.manifest) return;
  v1::Frame frame;
  auto* have = frame.mutable_blob_have();
  SetRoot(have->mutable_root(), f.root);
  have->set_update(true);
  if (complete) {
    have->set_complete(true);
  } else {
    blob::ChunkBitmap bitmap(f.manifest->chunk_count());
    for (uint64_t c = 0; c < f.manifest->chunk_count(); ++c) {
      if (!f.todo.count(c) && !f.assigned.count(c)) bitmap.Set(c);
    }
    have->set_chunk_bitmap(bitmap.bytes());
  }
  for (const auto& [peer, probe_id] : f.watchers) {
    if (auto session = Connected(peer)) {
      have->set_request_id(probe_id);
      session->SendBlobFrame(frame);
    }
  }
}

void BlobEngine::ArmStallCheck() {
  if (stall_armed_ || fetches_.empty()) return;
  stall_armed_ = true;
  stall_timer_->Arm(options_.stall / 6, [this](bool expired) {
    if (!expired) return;
    stall_armed_ = false;
    CheckStalls();
    ArmStallCheck();
  });
}

void BlobEngine::CheckStalls() {
  const auto now = clock_.Now();
  std::vector<blob::BlobRoot> roots;
  for (auto& [root, f] : fetches_) {
    bool changed = false;
    for (auto& [peer, s] : f.sources) {
      if (s.phase == Source::Phase::kGone || now - s.last_heard < options_.stall) continue;
      const bool waiting =
          s.phase == Source::Phase::kProbing ||
          std::any_of(f.assigned.begin(), f.assigned.end(),
                      [&source = peer](const auto& a) {
                        return a.second.source == source && a.second.request_id != 0;
                      }) ||
          (f.manifest_request != 0 && requests_.count(f.manifest_request) &&
           requests_[f.manifest_request].source == peer);
      if (!waiting) continue;
      spdlog::warn("mesh peer {}: no answer for blob {} in {} s; asking elsewhere",
                   ShortEndpointId(peer), Short(root), options_.stall.count());
      s.phase = Source::Phase::kGone;
      if (f.manifest_request != 0 && requests_.count(f.manifest_request) &&
          requests_[f.manifest_request].source == peer) {
        requests_.erase(f.manifest_request);
        f.manifest_request = 0;
      }
      Unassign(f, peer, /*cancel=*/true);
      changed = true;
    }
    if (changed) roots.push_back(root);
  }
  for (const auto& root : roots) Reschedule(root);
}

// --- Fetching --------------------------------------------------------------------------------

BlobEngine::Fetch& BlobEngine::NewFetch(const blob::BlobRoot& root, int priority_class,
                                        uint32_t hops_left) {
  Fetch& f = fetches_[root];
  f.root = root;
  f.priority_class = priority_class;
  f.hops_left = hops_left;
  if (auto stored = options_.store->Manifest(root); stored.ok()) {
    (void)LoadManifest(f, *stored);
  }
  return f;
}

Status BlobEngine::LoadManifest(Fetch& f, const std::string& manifest_bytes) {
  PEAT_ASSIGN_OR_RETURN(blob::BlobManifest manifest,
                        blob::ParseManifestForRoot(manifest_bytes, f.root));
  PEAT_RETURN_IF_ERROR(options_.store->BeginPartial(manifest_bytes).status());
  PEAT_ASSIGN_OR_RETURN(std::vector<uint64_t> missing, options_.store->MissingChunks(f.root));
  f.verified_bytes = manifest.size;
  for (uint64_t c : missing) {
    f.verified_bytes -= manifest.ChunkLength(c);
    if (!f.assigned.count(c)) f.todo.insert(c);
  }
  if (options_.spread_chunks && manifest.chunk_count() > 0) {
    f.first_chunk = std::uniform_int_distribution<uint64_t>(0, manifest.chunk_count() - 1)(rng_);
  }
  f.manifest = std::move(manifest);
  return Status::Ok();
}

void BlobEngine::StartFetch(FetchId id, blob::FetchRequest request,
                            blob::BlobTransfer::ProgressFn progress,
                            blob::BlobTransfer::DoneFn done) {
  if (options_.store == nullptr) {
    return done(FailedPreconditionError("this node has no blob store"));
  }
  AdoptRelayed(request.root);  // a copy we relayed is ours now: never evicted as a relay's
  if (options_.store->Has(request.root)) {
    if (progress) progress(blob::FetchProgress{request.size, request.size, {}});
    return done(Status::Ok());
  }
  const blob::BlobRoot root = request.root;
  const bool existing = fetches_.count(root) > 0;
  Fetch& f = existing ? fetches_[root]
                      : NewFetch(root, std::clamp(request.priority_class, 1, 5), options_.hops);
  f.priority_class = std::max(f.priority_class, std::clamp(request.priority_class, 1, 5));
  f.relay = false;
  for (auto& s : request.sources) {
    if (std::find(f.listed.begin(), f.listed.end(), s) == f.listed.end()) f.listed.push_back(s);
  }
  f.subs[id] = Subscriber{std::move(progress), std::move(done), {}};
  fetch_roots_[id] = root;
  if (f.manifest && f.todo.empty() && f.assigned.empty()) {
    return Finish(root, options_.store->Complete(root, std::nullopt));
  }
  ProbePeers(f);
  Reschedule(root);
}

void BlobEngine::CancelFetch(FetchId id) {
  auto it = fetch_roots_.find(id);
  if (it == fetch_roots_.end()) return;
  const blob::BlobRoot root = it->second;
  fetch_roots_.erase(it);
  auto f = fetches_.find(root);
  if (f == fetches_.end()) return;
  auto sub = f->second.subs.find(id);
  if (sub == f->second.subs.end()) return;
  auto done = std::move(sub->second.done);
  f->second.subs.erase(sub);
  // Nobody else wants it (and no peer waits for it through us): stop asking.
  if (f->second.subs.empty() && !waiters_.count(root)) Finish(root, CancelledError("cancelled"));
  if (done) done(CancelledError("fetch cancelled"));
}

void BlobEngine::ProbePeers(Fetch& f) {
  // Listed sources first, then every other connected blob-capable peer.
  std::vector<SessionPtr> order;
  for (const auto& id : f.listed) {
    if (auto s = Connected(id)) order.push_back(s);
  }
  for (const auto& [id, s] : established_) {
    if (std::find(f.listed.begin(), f.listed.end(), id) == f.listed.end() && Connected(id)) {
      order.push_back(s);
    }
  }
  for (const auto& s : order) Probe(f, s);
}

void BlobEngine::Probe(Fetch& f, const SessionPtr& session) {
  const std::string& peer = session->peer_endpoint_id();
  if (peer == f.exclude) return;
  auto [it, inserted] = f.sources.try_emplace(peer);
  if (!inserted && it->second.phase != Source::Phase::kGone) return;
  it->second = Source{};
  it->second.listed = std::find(f.listed.begin(), f.listed.end(), peer) != f.listed.end();
  it->second.since = it->second.last_heard = clock_.Now();
  ArmStallCheck();
  v1::Frame frame;
  BeginWant(f, peer, RequestKind::kProbe, frame);
  session->SendBlobFrame(frame);
}

uint64_t BlobEngine::BeginWant(const Fetch& f, const std::string& peer, RequestKind kind,
                               v1::Frame& frame) {
  const uint64_t id = next_request_id_++;
  requests_[id] = Request{f.root, peer, kind};
  auto* want = frame.mutable_blob_want();
  want->set_request_id(id);
  SetRoot(want->mutable_root(), f.root);
  want->set_priority_class(static_cast<uint32_t>(f.priority_class));
  want->set_hops_left(f.hops_left);
  want->set_want_manifest(kind == RequestKind::kManifest);
  return id;
}

void BlobEngine::AskManifest(Fetch& f) {
  if (f.manifest || f.manifest_request != 0) return;
  // The first listed source that has it (waiting for a listed one still answering its probe),
  // else any source that has it.
  std::string best;
  for (const auto& id : f.listed) {
    auto s = f.sources.find(id);
    if (s == f.sources.end() || Banned(f, id) || !Connected(id)) continue;
    if (s->second.phase == Source::Phase::kProbing) return;
    if (s->second.phase == Source::Phase::kReady) {
      best = id;
      break;
    }
  }
  for (const auto& [peer, s] : f.sources) {
    if (!best.empty()) break;
    if (s.phase == Source::Phase::kReady && !Banned(f, peer) && Connected(peer)) best = peer;
  }
  if (best.empty()) return;
  v1::Frame frame;
  f.manifest_request = BeginWant(f, best, RequestKind::kManifest, frame);
  Connected(best)->SendBlobFrame(frame);
}

bool BlobEngine::Banned(const Fetch& f, const std::string& source) {
  auto b = bad_.find(f.root);
  if (b == bad_.end()) return false;
  auto it = b->second.banned_until.find(source);
  if (it == b->second.banned_until.end()) return false;
  if (clock_.Now() >= it->second) {
    b->second.banned_until.erase(it);
    return false;
  }
  return true;
}

bool BlobEngine::SourceHas(const Source& s, uint64_t chunk) const {
  if (s.complete) return true;
  return s.have && chunk < s.have->size() && s.have->Test(chunk);
}

void BlobEngine::ScheduleAll() {
  std::vector<blob::BlobRoot> roots;
  for (const auto& [root, f] : fetches_) roots.push_back(root);
  for (const auto& root : roots) {
    if (auto it = fetches_.find(root); it != fetches_.end()) Schedule(it->second);
  }
}

void BlobEngine::Schedule(Fetch& f) {
  if (!f.manifest) return AskManifest(f);
  if (f.todo.empty() || pending_writes_ >= kMaxPendingWrites) return;
  // Sources in use (chunks outstanding) and how many chunks each has.
  std::map<std::string, int> outstanding;
  for (const auto& [chunk, a] : f.assigned) {
    if (a.request_id != 0) ++outstanding[a.source];
  }
  // A source busy with a higher-class fetch gets no new chunks of this one.
  std::set<std::string> preempted;
  for (const auto& [root, other] : fetches_) {
    if (other.priority_class <= f.priority_class) continue;
    for (const auto& [chunk, a] : other.assigned) {
      if (a.request_id != 0) preempted.insert(a.source);
    }
  }
  std::map<std::string, std::vector<uint64_t>> asks;
  // Rarest first: chunks fewer of our sources have go first, so a source that has everything
  // (the sender) is asked for what only it has and its peers for what they share. Among equals,
  // from first_chunk on, wrapping around (receivers of one blob start at different chunks).
  std::vector<std::pair<int, uint64_t>> ranked;  // (sources that have it, position)
  ranked.reserve(f.todo.size());
  const uint64_t chunks = f.manifest->chunk_count();
  for (const uint64_t chunk : f.todo) {
    int holders = 0;
    for (const auto& [peer, s] : f.sources) {
      if (s.phase == Source::Phase::kReady && SourceHas(s, chunk)) ++holders;
    }
    ranked.emplace_back(holders, (chunk + chunks - f.first_chunk) % chunks);
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<uint64_t> order;
  order.reserve(ranked.size());
  for (const auto& [holders, position] : ranked)
    order.push_back((position + f.first_chunk) % chunks);
  // With other receivers among our sources, a complete source (the sender) gets half the chunks
  // in flight: its link is the one every receiver shares, theirs are spare (B14, §19).
  const bool swarm = std::any_of(f.sources.begin(), f.sources.end(), [](const auto& s) {
    return s.second.phase == Source::Phase::kReady && !s.second.complete;
  });
  for (const uint64_t chunk : order) {
    std::string best;
    double best_cost = std::numeric_limits<double>::max();
    for (auto& [peer, s] : f.sources) {
      if (s.phase != Source::Phase::kReady || !SourceHas(s, chunk) || preempted.count(peer) ||
          Banned(f, peer) || !Connected(peer)) {
        continue;
      }
      const int n = outstanding.count(peer) ? outstanding[peer] : 0;
      if (n >= (swarm && s.complete ? std::max(1, options_.chunks_per_source / 2)
                                    : options_.chunks_per_source)) {
        continue;
      }
      if (n == 0 && static_cast<int>(outstanding.size()) >= options_.max_sources) continue;
      // Fewest bytes outstanding relative to the source's rate (bytes per second so far).
      const double secs =
          std::max(0.001, std::chrono::duration<double>(clock_.Now() - s.since).count());
      const double rate = std::max(1.0, static_cast<double>(s.received_bytes) / secs);
      const double cost =
          static_cast<double>(s.outstanding_bytes + 1) / rate + (s.listed ? 0.0 : 1e-9);
      if (cost < best_cost) {
        best_cost = cost;
        best = peer;
      }
    }
    if (best.empty()) continue;
    if (outstanding[best]++ == 0) f.sources[best].last_heard = clock_.Now();
    const uint64_t held = pieces_.count(f.root) && pieces_[f.root].count(chunk)
                              ? pieces_[f.root][chunk].data.size()
                              : 0;
    f.sources[best].outstanding_bytes += f.manifest->ChunkLength(chunk) - held;
    asks[best].push_back(chunk);
    f.todo.erase(chunk);
  }
  for (auto& [peer, chunks] : asks) {
    v1::Frame frame;
    const uint64_t id = BeginWant(f, peer, RequestKind::kChunks, frame);
    auto* want = frame.mutable_blob_want();
    for (uint64_t chunk : chunks) {
      f.assigned[chunk] = Assigned{peer, id};
      auto* r = want->add_ranges();
      r->set_first_chunk(chunk);
      r->set_end_chunk(chunk + 1);
      if (pieces_.count(f.root) && pieces_[f.root].count(chunk)) {
        r->set_first_offset(static_cast<uint32_t>(pieces_[f.root][chunk].data.size()));
      }
    }
    Connected(peer)->SendBlobFrame(frame);
  }
}

void BlobEngine::Unassign(Fetch& f, const std::string& source, bool cancel) {
  std::set<uint64_t> cancelled;
  for (auto it = f.assigned.begin(); it != f.assigned.end();) {
    if (it->second.source != source || it->second.request_id == 0) {  // 0: being written
      ++it;
      continue;
    }
    f.todo.insert(it->first);
    cancelled.insert(it->second.request_id);
    it = f.assigned.erase(it);
  }
  if (auto s = f.sources.find(source); s != f.sources.end()) s->second.outstanding_bytes = 0;
  auto session = cancel ? Connected(source) : nullptr;
  for (uint64_t id : cancelled) {
    requests_.erase(id);
    if (session) {
      v1::Frame frame;
      frame.mutable_blob_cancel()->set_request_id(id);
      session->SendBlobFrame(frame);
    }
  }
}

void BlobEngine::CheckStuck(Fetch& f) {
  // Anything in flight (a probe, the manifest, chunks) may still make progress.
  for (const auto& [peer, s] : f.sources) {
    if (s.phase == Source::Phase::kProbing && Connected(peer)) return;
  }
  if (f.manifest_request != 0 || !f.assigned.empty()) return;
  if (!f.manifest) {
    for (const auto& [peer, s] : f.sources) {
      if (s.phase == Source::Phase::kReady && Connected(peer) && !Banned(f, peer)) return;
    }
  } else {
    if (f.todo.empty()) return;
    // Some source can take a todo chunk (it was only held back by another fetch).
    for (const auto& [peer, s] : f.sources) {
      if (s.phase != Source::Phase::kReady || Banned(f, peer) || !Connected(peer)) continue;
      for (uint64_t chunk : f.todo) {
        if (SourceHas(s, chunk)) return;
      }
    }
  }
  const auto& bad = bad_[f.root];
  if (bad.bad_chunks >= options_.bad_chunks_for_data_loss) {
    return Finish(f.root, Status(StatusCode::kDataLoss,
                                 "blob " + Short(f.root) + ": " + std::to_string(bad.bad_chunks) +
                                     " bad chunks and no trustworthy source left"));
  }
  Finish(f.root, UnavailableError("blob " + Short(f.root) + ": no connected peer can serve it"));
}

void BlobEngine::Finish(blob::BlobRoot root, Status status) {
  auto it = fetches_.find(root);
  if (it == fetches_.end()) return;
  Fetch f = std::move(it->second);
  fetches_.erase(it);
  for (auto r = requests_.begin(); r != requests_.end();) {
    if (r->second.root != root) {
      ++r;
      continue;
    }
    if (r->second.kind == RequestKind::kChunks) {
      if (auto s = Connected(r->second.source)) {
        v1::Frame frame;
        frame.mutable_blob_cancel()->set_request_id(r->first);
        s->SendBlobFrame(frame);
      }
    }
    r = requests_.erase(r);
  }
  if (status.ok()) {
    pieces_.erase(root);
    Progress(f, true);
    AnnounceHave(f, /*complete=*/true);
  }
  if (f.relay && !status.ok()) {
    spdlog::info("mesh: relay of blob {} ended: {}", Short(root), status.ToString());
  }
  for (auto& [id, sub] : f.subs) {
    fetch_roots_.erase(id);
    if (sub.done) sub.done(status);
  }
  AnswerWaiters(root, status.ok());
  if (status.ok()) {
    NotifyChunksAvailable(root);
  } else {
    FailBlockedServes(root);
  }
  ScheduleAll();  // sources held back for this fetch are free
}

void BlobEngine::Progress(Fetch& f, bool final) {
  if (!f.manifest) return;
  const auto now = clock_.Now();
  blob::FetchProgress p;
  p.verified_bytes = final ? f.manifest->size : f.verified_bytes;
  p.total_bytes = f.manifest->size;
  p.sources.assign(f.delivered.begin(), f.delivered.end());
  for (auto& [id, sub] : f.subs) {
    if (!sub.progress) continue;
    if (!final && now - sub.last_progress < kProgressEvery) continue;
    sub.last_progress = now;
    sub.progress(p);
  }
}

std::optional<blob::BlobRoot> BlobEngine::TakeRequest(uint64_t id, RequestKind kind,
                                                      const std::string& peer) {
  auto req = requests_.find(id);
  if (req == requests_.end() || req->second.kind != kind || req->second.source != peer) {
    return std::nullopt;
  }
  const blob::BlobRoot root = req->second.root;
  requests_.erase(req);
  return root;
}

void BlobEngine::Reschedule(const blob::BlobRoot& root) {
  if (auto it = fetches_.find(root); it != fetches_.end()) Schedule(it->second);
  if (auto it = fetches_.find(root); it != fetches_.end()) CheckStuck(it->second);
}

void BlobEngine::OnHave(const SessionPtr& session, const v1::BlobHave& have) {
  if (have.update()) return OnHaveUpdate(session, have);
  auto taken = TakeRequest(have.request_id(), RequestKind::kProbe, session->peer_endpoint_id());
  if (!taken) return;
  const blob::BlobRoot root = *taken;
  auto it = fetches_.find(root);
  if (it == fetches_.end() || RootFromBytes(have.root()) != root) return;
  Fetch& f = it->second;
  Source& s = f.sources[session->peer_endpoint_id()];
  s.phase = Source::Phase::kReady;
  s.complete = have.complete();
  s.since = s.last_heard = clock_.Now();
  if (!s.complete) {
    s.have.reset();
    if (f.manifest) {
      auto bitmap = blob::ChunkBitmap::FromBytes(f.manifest->chunk_count(), have.chunk_bitmap());
      if (bitmap.ok()) s.have = std::move(*bitmap);
    }
    // Without a manifest we cannot read the bitmap yet: a relay or partial source is asked for
    // the manifest and treated as complete (its missing chunks wait on its side).
    if (!f.manifest) s.complete = true;
  }
  Reschedule(root);
}

void BlobEngine::OnHaveUpdate(const SessionPtr& session, const v1::BlobHave& have) {
  const std::string& peer = session->peer_endpoint_id();
  const blob::BlobRoot root = RootFromBytes(have.root());
  auto it = fetches_.find(root);
  if (it == fetches_.end() || peer == it->second.exclude || Banned(it->second, peer)) return;
  Fetch& f = it->second;
  std::optional<blob::ChunkBitmap> bitmap;
  if (!have.complete()) {
    if (!f.manifest) return;  // its bitmap cannot be read yet; the next update can
    auto parsed = blob::ChunkBitmap::FromBytes(f.manifest->chunk_count(), have.chunk_bitmap());
    if (!parsed.ok()) return BadFrame();
    bitmap = std::move(*parsed);
  }
  auto [s, inserted] = f.sources.try_emplace(peer);
  Source& src = s->second;
  if (inserted || src.phase != Source::Phase::kReady) {
    src.listed = std::find(f.listed.begin(), f.listed.end(), peer) != f.listed.end();
    src.since = clock_.Now();
  }
  src.phase = Source::Phase::kReady;
  src.last_heard = clock_.Now();
  src.complete = have.complete();
  src.have = std::move(bitmap);
  ArmStallCheck();
  Reschedule(root);
}

void BlobEngine::OnManifest(const SessionPtr& session, const v1::BlobManifest& m) {
  auto taken = TakeRequest(m.request_id(), RequestKind::kManifest, session->peer_endpoint_id());
  if (!taken) return;
  const blob::BlobRoot root = *taken;
  auto it = fetches_.find(root);
  if (it == fetches_.end()) return;
  Fetch& f = it->second;
  f.manifest_request = 0;
  f.sources[session->peer_endpoint_id()].last_heard = clock_.Now();
  if (!f.manifest) {
    Status loaded = LoadManifest(f, m.manifest());
    if (!loaded.ok()) {
      if (loaded.code() == StatusCode::kDataLoss || loaded.code() == StatusCode::kInvalidArgument) {
        // Not the manifest of this root: that source lies.
        metrics_.bad_chunks[session->peer_endpoint_id()]++;
        bad_[root].banned_until[session->peer_endpoint_id()] = clock_.Now() + options_.ban;
        Reschedule(root);
        return;
      }
      return Finish(root, loaded);
    }
    // Partial sources' bitmaps can be read now; others stay complete.
    if (f.relay) {
      if (!MakeRelayRoom(f.manifest->size)) {
        return Finish(root, ResourceExhaustedError("relay cache full"));
      }
      relayed_[root] = f.manifest->size;
      relay_order_.push_back(root);
      relay_bytes_ += f.manifest->size;
    }
    AnswerWaiters(root, true);
  }
  auto again = fetches_.find(root);
  if (again == fetches_.end()) return;
  if (again->second.todo.empty() && again->second.assigned.empty()) {
    return Finish(root, options_.store->Complete(root, std::nullopt));
  }
  Schedule(again->second);
}

void BlobEngine::OnError(const SessionPtr& session, const v1::BlobError& error) {
  auto req = requests_.find(error.request_id());
  if (req == requests_.end() || req->second.source != session->peer_endpoint_id()) return;
  const Request r = req->second;
  requests_.erase(req);
  auto it = fetches_.find(r.root);
  if (it == fetches_.end()) return;
  Fetch& f = it->second;
  const std::string& peer = session->peer_endpoint_id();
  if (r.kind == RequestKind::kManifest) f.manifest_request = 0;
  f.sources[peer].phase = Source::Phase::kGone;
  Unassign(f, peer, /*cancel=*/true);
  Reschedule(r.root);
}

void BlobEngine::OnPiece(const SessionPtr& session, const v1::BlobPiece& piece) {
  const std::string& peer = session->peer_endpoint_id();
  const uint64_t len = piece.data().size();
  {
    // Every piece returns its credit, wanted or not: the server's window must not leak.
    v1::Frame ack;
    ack.mutable_blob_ack()->set_request_id(piece.request_id());
    ack.mutable_blob_ack()->set_bytes(len);
    session->SendBlobFrame(ack);
  }
  metrics_.bytes_received[peer] += len;
  const blob::BlobRoot root = RootFromBytes(piece.root());
  auto req = requests_.find(piece.request_id());
  auto it = fetches_.find(root);
  if (req == requests_.end() || req->second.root != root || req->second.source != peer ||
      it == fetches_.end() || !it->second.manifest) {
    metrics_.duplicate_bytes += len;  // cancelled or finished meanwhile
    return;
  }
  Fetch& f = it->second;
  if (!CheckPieceAgainst(piece, *f.manifest).ok()) {
    BadFrame();
    return;
  }
  auto assigned = f.assigned.find(piece.chunk());
  if (assigned == f.assigned.end() || assigned->second.request_id != piece.request_id()) {
    metrics_.duplicate_bytes += len;
    return;
  }
  Source& src = f.sources[peer];
  src.last_heard = clock_.Now();
  src.received_bytes += len;
  src.outstanding_bytes -= std::min(src.outstanding_bytes, len);
  HeldChunk& held = pieces_[root][piece.chunk()];
  std::string& buf = held.data;
  if (piece.offset() > buf.size()) {
    BadFrame();  // a gap: the server skipped bytes we do not hold
    return;
  }
  const uint64_t overlap = std::min<uint64_t>(len, buf.size() - piece.offset());
  metrics_.duplicate_bytes += overlap;
  const size_t before = buf.size();
  buf.append(piece.data(), overlap, std::string::npos);
  held_piece_bytes_ += buf.size() - before;
  if (buf.size() > before) held.sources.insert(peer);
  if (buf.size() < f.manifest->ChunkLength(piece.chunk())) return;

  std::string data = std::move(buf);
  std::set<std::string> sources = std::move(held.sources);
  pieces_[root].erase(piece.chunk());
  held_piece_bytes_ -= std::min<uint64_t>(held_piece_bytes_, data.size());
  // Verified, written and fsynced on the writer thread: the loop keeps serving meanwhile.
  assigned->second.request_id = 0;
  ++pending_writes_;
  const uint64_t chunk = piece.chunk();
  boost::asio::post(writer_, [this, root, chunk, peer, sources = std::move(sources),
                              data = std::move(data)]() mutable {
    Status written = options_.store->WriteChunk(root, chunk, data);
    boost::asio::post(io_, [this, root, chunk, peer, sources = std::move(sources), written] {
      OnChunkWritten(root, chunk, peer, sources, written);
    });
  });
}

void BlobEngine::OnChunkWritten(const blob::BlobRoot& root, uint64_t chunk,
                                const std::string& source, const std::set<std::string>& sources,
                                const Status& written) {
  // Below the cap again: fetches held back by it ask their next chunks (after this one's answer).
  const bool was_full = pending_writes_-- >= kMaxPendingWrites;
  struct ResumeHeldBack {
    BlobEngine* engine;
    bool resume;
    ~ResumeHeldBack() {
      if (resume) engine->ScheduleAll();
    }
  } resume{this, was_full};
  auto it = fetches_.find(root);
  auto assigned = it == fetches_.end() ? decltype(it->second.assigned.end()){}
                                       : it->second.assigned.find(chunk);
  if (it == fetches_.end() || assigned == it->second.assigned.end() ||
      assigned->second.request_id != 0 || assigned->second.source != source) {
    if (written.ok()) NotifyChunksAvailable(root);  // the fetch ended meanwhile
    return;
  }
  Fetch& f = it->second;
  f.assigned.erase(assigned);
  if (written.code() == StatusCode::kDataLoss) return OnBadChunk(f, chunk, sources);
  if (!written.ok()) return Finish(root, written);
  OnChunkVerified(f, chunk, sources);
}

void BlobEngine::OnChunkVerified(Fetch& f, uint64_t chunk, const std::set<std::string>& sources) {
  f.verified_bytes += f.manifest->ChunkLength(chunk);
  f.delivered.insert(sources.begin(), sources.end());
  const blob::BlobRoot root = f.root;
  NotifyChunksAvailable(root);
  if (!f.todo.empty() || !f.assigned.empty()) AnnounceHave(f, /*complete=*/false);
  if (f.todo.empty() && f.assigned.empty()) {
    return Finish(root, options_.store->Complete(root, std::nullopt));
  }
  Progress(f, false);
  Reschedule(root);
}

void BlobEngine::OnBadChunk(Fetch& f, uint64_t chunk, const std::set<std::string>& sources) {
  // Every source that contributed bytes is suspect (a chunk resumed from another source's prefix
  // mixes two): each is banned for this blob and its held prefixes are dropped.
  bool strike = false;
  for (const auto& source : sources) {
    spdlog::warn("mesh peer {}: bad chunk {} of blob {}; banned for this blob for {} s",
                 ShortEndpointId(source), chunk, Short(f.root), options_.ban.count());
    metrics_.bad_chunks[source]++;
    // One strike per ban: the other chunks of a burst from the same source (written before the
    // first answer came back) do not count again.
    if (!Banned(f, source)) strike = true;
    bad_[f.root].banned_until[source] = clock_.Now() + options_.ban;
  }
  if (strike) bad_[f.root].bad_chunks++;
  for (const auto& source : sources) Unassign(f, source, /*cancel=*/true);
  if (auto held = pieces_.find(f.root); held != pieces_.end()) {
    for (auto it = held->second.begin(); it != held->second.end();) {
      const bool suspect = std::any_of(it->second.sources.begin(), it->second.sources.end(),
                                       [&](const std::string& s) { return sources.count(s); });
      if (!suspect || f.assigned.count(it->first)) {  // assigned: the pieces still arrive
        ++it;
        continue;
      }
      held_piece_bytes_ -= std::min<uint64_t>(held_piece_bytes_, it->second.data.size());
      it = held->second.erase(it);
    }
  }
  f.todo.insert(chunk);
  const blob::BlobRoot root = f.root;
  Reschedule(root);
}

// --- Sessions --------------------------------------------------------------------------------

void BlobEngine::OnSessionEstablished(const SessionPtr& session) {
  if (!session->peer_blob_capable()) return;
  std::vector<blob::BlobRoot> roots;
  for (const auto& [root, f] : fetches_) roots.push_back(root);
  for (const auto& root : roots) {
    if (auto it = fetches_.find(root); it != fetches_.end()) Probe(it->second, session);
  }
}

void BlobEngine::OnSessionClosed(const SessionPtr& session) {
  const std::string peer = session->peer_endpoint_id();
  for (auto r = requests_.begin(); r != requests_.end();) {
    r = r->second.source == peer && r->second.kind != RequestKind::kChunks ? requests_.erase(r)
                                                                           : std::next(r);
  }
  std::vector<blob::BlobRoot> roots;
  for (auto& [root, f] : fetches_) {
    auto s = f.sources.find(peer);
    if (s == f.sources.end()) continue;
    s->second.phase = Source::Phase::kGone;
    Unassign(f, peer, /*cancel=*/false);
    roots.push_back(root);
  }
  for (const auto& root : roots) {
    auto it = fetches_.find(root);
    if (it == fetches_.end()) continue;
    if (it->second.manifest_request != 0 && !requests_.count(it->second.manifest_request)) {
      it->second.manifest_request = 0;
    }
    Reschedule(root);
  }
  // Bound the held prefixes: drop those of roots nobody fetches now.
  if (held_piece_bytes_ > kHeldPieceBytes) {
    for (auto it = pieces_.begin(); it != pieces_.end();) {
      if (fetches_.count(it->first)) {
        ++it;
        continue;
      }
      for (const auto& [chunk, held] : it->second) {
        held_piece_bytes_ -= std::min<uint64_t>(held_piece_bytes_, held.data.size());
      }
      it = pieces_.erase(it);
    }
  }
}

void BlobEngine::Shutdown() {
  std::vector<blob::BlobRoot> roots;
  for (const auto& [root, f] : fetches_) roots.push_back(root);
  for (const auto& root : roots) Finish(root, CancelledError("mesh stopped"));
  waiters_.clear();
  stall_timer_->Cancel();
}

BlobMetrics BlobEngine::Metrics() const {
  BlobMetrics m = metrics_;
  m.active_fetches = 0;
  for (const auto& [root, f] : fetches_) m.active_fetches += f.relay ? 0 : 1;
  return m;
}

}  // namespace peat::mesh

#include "attach/attachment_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <filesystem>
#include <future>

#include "attach/outbox_watcher.h"
#include "attach/receiver.h"
#include "attach/send_validation.h"
#include "common/endpoint_id.h"
#include "common/hex.h"
#include "crypto/random.h"

namespace peat::attach {

namespace {

// Progress-only frames of one distribution on one subscription: at most 4 a second (§9).
constexpr auto kProgressFrameInterval = std::chrono::milliseconds(250);

// Two requests are the same bundle iff they list the same files in the same order (§4:
// content_type and display_name are not part of the identity).
std::string IdentityOf(const SendRequest& request) {
  std::string out;
  for (const auto& f : request.files) {
    out += f.root_name;
    out.push_back('\0');
    out += f.relative_path;
    out.push_back('\0');
    out += std::to_string(f.size_bytes);
    out.push_back('\0');
    out += HexEncode(std::string_view(f.sha256));
    out.push_back('\n');
  }
  return out;
}

int PriorityOf(const SendRequest& request, int default_priority) {
  return request.priority >= kPriorityBulk && request.priority <= kPriorityCritical
             ? request.priority
             : default_priority;
}

std::string StatusCodeLabel(const Status& s) {
  std::string name(StatusCodeName(s.code()));
  return name;
}

// The distribution id of a document of either reserved collection.
std::string DistributionIdOf(std::string_view collection, std::string_view doc_id) {
  if (collection == kStatusCollection) {
    const size_t colon = doc_id.rfind(':');
    return std::string(colon == std::string_view::npos ? doc_id : doc_id.substr(0, colon));
  }
  return std::string(doc_id);
}

}  // namespace

class AttachmentManager::StoreListener : public store::ChangeListener {
 public:
  explicit StoreListener(AttachmentManager* manager) : manager_(manager) {}
  void OnChange(const store::ChangeEvent& event) override {
    if (!IsReservedAttachmentCollection(event.collection)) return;
    boost::asio::post(manager_->io_, [m = manager_, event] {
      if (m->stopped_) return;
      m->CountIfMalformed(event);
      m->OnDocumentChanged(event.collection, event.doc_id);
      if (m->receiver_) m->receiver_->OnDocument(event);
    });
  }

 private:
  AttachmentManager* manager_;
};

StatusOr<std::unique_ptr<AttachmentManager>> AttachmentManager::Create(AttachmentOptions options,
                                                                       Dependencies deps) {
  PEAT_ASSIGN_OR_RETURN(auto roots, OpenAttachmentRoots(options.roots));
  if (options.outbox_watch && !options.inbox.empty()) {
    // The inbox inside a watched root would send every delivered file again (an echo loop).
    std::error_code ec;
    std::filesystem::create_directories(options.inbox, ec);
    const auto inbox = std::filesystem::weakly_canonical(options.inbox, ec);
    for (const auto& [name, root] : roots) {
      const auto rel = std::filesystem::path(inbox).lexically_relative(root.path);
      if (!ec && !rel.empty() && *rel.begin() != "..") {
        return FailedPreconditionError(
            "--attachment-inbox " + options.inbox + " lies inside --attachment-root " + name + "=" +
            root.path +
            ": with --attachment-outbox-watch every delivered file would be sent again");
      }
    }
  }
  PEAT_ASSIGN_OR_RETURN(auto registry, AttachmentRegistry::Open(options.registry_path));
  return std::unique_ptr<AttachmentManager>(
      new AttachmentManager(std::move(options), deps, std::move(roots), std::move(registry)));
}

AttachmentManager::AttachmentManager(AttachmentOptions options, Dependencies deps,
                                     std::map<std::string, AttachmentRoot> roots,
                                     std::unique_ptr<AttachmentRegistry> registry)
    : options_(std::move(options)),
      deps_(deps),
      roots_(std::move(roots)),
      registry_(std::move(registry)),
      short_id_(ShortEndpointId(options_.endpoint_id)) {}

AttachmentManager::~AttachmentManager() { Stop(); }

int64_t AttachmentManager::NowMs() const {
  if (deps_.wall_clock_ms) return deps_.wall_clock_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status AttachmentManager::Start() {
  if (started_) return Status::Ok();
  started_ = true;
  if (!options_.inbox.empty()) {
    PEAT_ASSIGN_OR_RETURN(receiver_, Receiver::Create(*this));
  }
  if (options_.outbox_watch && !roots_.empty()) outbox_ = std::make_unique<OutboxWatcher>(*this);
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] { io_.run(); });
  listener_id_ = deps_.store->AddListener(std::make_shared<StoreListener>(this));

  std::promise<Status> started;
  boost::asio::post(io_, [this, &started] {
    DropUnansweredBundles();
    // Timers of running bundles, from their documents (they survive restarts).
    Status st = Status::Ok();
    auto bundles = registry_->ListBundles();
    if (!bundles.ok()) {
      st = bundles.status();
    } else {
      for (const auto& b : *bundles) {
        if (IsTerminal(b.state)) continue;
        auto handles = registry_->Handles(b.bundle_id);
        if (!handles.ok()) continue;
        for (const auto& h : *handles) {
          auto doc = LoadDistribution(h.distribution_id);
          if (doc.ok() && *doc) {
            if ((*doc)->status == DistributionDocStatus::kCancelled) {
              std::lock_guard lock(serve_mu_);
              if (auto root = blob::ParseBlobToken((*doc)->blob_root); root.ok()) {
                cancelled_roots_.insert(*root);
              }
            }
            ArmTimers(**doc);
          }
        }
        RefreshBundle(b.bundle_id);
      }
    }
    sweep_timer_ = deps_.clock->MakeTimer(io_);
    progress_timer_ = deps_.clock->MakeTimer(io_);
    WatchPeers();
    if (receiver_) receiver_->Start();  // its jobs keep their blobs from the collection below
    // Blobs nobody references any more, e.g. from an ingest a kill -9 cut short.
    CollectBlobs();
    StartQueued();
    ArmSweep();
    if (outbox_) outbox_->Start();
    started.set_value(st);
  });
  return started.get_future().get();
}

void AttachmentManager::WatchPeers() {
  if (!deps_.transfer) return;
  auto remember = [this](const blob::BlobPeerInfo& p) {
    if (p.node_id.empty() && !p.connected) return;  // registered, never met: unknown inbox
    KnownPeer k{p.endpoint_id, p.node_id, p.accepts_attachments, NowMs()};
    if (Status st = registry_->UpsertPeer(k); !st.ok()) {
      spdlog::warn("attachments: remembering peer {}: {}", ShortEndpointId(p.endpoint_id),
                   st.ToString());
    }
  };
  deps_.transfer->SetPeerEstablishedObserver([this, remember](const blob::BlobPeerInfo& p) {
    boost::asio::post(io_, [this, remember, p] {
      if (stopped_) return;
      remember(p);
      if (receiver_) receiver_->OnPeerEstablished();
    });
  });
  deps_.transfer->ListBlobPeers([this, remember](std::vector<blob::BlobPeerInfo> peers) {
    boost::asio::post(io_, [this, remember, peers = std::move(peers)] {
      if (stopped_) return;
      for (const auto& p : peers) remember(p);
    });
  });
}

void AttachmentManager::Stop() {
  if (!started_ || stopped_) return;
  if (deps_.transfer) deps_.transfer->SetPeerEstablishedObserver({});
  deps_.store->RemoveListener(listener_id_);
  std::promise<void> done;
  boost::asio::post(io_, [this, &done] {
    stopped_ = true;
    if (outbox_) outbox_->Stop();
    if (receiver_) receiver_->Stop();
    for (auto& [id, sub] : subscriptions_) sub.sink->OnEnd(UnavailableError("node is stopping"));
    subscriptions_.clear();
    timers_.clear();
    sweep_timer_.reset();
    progress_timer_.reset();
    for (auto& [id, r] : reservations_) {
      for (auto& w : r.waiters) w(UnavailableError("node is stopping"));
    }
    reservations_.clear();
    done.set_value();
  });
  done.get_future().wait();
  writes_in_flight_.WaitIdle();
  blocking_.join();  // ingests and inbox writes in progress finish (their posts are dropped)
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  receiver_.reset();
  outbox_.reset();
}

store::WriteDone AttachmentManager::ContinueOnLoop(std::function<void(Status)> then) {
  return writes_in_flight_.Track([this, then = std::move(then)](Status st) {
    boost::asio::post(io_, [then, st] { then(st); });
  });
}

// ---------------------------------------------------------------------------------------------
// Send
// ---------------------------------------------------------------------------------------------

void AttachmentManager::Send(SendRequest request, std::function<void(StatusOr<SendResult>)> done) {
  boost::asio::post(io_, [this, request = std::move(request), done = std::move(done)]() mutable {
    SendOnLoop(std::move(request), std::move(done));
  });
}

void AttachmentManager::SendOnLoop(SendRequest request,
                                   std::function<void(StatusOr<SendResult>)> done) {
  if (stopped_) return done(UnavailableError("node is stopping"));
  // Steps 1–4 (and the race-free open of each file) touch the disk: off the loop.
  boost::asio::post(
      blocking_, [this, request = std::move(request), done = std::move(done)]() mutable {
        auto files = ValidateSendRequest(request, options_.limits, roots_);
        auto shared = std::make_shared<StatusOr<std::vector<OpenedFile>>>(std::move(files));
        boost::asio::post(
            io_, [this, request = std::move(request), done = std::move(done), shared]() mutable {
              if (stopped_) return done(UnavailableError("node is stopping"));
              if (!shared->ok()) {
                CountSend(shared->status());
                return done(shared->status());
              }
              AfterValidation(std::move(request), std::move(**shared), std::move(done));
            });
      });
}

void AttachmentManager::AfterValidation(SendRequest request, std::vector<OpenedFile> files,
                                        std::function<void(StatusOr<SendResult>)> done) {
  auto fail = [this, &done](Status st) {
    CountSend(st);
    done(std::move(st));
  };
  std::string bundle_id = request.bundle_id.value_or("");
  if (bundle_id.empty()) {
    auto uuid = RandomUuidV4();
    if (!uuid.ok()) return fail(uuid.status());
    bundle_id = *uuid;
  }
  const std::string identity = IdentityOf(request);

  // Step 6's idempotent hit comes before step 5 (Q1): an identical resubmit is answered even
  // when the cap is reached. A conflicting bundle id is still step 6, after the cap.
  std::optional<Status> conflict;
  bool replace = false;
  if (auto it = reservations_.find(bundle_id); it != reservations_.end()) {
    if (it->second.identity == identity) {
      it->second.waiters.push_back(std::move(done));
      return;
    }
    conflict = AlreadyExistsError("bundle_id `" + bundle_id + "` is being sent with other files");
  } else {
    auto existing = registry_->GetBundle(bundle_id);
    if (!existing.ok()) return fail(existing.status());
    if (*existing) {
      const BundleRecord& b = **existing;
      if (b.state == TransferState::kFailed || b.state == TransferState::kCancelled) {
        replace = true;
      } else if (b.identity == identity) {
        (void)registry_->TouchBundle(bundle_id, NowMs());
        auto result = ResultOf(bundle_id);
        CountSend(result.status());
        return done(std::move(result));
      } else {
        conflict = AlreadyExistsError("bundle_id `" + bundle_id +
                                      "` already exists with other files (created at " +
                                      std::to_string(b.created_ms) + " ms since the epoch)");
      }
    }
  }

  // Step 5: the concurrency cap (with --attachment-queue-when-full the bundle waits instead).
  if (!options_.queue_when_full &&
      RunningBundles() + reservations_.size() >= options_.max_concurrent_distributions) {
    return fail(ResourceExhaustedError(
        std::to_string(RunningBundles() + reservations_.size()) +
        " bundles are still being distributed (--attachment-max-concurrent-distributions " +
        std::to_string(options_.max_concurrent_distributions) + ")"));
  }
  if (conflict) return fail(*conflict);
  // A FAILED or CANCELLED bundle is replaced: its old distribution ids become NOT_FOUND.
  if (replace) {
    if (Status st = DropBundle(bundle_id, /*delete_docs=*/true); !st.ok()) return fail(st);
  }

  Reservation& r = reservations_[bundle_id];
  r.identity = identity;
  r.waiters.push_back(std::move(done));

  // Steps 8–9: ingest every file from the descriptor that was validated.
  auto shared_files = std::make_shared<std::vector<OpenedFile>>(std::move(files));
  boost::asio::post(
      blocking_, [this, bundle_id, request = std::move(request), shared_files]() mutable {
        std::vector<blob::IngestResult> results;
        Status failure = Status::Ok();
        for (size_t i = 0; i < shared_files->size() && failure.ok(); ++i) {
          const std::string field = "files[" + std::to_string(i) + "]";
          OpenedFile& f = (*shared_files)[i];
          auto ingested = deps_.blobs->IngestFd(f.fd.get(), request.files[i].relative_path, f.st);
          if (!ingested.ok()) {
            const Status& s = ingested.status();
            failure = s.code() == StatusCode::kInvalidArgument ||
                              s.code() == StatusCode::kResourceExhausted
                          ? Status(s.code(), field + ": " + s.message())
                          : InternalError(field + ": " + s.message());
            break;
          }
          results.push_back(*ingested);
          const auto& sha = ingested->file_sha256;
          if (std::string(reinterpret_cast<const char*>(sha.data()), sha.size()) !=
              request.files[i].sha256) {
            failure = InvalidArgumentError(field +
                                           ".sha256: does not match the file's content "
                                           "(its SHA-256 is " +
                                           HexEncode(std::span<const uint8_t>(sha)) + ")");
          }
        }
        if (!failure.ok()) {
          // Only blobs this request created are removed (Q2).
          for (const auto& r : results) {
            if (!r.already_present) (void)deps_.blobs->Remove(r.root);
          }
        }
        StatusOr<std::vector<blob::IngestResult>> outcome =
            failure.ok() ? StatusOr<std::vector<blob::IngestResult>>(std::move(results)) : failure;
        boost::asio::post(io_, [this, bundle_id, request = std::move(request),
                                outcome = std::move(outcome)]() mutable {
          if (stopped_) return;
          AfterIngest(bundle_id, std::move(request), std::move(outcome));
        });
      });
}

void AttachmentManager::AfterIngest(std::string bundle_id, SendRequest request,
                                    StatusOr<std::vector<blob::IngestResult>> ingested) {
  if (!ingested.ok()) return FinishReservation(bundle_id, ingested.status());
  if (Status st = MakeRoomForBundle(); !st.ok()) return FinishReservation(bundle_id, st);

  const int64_t now = NowMs();
  BundleRecord bundle;
  bundle.bundle_id = bundle_id;
  bundle.identity = reservations_[bundle_id].identity;
  bundle.priority_class = PriorityOf(request, options_.default_priority);
  bundle.state = TransferState::kPending;
  bundle.created_ms = now;
  bundle.touched_ms = now;

  const std::vector<std::string> targets = ResolveTargets(request);
  std::vector<HandleRecord> handles;
  std::vector<DistributionDoc> docs;
  for (size_t i = 0; i < ingested->size(); ++i) {
    const auto& in = (*ingested)[i];
    const FileSpec& f = request.files[i];
    auto uuid = RandomUuidV4();
    if (!uuid.ok()) return FinishReservation(bundle_id, uuid.status());
    HandleRecord h;
    h.distribution_id = *uuid;
    h.bundle_id = bundle_id;
    h.file_index = static_cast<uint32_t>(i);
    h.blob_token = blob::BlobToken(in.root);
    h.size = in.size;
    handles.push_back(h);

    DistributionDoc d;
    d.distribution_id = h.distribution_id;
    d.bundle_id = bundle_id;
    d.file_index = h.file_index;
    d.sender_endpoint_id = options_.endpoint_id;
    d.sender_short_id = short_id_;
    d.sender_node_id = options_.node_id;
    d.blob_root = h.blob_token;
    d.blob_sha256 = HexEncode(std::string_view(f.sha256));
    d.blob_size = in.size;
    d.chunk_bytes = blob::kChunkBytes;
    d.name = f.display_name.value_or(f.relative_path);
    d.content_type = f.content_type;
    d.all_nodes = request.scope == ScopeKind::kAllNodes;
    d.declared_node_ids = request.node_ids;
    d.targets = targets;
    d.priority_class = bundle.priority_class;
    d.started_at_ms = now;
    if (options_.delivery_timeout.count() > 0) {
      // Documents carry integers below 2^53 (JSON numbers every reader keeps exactly).
      constexpr auto kMax = static_cast<int64_t>(kMaxDocInteger);
      const int64_t timeout_s = std::min<int64_t>(options_.delivery_timeout.count(), kMax / 1000);
      d.deadline_at_ms = std::min(now + timeout_s * 1000, kMax);
    }
    d.status =
        targets.empty() ? DistributionDocStatus::kFinished : DistributionDocStatus::kDistributing;
    docs.push_back(std::move(d));
  }
  if (targets.empty()) bundle.state = TransferState::kCompleted;  // nobody to wait for
  const bool queue = !targets.empty() && MustQueue();

  // The registry row first: once a document replicates, Get must find its handle.
  Status inserted = registry_->InsertBundle(bundle, handles);
  if (inserted.ok() && queue) {
    std::vector<std::pair<std::string, std::string>> waiting;
    for (const auto& d : docs) waiting.emplace_back(d.distribution_id, EncodeDistributionDoc(d));
    inserted = registry_->QueueDistributions(bundle_id, waiting, now);
    if (!inserted.ok()) (void)registry_->DeleteBundle(bundle_id);
  }
  if (!inserted.ok()) {
    for (const auto& in : *ingested) {
      if (!in.already_present) (void)deps_.blobs->Remove(in.root);
    }
    return FinishReservation(bundle_id, inserted);
  }
  if (queue) {  // PENDING until a running bundle ends (StartQueued)
    spdlog::info("attachments: bundle {} waits for a slot (--attachment-queue-when-full)",
                 bundle_id);
    return FinishReservation(bundle_id, ResultOf(bundle_id));
  }
  // Answer once every document is durable.
  auto remaining = std::make_shared<size_t>(docs.size());
  auto first_error = std::make_shared<Status>(Status::Ok());
  for (const auto& d : docs) {
    ArmTimers(d);
    deps_.store->Put(std::string(kDistributionsCollection), d.distribution_id,
                     EncodeDistributionDoc(d),
                     ContinueOnLoop([this, bundle_id, remaining, first_error](Status st) {
                       if (!st.ok() && first_error->ok()) *first_error = st;
                       if (--*remaining > 0 || stopped_) return;
                       if (!first_error->ok()) {
                         (void)DropBundle(bundle_id, /*delete_docs=*/true);
                         return FinishReservation(bundle_id, *first_error);
                       }
                       FinishReservation(bundle_id, ResultOf(bundle_id));
                     }));
  }
}

void AttachmentManager::FinishReservation(const std::string& bundle_id,
                                          const StatusOr<SendResult>& result) {
  auto it = reservations_.find(bundle_id);
  if (it == reservations_.end()) return;
  auto waiters = std::move(it->second.waiters);
  reservations_.erase(it);
  for (auto& w : waiters) {
    CountSend(result.status());
    w(result);
  }
  if (result.ok()) RefreshBundle(bundle_id);
}

StatusOr<SendResult> AttachmentManager::ResultOf(const std::string& bundle_id) {
  PEAT_ASSIGN_OR_RETURN(auto handles, registry_->Handles(bundle_id));
  SendResult out;
  out.bundle_id = bundle_id;
  for (const auto& h : handles) {
    out.handles.push_back({h.file_index, h.blob_token, h.distribution_id});
  }
  return out;
}

std::vector<std::string> AttachmentManager::ResolveTargets(const SendRequest& request) const {
  std::vector<std::string> out;
  auto peers = registry_->ListPeers();
  std::vector<KnownPeer> known = peers.ok() ? *peers : std::vector<KnownPeer>{};
  auto add = [&](std::string id) {
    if (id == short_id_ || id == options_.node_id) return;  // never ourselves
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(std::move(id));
  };
  if (request.scope == ScopeKind::kAllNodes) {
    for (const auto& p : known) {
      if (p.accepts_attachments && p.endpoint_id != options_.endpoint_id) {
        add(ShortEndpointId(p.endpoint_id));
      }
    }
    return out;
  }
  for (const auto& id : request.node_ids) {
    if (IsShortId(id)) {
      add(id);
    } else if (IsValidEndpointId(id)) {
      add(ShortEndpointId(id));
    } else {
      auto it = std::find_if(known.begin(), known.end(),
                             [&](const KnownPeer& p) { return p.node_id == id; });
      add(it != known.end() ? ShortEndpointId(it->endpoint_id) : id);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Grace and deadline
// ---------------------------------------------------------------------------------------------

void AttachmentManager::ArmTimers(const DistributionDoc& doc) {
  if (doc.status != DistributionDocStatus::kDistributing || doc.targets.empty()) return;
  const int64_t now = NowMs();
  DistributionTimers& t = timers_[doc.distribution_id];
  if (!doc.all_nodes) {
    const int64_t due = doc.started_at_ms + options_.discovery_grace.count() * 1000;
    t.grace = deps_.clock->MakeTimer(io_);
    t.grace->Arm(std::chrono::milliseconds(std::max<int64_t>(0, due - now)),
                 [this, id = doc.distribution_id](bool expired) {
                   if (expired && !stopped_) OnGraceExpired(id);
                 });
  }
  if (doc.deadline_at_ms) {
    t.deadline = deps_.clock->MakeTimer(io_);
    t.deadline->Arm(std::chrono::milliseconds(std::max<int64_t>(0, *doc.deadline_at_ms - now)),
                    [this, id = doc.distribution_id](bool expired) {
                      if (expired && !stopped_) OnDeadline(id);
                    });
  }
}

void AttachmentManager::OnGraceExpired(const std::string& distribution_id) {
  auto doc = LoadDistribution(distribution_id);
  if (!doc.ok() || !*doc || (*doc)->status != DistributionDocStatus::kDistributing) return;
  FailSilentTargets(**doc, "discovery grace expired: peer never connected",
                    /*only_silent=*/true);
}

void AttachmentManager::OnDeadline(const std::string& distribution_id) {
  auto doc = LoadDistribution(distribution_id);
  if (!doc.ok() || !*doc || (*doc)->status != DistributionDocStatus::kDistributing) return;
  FailSilentTargets(**doc, "delivery timeout", /*only_silent=*/false);
}

void AttachmentManager::FailSilentTargets(const DistributionDoc& doc, const std::string& error,
                                          bool only_silent) {
  auto statuses = LoadStatuses(doc);
  const int64_t now = NowMs();
  for (const auto& target : doc.targets) {
    auto it = statuses.find(target);
    if (only_silent && it != statuses.end()) continue;  // it showed up: served, not failed
    if (it != statuses.end() && IsTerminal(it->second.status)) continue;
    TargetStatusDoc s = it != statuses.end() ? it->second : TargetStatusDoc{};
    s.distribution_id = doc.distribution_id;
    s.node_id = target;
    s.status = TransferState::kFailed;
    s.total_bytes = doc.blob_size;
    s.error = error;
    s.updated_at_ms = now;
    deps_.store->Put(std::string(kStatusCollection), StatusDocId(doc.distribution_id, target),
                     EncodeTargetStatusDoc(s), [](Status st) {
                       if (!st.ok())
                         spdlog::warn("attachments: status write failed: {}", st.ToString());
                     });
  }
}

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

StatusOr<std::optional<DistributionDoc>> AttachmentManager::LoadDistribution(
    const std::string& distribution_id) {
  PEAT_ASSIGN_OR_RETURN(auto json,
                        deps_.store->Get(std::string(kDistributionsCollection), distribution_id));
  if (!json) return std::optional<DistributionDoc>();
  PEAT_ASSIGN_OR_RETURN(auto doc, ParseDistributionDoc(*json));
  return std::optional<DistributionDoc>(std::move(doc));
}

std::map<std::string, TargetStatusDoc> AttachmentManager::LoadStatuses(const DistributionDoc& doc) {
  std::map<std::string, TargetStatusDoc> out;
  for (const auto& target : doc.targets) {
    auto json =
        deps_.store->Get(std::string(kStatusCollection), StatusDocId(doc.distribution_id, target));
    if (!json.ok() || !*json) continue;
    auto parsed = ParseTargetStatusDoc(**json);
    if (!parsed.ok() || parsed->distribution_id != doc.distribution_id) continue;
    out.emplace(target, std::move(*parsed));
  }
  return out;
}

DistributionView AttachmentManager::ViewOf(
    const DistributionDoc& doc, const std::map<std::string, TargetStatusDoc>& statuses) const {
  DistributionView v;
  v.distribution_id = doc.distribution_id;
  v.blob_token = doc.blob_root;
  const int64_t now = NowMs();
  std::vector<TransferState> states;
  std::vector<std::string> targets = doc.targets;
  std::sort(targets.begin(), targets.end());
  for (const auto& t : targets) {
    NodeTransferView n;
    n.node_id = t;
    std::optional<std::string> error;
    if (auto it = statuses.find(t); it != statuses.end()) {
      n.status = it->second.status;
      n.bytes_transferred = std::min(it->second.progress_bytes, doc.blob_size);
      if (n.status == TransferState::kCompleted) n.bytes_transferred = doc.blob_size;
      error = it->second.error;
    }
    if (!IsTerminal(n.status)) {
      // The sender's own knowledge decides at once; the target's document follows.
      if (doc.status == DistributionDocStatus::kCancelled) {
        n.status = TransferState::kCancelled;
      } else if (doc.deadline_at_ms && now >= *doc.deadline_at_ms) {
        n.status = TransferState::kFailed;
        error = "delivery timeout";
      }
    }
    if (n.status == TransferState::kFailed && !v.error && error) v.error = error;
    v.bytes_transferred += n.bytes_transferred;
    states.push_back(n.status);
    v.per_node.push_back(std::move(n));
  }
  v.status = AggregateDistribution(states);
  v.bytes_total = doc.blob_size * std::max<uint64_t>(1, targets.size());
  if (targets.empty()) v.bytes_transferred = v.bytes_total;
  return v;
}

StatusOr<DistributionView> AttachmentManager::CurrentView(const std::string& distribution_id) {
  auto not_found = NotFoundError("distribution_id `" + distribution_id + "` not found");
  PEAT_ASSIGN_OR_RETURN(auto handle, registry_->HandleByDistribution(distribution_id));
  if (!handle) return not_found;
  PEAT_ASSIGN_OR_RETURN(auto doc, LoadDistribution(distribution_id));
  if (!doc) {
    // Waiting in the queue: every target PENDING.
    PEAT_ASSIGN_OR_RETURN(auto queued, registry_->QueuedDistributionDoc(distribution_id));
    if (!queued) return not_found;
    PEAT_ASSIGN_OR_RETURN(auto parsed, ParseDistributionDoc(*queued));
    return ViewOf(parsed, {});
  }
  return ViewOf(*doc, LoadStatuses(*doc));
}

void AttachmentManager::Get(std::string distribution_id,
                            std::function<void(StatusOr<DistributionView>)> done) {
  boost::asio::post(io_, [this, id = std::move(distribution_id), done = std::move(done)] {
    done(CurrentView(id));
  });
}

// ---------------------------------------------------------------------------------------------
// Cancel
// ---------------------------------------------------------------------------------------------

void AttachmentManager::Cancel(std::string distribution_id,
                               std::function<void(StatusOr<bool>)> done) {
  boost::asio::post(io_, [this, id = std::move(distribution_id), done = std::move(done)] {
    auto view = CurrentView(id);
    if (!view.ok()) return done(view.status());
    if (IsTerminal(view->status)) return done(false);
    auto doc = LoadDistribution(id);
    if (!doc.ok()) return done(doc.status());
    if (!*doc) {  // still queued: it is written cancelled, and skipped when its bundle starts
      auto queued = registry_->QueuedDistributionDoc(id);
      if (queued.ok() && *queued) {
        if (auto parsed = ParseDistributionDoc(**queued); parsed.ok()) {
          doc = std::optional<DistributionDoc>(std::move(*parsed));
        }
      }
    }
    if (!*doc) return done(NotFoundError("distribution_id `" + id + "` not found"));
    DistributionDoc d = **doc;
    d.status = DistributionDocStatus::kCancelled;
    d.cancelled_at_ms = NowMs();
    if (auto root = blob::ParseBlobToken(d.blob_root); root.ok()) {
      std::lock_guard lock(serve_mu_);
      cancelled_roots_.insert(*root);
    }
    timers_.erase(id);
    deps_.store->Put(std::string(kDistributionsCollection), id, EncodeDistributionDoc(d),
                     ContinueOnLoop([this, id, done](Status st) {
                       if (!st.ok()) return done(InternalError("cancel: " + st.message()));
                       if (auto h = registry_->HandleByDistribution(id); h.ok() && *h) {
                         (void)registry_->TouchBundle((*h)->bundle_id, NowMs());
                       }
                       done(true);
                     }));
  });
}

bool AttachmentManager::MayServe(const blob::BlobRoot& root) const {
  std::lock_guard lock(serve_mu_);
  return !cancelled_roots_.contains(root);
}

// ---------------------------------------------------------------------------------------------
// Subscribe
// ---------------------------------------------------------------------------------------------

uint64_t AttachmentManager::Subscribe(std::string bundle_id, std::shared_ptr<BundleSink> sink) {
  static std::atomic<uint64_t> next_id{1};
  const uint64_t id = next_id.fetch_add(1);
  boost::asio::post(io_, [this, id, bundle_id = std::move(bundle_id), sink = std::move(sink)] {
    if (stopped_) return sink->OnEnd(UnavailableError("node is stopping"));
    auto not_found = NotFoundError("bundle_id `" + bundle_id + "` not found");
    auto bundle = registry_->GetBundle(bundle_id);
    if (!bundle.ok()) return sink->OnEnd(bundle.status());
    if (!*bundle) return sink->OnEnd(not_found);
    auto handles = registry_->Handles(bundle_id);
    if (!handles.ok()) return sink->OnEnd(handles.status());
    Subscription sub;
    sub.bundle_id = bundle_id;
    sub.sink = sink;
    for (const auto& h : *handles) sub.distributions.push_back(h.distribution_id);
    // Snapshot: terminal distributions first (file_index order), then the others.
    std::vector<DistributionView> views;
    for (const auto& d : sub.distributions) {
      auto v = CurrentView(d);
      if (!v.ok()) return sink->OnEnd(v.status());
      views.push_back(std::move(*v));
    }
    for (bool terminal : {true, false}) {
      for (const auto& v : views) {
        if (IsTerminal(v.status) != terminal) continue;
        sub.last[v.distribution_id] = v;
        if (terminal) sub.terminal_sent.insert(v.distribution_id);
        if (!sink->OnFrame(ProgressFrame{v, std::nullopt})) return;
      }
    }
    if (sub.terminal_sent.size() == sub.distributions.size()) return sink->OnEnd(Status::Ok());
    subscriptions_.emplace(id, std::move(sub));
  });
  return id;
}

void AttachmentManager::Unsubscribe(uint64_t id) {
  boost::asio::post(io_, [this, id] { subscriptions_.erase(id); });
}

void AttachmentManager::EndSubscription(uint64_t id, const Status& status) {
  auto it = subscriptions_.find(id);
  if (it == subscriptions_.end()) return;
  auto sink = it->second.sink;
  subscriptions_.erase(it);
  sink->OnEnd(status);
}

bool AttachmentManager::EmitFrames(Subscription& sub, const std::string& distribution_id,
                                   const DistributionView& view) {
  if (sub.terminal_sent.contains(distribution_id)) return true;
  const DistributionView& before = sub.last[distribution_id];
  std::vector<NodeTransferView> changed;
  bool state_changed = before.status != view.status;
  for (const auto& n : view.per_node) {
    auto it = std::find_if(before.per_node.begin(), before.per_node.end(),
                           [&](const NodeTransferView& b) { return b.node_id == n.node_id; });
    if (it == before.per_node.end() || !(*it == n)) changed.push_back(n);
    if (it == before.per_node.end() || it->status != n.status) state_changed = true;
  }
  if (!state_changed) {  // progress only: at most one frame per interval, the latest
    const auto now = deps_.clock->Now();
    auto last = sub.last_progress.find(distribution_id);
    if (last != sub.last_progress.end() && now - last->second < kProgressFrameInterval) {
      sub.progress_due.insert(distribution_id);
      ArmProgressFlush();
      return true;
    }
    sub.last_progress[distribution_id] = now;
  }
  // One frame per changed target, so a subscriber sees each target's transitions; but exactly
  // one terminal frame per distribution: when the state is terminal, one frame names the last.
  if (IsTerminal(view.status) && changed.size() > 1)
    changed.erase(changed.begin(), changed.end() - 1);
  for (const auto& n : changed) {
    if (!sub.sink->OnFrame(ProgressFrame{view, n})) return false;
  }
  if (changed.empty() &&
      (before.status != view.status || before.bytes_transferred != view.bytes_transferred)) {
    if (!sub.sink->OnFrame(ProgressFrame{view, std::nullopt})) return false;
  }
  sub.last[distribution_id] = view;
  if (IsTerminal(view.status)) sub.terminal_sent.insert(distribution_id);
  return true;
}

void AttachmentManager::ArmProgressFlush() {
  if (progress_armed_ || !progress_timer_) return;
  progress_armed_ = true;
  progress_timer_->Arm(kProgressFrameInterval, [this](bool expired) {
    progress_armed_ = false;
    if (expired && !stopped_) FlushProgress();
  });
}

void AttachmentManager::FlushProgress() {
  std::vector<uint64_t> dropped;
  for (auto& [id, sub] : subscriptions_) {
    const std::set<std::string> due = std::exchange(sub.progress_due, {});
    for (const auto& d : due) {
      auto view = CurrentView(d);
      if (!view.ok()) continue;
      if (!EmitFrames(sub, d, *view)) {
        dropped.push_back(id);
        break;
      }
    }
  }
  for (uint64_t id : dropped) subscriptions_.erase(id);
}

void AttachmentManager::OnDocumentChanged(const std::string& collection,
                                          const std::string& doc_id) {
  const std::string distribution_id = DistributionIdOf(collection, doc_id);
  auto handle = registry_->HandleByDistribution(distribution_id);
  if (!handle.ok() || !*handle) return;  // not one of ours
  RefreshBundle((*handle)->bundle_id);
  std::optional<DistributionView> view;
  std::vector<uint64_t> finished, dropped;
  for (auto& [id, sub] : subscriptions_) {
    if (sub.bundle_id != (*handle)->bundle_id) continue;
    if (!view) {
      auto v = CurrentView(distribution_id);
      if (!v.ok()) return;
      view = std::move(*v);
    }
    if (!EmitFrames(sub, distribution_id, *view)) {
      dropped.push_back(id);
    } else if (sub.terminal_sent.size() == sub.distributions.size()) {
      finished.push_back(id);
    }
  }
  for (uint64_t id : dropped) subscriptions_.erase(id);
  for (uint64_t id : finished) EndSubscription(id, Status::Ok());
}

void AttachmentManager::RefreshBundle(const std::string& bundle_id) {
  auto bundle = registry_->GetBundle(bundle_id);
  if (!bundle.ok() || !*bundle) return;
  auto handles = registry_->Handles(bundle_id);
  if (!handles.ok()) return;
  std::vector<TransferState> states;
  for (const auto& h : *handles) {
    auto doc = LoadDistribution(h.distribution_id);
    if (!doc.ok() || !*doc) {
      states.push_back(TransferState::kPending);
      continue;
    }
    const DistributionView v = ViewOf(**doc, LoadStatuses(**doc));
    states.push_back(v.status);
    {
      std::lock_guard lock(metrics_mu_);
      distribution_state_[h.distribution_id] = v.status;
    }
    if (IsTerminal(v.status)) {
      timers_.erase(h.distribution_id);
      if ((*doc)->status == DistributionDocStatus::kDistributing) {
        DistributionDoc d = **doc;
        d.status = DistributionDocStatus::kFinished;
        deps_.store->Put(std::string(kDistributionsCollection), d.distribution_id,
                         EncodeDistributionDoc(d), [](Status) {});
      }
    }
  }
  auto aggregate = AggregateBundle(states);
  TransferState state = aggregate.value_or(TransferState::kInProgress);
  if (!aggregate) {
    bool any_started = false;
    for (auto s : states) any_started = any_started || s != TransferState::kPending;
    state = any_started ? TransferState::kInProgress : TransferState::kPending;
  }
  if (state != (*bundle)->state) {
    if (IsTerminal(state)) {
      // A slot frees: after the state is recorded, start what waits (posted: not re-entrant).
      boost::asio::post(io_, [this] {
        if (!stopped_) StartQueued();
      });
    }
    const bool touch = IsTerminal(state) || (*bundle)->state == TransferState::kPending;
    (void)registry_->SetBundleState(bundle_id, state, touch ? NowMs() : (*bundle)->touched_ms);
  }
}

// ---------------------------------------------------------------------------------------------
// Retention and eviction
// ---------------------------------------------------------------------------------------------

void AttachmentManager::ArmSweep() {
  const auto half = [](std::chrono::seconds s) {
    return s.count() == 0 ? std::chrono::seconds(60) : s / 2;
  };
  const auto period = std::clamp<std::chrono::seconds>(
      std::min(half(options_.handle_retention), half(options_.blob_retention)),
      std::chrono::seconds(1), std::chrono::seconds(60));
  sweep_timer_->Arm(period, [this](bool expired) {
    if (!expired || stopped_) return;
    Sweep();
    ArmSweep();
  });
}

void AttachmentManager::Sweep() {
  ExpireBundles();
  CollectBlobs();
}

void AttachmentManager::CollectBlobs() {
  // A blob being ingested is in the store before its bundle is in the registry.
  if (!reservations_.empty()) return;
  auto blobs = deps_.blobs->ListComplete();
  if (!blobs.ok()) {
    spdlog::warn("attachments: listing blobs: {}", blobs.status().ToString());
    return;
  }
  const int64_t now = NowMs();
  const int64_t keep_ms = options_.blob_retention.count() * 1000;
  for (const auto& b : *blobs) {
    const std::string token = blob::BlobToken(b.root);
    auto referenced = registry_->BlobReferenced(token);  // a retained bundle we sent
    if (!referenced.ok() || *referenced) continue;
    if (receiver_ && receiver_->UsesBlob(token)) continue;  // being delivered
    int64_t last_use = b.modified_ms;
    if (auto d = registry_->LatestDeliveryOfBlob(token); d.ok() && *d) {
      last_use = std::max(last_use, (*d)->delivered_ms);
    }
    if (keep_ms > 0 && now - last_use < keep_ms) continue;
    if (Status st = deps_.blobs->Remove(b.root); !st.ok()) {
      spdlog::warn("attachments: removing blob {}: {}", token, st.ToString());
    }
  }
}

void AttachmentManager::ExpireBundles() {
  if (options_.handle_retention.count() == 0) return;
  auto bundles = registry_->ListBundles();
  if (!bundles.ok()) return;
  const int64_t cutoff = NowMs() - options_.handle_retention.count() * 1000;
  for (const auto& b : *bundles) {
    if (IsTerminal(b.state) && b.touched_ms <= cutoff && !reservations_.contains(b.bundle_id)) {
      if (Status st = DropBundle(b.bundle_id, /*delete_docs=*/true); !st.ok()) {
        spdlog::warn("attachments: dropping expired bundle {}: {}", b.bundle_id, st.ToString());
      }
    }
  }
}

Status AttachmentManager::DropBundle(const std::string& bundle_id, bool delete_docs) {
  PEAT_ASSIGN_OR_RETURN(auto handles, registry_->Handles(bundle_id));
  for (const auto& h : handles) {
    timers_.erase(h.distribution_id);
    {
      std::lock_guard lock(metrics_mu_);
      distribution_state_.erase(h.distribution_id);
    }
    if (!delete_docs) continue;
    auto doc = LoadDistribution(h.distribution_id);
    if (doc.ok() && *doc) {
      for (const auto& t : (*doc)->targets) {
        deps_.store->Delete(std::string(kStatusCollection), StatusDocId(h.distribution_id, t),
                            [](Status) {});
      }
    }
    deps_.store->Delete(std::string(kDistributionsCollection), h.distribution_id, [](Status) {});
  }
  PEAT_RETURN_IF_ERROR(registry_->DeleteBundle(bundle_id));
  for (const auto& h : handles) {
    auto referenced = registry_->BlobReferenced(h.blob_token);
    auto root = blob::ParseBlobToken(h.blob_token);
    if (referenced.ok() && !*referenced && root.ok()) {
      (void)deps_.blobs->Remove(*root);
      std::lock_guard lock(serve_mu_);
      cancelled_roots_.erase(*root);
    }
  }
  return Status::Ok();
}

Status AttachmentManager::MakeRoomForBundle() {
  PEAT_ASSIGN_OR_RETURN(auto bundles, registry_->ListBundles());
  if (bundles.size() < options_.max_known_bundles) return Status::Ok();
  // The least recently touched terminal bundle; a running one only if none is terminal.
  const BundleRecord* victim = nullptr;
  for (bool terminal : {true, false}) {
    for (const auto& b : bundles) {
      if (IsTerminal(b.state) != terminal || reservations_.contains(b.bundle_id)) continue;
      if (!victim || b.touched_ms < victim->touched_ms) victim = &b;
    }
    if (victim) break;
  }
  if (!victim) return Status::Ok();
  if (!IsTerminal(victim->state)) {
    spdlog::warn(
        "attachments: --attachment-max-known-bundles ({}) reached with no finished bundle; "
        "evicting running bundle {}",
        options_.max_known_bundles, victim->bundle_id);
  }
  return DropBundle(victim->bundle_id, /*delete_docs=*/true);
}

std::vector<std::string> AttachmentManager::WaitingBundles() const {
  auto queued = registry_->QueuedBundles();
  std::vector<std::string> out;
  if (!queued.ok()) return out;
  for (auto& b : *queued) {
    if (!starting_.contains(b)) out.push_back(std::move(b));
  }
  return out;
}

uint64_t AttachmentManager::RunningBundles() const {
  auto bundles = registry_->ListBundles();
  if (!bundles.ok()) return 0;
  const auto waiting_list = WaitingBundles();
  const std::set<std::string> waiting(waiting_list.begin(), waiting_list.end());
  uint64_t n = 0;
  for (const auto& b : *bundles) n += IsTerminal(b.state) || waiting.contains(b.bundle_id) ? 0 : 1;
  return n;
}

bool AttachmentManager::MustQueue() const {
  if (!options_.queue_when_full) return false;
  return RunningBundles() >= options_.max_concurrent_distributions ||
         !WaitingBundles().empty();  // first in, first out
}

void AttachmentManager::StartQueued() {
  if (!options_.queue_when_full) return;
  while (RunningBundles() < options_.max_concurrent_distributions) {
    const auto waiting = WaitingBundles();
    if (waiting.empty()) return;
    const std::string bundle_id = waiting.front();
    auto docs = registry_->QueuedDocs(bundle_id);
    if (!docs.ok()) return;
    // The documents go to the store first; the queue rows go once they are durable, so a stop in
    // between publishes them again at the next start rather than losing the bundle.
    starting_.insert(bundle_id);
    auto remaining = std::make_shared<size_t>(docs->size() + 1);
    auto one_done = [this, bundle_id, remaining] {
      if (--*remaining > 0 || stopped_) return;
      if (Status st = registry_->Unqueue(bundle_id); !st.ok()) {
        spdlog::warn("attachments: unqueue {}: {}", bundle_id, st.ToString());
      }
      starting_.erase(bundle_id);
    };
    const int64_t now = NowMs();
    for (const auto& [id, json] : *docs) {
      auto doc = ParseDistributionDoc(json);
      auto existing = LoadDistribution(id);
      if (!doc.ok() || (existing.ok() && *existing)) {  // cancelled while queued, or restarted
        one_done();
        continue;
      }
      // Its clock starts now: the time it waited does not count against its deadline.
      if (doc->deadline_at_ms) *doc->deadline_at_ms += now - doc->started_at_ms;
      doc->started_at_ms = now;
      ArmTimers(*doc);
      deps_.store->Put(std::string(kDistributionsCollection), id, EncodeDistributionDoc(*doc),
                       ContinueOnLoop([one_done](Status st) {
                         if (!st.ok()) {
                           spdlog::warn("attachments: starting a queued bundle: {}", st.ToString());
                         }
                         one_done();
                       }));
    }
    one_done();
    spdlog::info("attachments: bundle {} leaves the queue", bundle_id);
  }
}

void AttachmentManager::DropUnansweredBundles() {
  // A bundle is answered only once its documents are durable, so one whose documents are neither
  // in the store nor in the queue was cut short by a stop before its answer: drop it (its blobs
  // are collected next), so a retry with the same bundle id starts afresh.
  auto bundles = registry_->ListBundles();
  if (!bundles.ok()) return;
  for (const auto& b : *bundles) {
    auto handles = registry_->Handles(b.bundle_id);
    if (!handles.ok()) continue;
    bool complete = true;
    for (const auto& h : *handles) {
      auto doc = deps_.store->Get(std::string(kDistributionsCollection), h.distribution_id);
      auto queued = registry_->QueuedDistributionDoc(h.distribution_id);
      if (doc.ok() && !*doc && queued.ok() && !*queued) complete = false;
    }
    if (complete) continue;
    spdlog::warn("attachments: bundle {} was stopped before it was answered; dropped", b.bundle_id);
    if (Status st = DropBundle(b.bundle_id, /*delete_docs=*/true); !st.ok()) {
      spdlog::warn("attachments: dropping bundle {}: {}", b.bundle_id, st.ToString());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

void AttachmentManager::CountSend(const Status& status) {
  std::lock_guard lock(metrics_mu_);
  ++sends_by_code_[StatusCodeLabel(status)];
}

void AttachmentManager::CountIfMalformed(const store::ChangeEvent& event) {
  if (event.deleted) return;
  const Status parsed = event.collection == kDistributionsCollection
                            ? ParseDistributionDoc(event.json).status()
                            : ParseTargetStatusDoc(event.json).status();
  if (parsed.ok()) return;
  // Garbage from a peer (§16 row 39): every reader skips it; counted, logged at debug.
  spdlog::debug("attachments: ignoring malformed {}/{}: {}", event.collection, event.doc_id,
                parsed.ToString());
  std::lock_guard lock(metrics_mu_);
  ++bad_documents_[event.collection];
}

void AttachmentManager::AppendMetrics(std::string& out) const {
  std::lock_guard lock(metrics_mu_);
  AppendMetricHeader(out, "peat_attachment_bad_documents_total", "counter",
                     "Malformed documents in the attachment collections (from peers), ignored.");
  for (const auto collection : {kDistributionsCollection, kStatusCollection}) {
    auto it = bad_documents_.find(std::string(collection));
    AppendSample(out, "peat_attachment_bad_documents_total",
                 "collection=\"" + std::string(collection) + "\"",
                 static_cast<double>(it == bad_documents_.end() ? 0 : it->second));
  }
  AppendMetricHeader(out, "peat_attachment_sends_total", "counter",
                     "SendAttachments answers by status code.");
  for (const auto& [code, n] : sends_by_code_) {
    AppendSample(out, "peat_attachment_sends_total", "code=\"" + PrometheusLabelValue(code) + "\"",
                 static_cast<double>(n));
  }
  AppendMetricHeader(out, "peat_attachment_distributions", "gauge",
                     "Distributions this node sent, by state.");
  std::map<TransferState, int64_t> by_state;
  for (const auto& [id, s] : distribution_state_) ++by_state[s];
  for (auto s : {TransferState::kPending, TransferState::kInProgress, TransferState::kCompleted,
                 TransferState::kPartial, TransferState::kFailed, TransferState::kCancelled}) {
    AppendSample(out, "peat_attachment_distributions",
                 "state=\"" + std::string(StateName(s)) + "\"", static_cast<double>(by_state[s]));
  }
  if (receiver_) receiver_->AppendMetrics(out);
  if (outbox_) outbox_->AppendMetrics(out);
}

}  // namespace peat::attach

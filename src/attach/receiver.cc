#include "attach/receiver.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "attach/attachment_manager.h"
#include "common/endpoint_id.h"
#include "common/hex.h"

namespace peat::attach {

namespace {

constexpr int kMaxBadDeliveries = 3;

std::chrono::milliseconds BackoffFor(int attempts) {
  // 1 s, 2 s, 4 s … 60 s.
  const int shift = std::min(attempts > 0 ? attempts - 1 : 0, 6);
  return std::min(std::chrono::milliseconds(1000 << shift), std::chrono::milliseconds(60'000));
}

}  // namespace

StatusOr<std::unique_ptr<Receiver>> Receiver::Create(AttachmentManager& manager) {
  PEAT_ASSIGN_OR_RETURN(InboxWriter inbox, InboxWriter::Open(manager.options().inbox));
  if (auto removed = inbox.RemoveStalePartials(); !removed.ok()) {
    spdlog::warn("attachments: removing partial files from the inbox: {}",
                 removed.status().ToString());
  } else if (*removed > 0) {
    spdlog::info("attachments: removed {} partial file(s) a stop left in the inbox", *removed);
  }
  return std::unique_ptr<Receiver>(new Receiver(manager, std::move(inbox)));
}

Receiver::Receiver(AttachmentManager& manager, InboxWriter inbox)
    : m_(manager), inbox_(std::move(inbox)) {}

Receiver::~Receiver() = default;

void Receiver::Start() {
  rescan_ = m_.clock().MakeTimer(m_.io());
  Rescan();
  ArmRescan();
}

void Receiver::Stop() {
  stopped_ = true;
  rescan_.reset();
  for (auto& [id, job] : jobs_) {
    job.retry.reset();
    if (job.active && m_.transfer()) m_.transfer()->CancelFetch(job.fetch);
  }
  jobs_.clear();
}

void Receiver::ArmRescan() {
  if (stopped_) return;
  rescan_->Arm(m_.options().inbox_poll, [this](bool expired) {
    if (!expired || stopped_) return;
    Rescan();
    ArmRescan();
  });
}

void Receiver::Rescan() {
  std::vector<DistributionDoc> docs;
  Status st =
      m_.store().Scan({std::string(kDistributionsCollection)}, [&](const store::ChangeEvent& e) {
        if (auto d = ParseDistributionDoc(e.json); d.ok()) {
          docs.push_back(std::move(*d));
        }
        return true;
      });
  if (!st.ok()) spdlog::warn("attachments: scanning distributions: {}", st.ToString());
  for (const auto& d : docs) Consider(d);
  Pump();
}

void Receiver::OnDocument(const store::ChangeEvent& event) {
  if (event.collection != kDistributionsCollection || event.deleted) return;
  auto doc = ParseDistributionDoc(event.json);
  if (!doc.ok()) return;  // garbage from a peer: ignored (the rescan counts nothing new)
  Consider(*doc);
  Pump();
}

void Receiver::OnPeerEstablished() {
  for (auto& [id, job] : jobs_) {
    if (job.waiting_retry) {
      job.waiting_retry = false;
      job.retry.reset();
    }
  }
  Pump();
}

std::optional<std::string> Receiver::TargetNameIn(const DistributionDoc& doc) const {
  const auto& t = doc.targets;
  if (std::find(t.begin(), t.end(), m_.short_id()) != t.end()) return m_.short_id();
  if (std::find(t.begin(), t.end(), m_.options().node_id) != t.end()) {
    return m_.options().node_id;
  }
  return std::nullopt;
}

void Receiver::Consider(const DistributionDoc& doc) {
  if (doc.sender_endpoint_id == m_.options().endpoint_id) return;
  auto target = TargetNameIn(doc);
  if (!target) return;
  const std::string& id = doc.distribution_id;

  // Delivered before (ledger): make sure the sender hears it, nothing else.
  auto delivered = m_.registry().GetDelivery(id);
  auto mine = m_.store().Get(std::string(kStatusCollection), StatusDocId(id, *target));
  std::optional<TargetStatusDoc> status;
  if (mine.ok() && *mine) {
    if (auto parsed = ParseTargetStatusDoc(**mine); parsed.ok()) status = std::move(*parsed);
  }
  if (status && IsTerminal(status->status)) {
    jobs_.erase(id);
    return;
  }
  if (delivered.ok() && *delivered) {
    jobs_.erase(id);
    return WriteTerminalStatus(doc, *target, TransferState::kCompleted, std::nullopt);
  }
  auto job_it = jobs_.find(id);
  if (doc.status == DistributionDocStatus::kCancelled) {
    if (job_it != jobs_.end()) {
      if (job_it->second.active && m_.transfer()) m_.transfer()->CancelFetch(job_it->second.fetch);
      jobs_.erase(job_it);
    }
    if (auto root = blob::ParseBlobToken(doc.blob_root); root.ok() && !m_.blobs().Has(*root)) {
      (void)m_.blobs().Remove(*root);  // the partial: never published
    }
    return WriteTerminalStatus(doc, *target, TransferState::kCancelled, std::nullopt);
  }
  if (doc.status != DistributionDocStatus::kDistributing) return;
  if (doc.deadline_at_ms && m_.NowMs() >= *doc.deadline_at_ms) {
    jobs_.erase(id);
    return WriteTerminalStatus(doc, *target, TransferState::kFailed, "delivery timeout");
  }
  if (doc.blob_size > m_.options().limits.max_file_bytes) {
    return WriteTerminalStatus(doc, *target, TransferState::kFailed,
                               "file of " + std::to_string(doc.blob_size) +
                                   " bytes exceeds this node's --attachment-max-file-bytes (" +
                                   std::to_string(m_.options().limits.max_file_bytes) + ")");
  }
  if (job_it != jobs_.end()) return;  // already queued or running
  Job job;
  job.doc = doc;
  job.my_target = *target;
  job.status = status.value_or(TargetStatusDoc{});
  job.status.distribution_id = id;
  job.status.node_id = *target;
  job.status.endpoint_id = m_.options().endpoint_id;
  job.status.total_bytes = doc.blob_size;
  jobs_.emplace(id, std::move(job));
}

void Receiver::Pump() {
  if (stopped_) return;
  uint64_t active = 0;
  for (const auto& [id, job] : jobs_) active += (job.active || job.delivering) ? 1 : 0;
  while (active < m_.options().max_active_fetches) {
    Job* best = nullptr;
    for (auto& [id, job] : jobs_) {
      if (job.active || job.delivering || job.waiting_retry) continue;
      if (!best || job.doc.priority_class > best->doc.priority_class ||
          (job.doc.priority_class == best->doc.priority_class &&
           job.doc.started_at_ms < best->doc.started_at_ms)) {
        best = &job;
      }
    }
    if (!best) break;
    StartFetch(*best);
    ++active;
  }
  active_.Set(static_cast<int64_t>(active));
}

void Receiver::StartFetch(Job& job) {
  const std::string id = job.doc.distribution_id;
  auto root = blob::ParseBlobToken(job.doc.blob_root);
  if (!root.ok()) {
    return Finish(id, TransferState::kFailed, "bad blob root in the distribution document");
  }
  if (job.status.status == TransferState::kPending) {
    job.status.status = TransferState::kInProgress;
    job.status.started_at_ms = m_.NowMs();
    WriteStatus(job);
  }
  if (m_.blobs().Has(*root)) {  // already here (another distribution of the same content)
    job.active = true;
    return OnFetched(id, Status::Ok());
  }
  if (!m_.transfer()) return Transient(job, UnavailableError("this node has no mesh"));

  blob::FetchRequest req;
  req.root = *root;
  req.size = job.doc.blob_size;
  req.priority_class = job.doc.priority_class;
  req.sources.push_back(job.doc.sender_endpoint_id);
  for (const auto& t : job.doc.targets) {  // targets that completed hold the blob too
    if (t == job.my_target) continue;
    auto json = m_.store().Get(std::string(kStatusCollection), StatusDocId(id, t));
    if (!json.ok() || !*json) continue;
    auto s = ParseTargetStatusDoc(**json);
    if (s.ok() && s->status == TransferState::kCompleted && IsValidEndpointId(s->endpoint_id)) {
      req.sources.push_back(s->endpoint_id);
    }
  }
  job.active = true;
  job.fetch = m_.transfer()->Fetch(
      std::move(req),
      [this, id](const blob::FetchProgress& p) {
        boost::asio::post(m_.io(), [this, id, p] {
          if (!stopped_) OnProgress(id, p);
        });
      },
      [this, id](Status st) {
        boost::asio::post(m_.io(), [this, id, st] {
          if (!stopped_) OnFetched(id, st);
        });
      });
}

void Receiver::OnProgress(const std::string& id, const blob::FetchProgress& p) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || !it->second.active) return;
  Job& job = it->second;
  job.status.progress_bytes = p.verified_bytes;
  job.status.sources.clear();
  for (const auto& s : p.sources) job.status.sources.push_back(ShortEndpointId(s));
  const int64_t now = m_.NowMs();
  const uint64_t step = job.doc.blob_size ? p.verified_bytes * 10 / job.doc.blob_size : 10;
  if (now - job.last_progress_write_ms >= 1000 || step > job.last_progress_step) {
    job.last_progress_write_ms = now;
    job.last_progress_step = step;
    WriteStatus(job);
  }
}

void Receiver::OnFetched(const std::string& id, const Status& status) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  Job& job = it->second;
  job.active = false;
  if (status.ok()) return Deliver(id);
  switch (status.code()) {
    case StatusCode::kCancelled:
      return;  // we cancelled it (the distribution was cancelled or we stop)
    case StatusCode::kDataLoss:
      return Finish(id, TransferState::kFailed, "bad data from every source: " + status.message());
    default:
      return Transient(job, status);
  }
}

void Receiver::Deliver(const std::string& id) {
  Job& job = jobs_.at(id);
  job.delivering = true;
  const DistributionDoc doc = job.doc;
  const std::string rel = InboxRelativeName(doc.name, id);
  // Decision 7: a newer distribution already delivered under this name wins.
  bool newer_exists = false;
  if (auto latest = m_.registry().LatestDeliveryAt(rel); latest.ok() && *latest) {
    newer_exists = std::make_pair((*latest)->started_at_ms, (*latest)->distribution_id) >
                   std::make_pair(doc.started_at_ms, doc.distribution_id);
  }
  if (newer_exists) return OnDelivered(id, rel, /*written=*/false);
  auto root = blob::ParseBlobToken(doc.blob_root);
  Sha256Digest expected{};
  if (!root.ok() || !HexDecode(doc.blob_sha256, expected)) {
    job.delivering = false;
    return Finish(id, TransferState::kFailed, "bad blob reference in the distribution document");
  }
  blob::BlobStore* blobs = &m_.blobs();
  const blob::BlobRoot r = *root;
  const uint32_t chunk = doc.chunk_bytes;
  boost::asio::post(m_.blocking(), [this, id, rel, doc, blobs, r, chunk, expected] {
    auto reader = [blobs, r, chunk](uint64_t offset, size_t max_len) {
      return blobs->ReadChunk(r, offset / chunk, offset % chunk, max_len);
    };
    auto path = inbox_.Deliver(rel, id, doc.blob_size, expected, reader);
    boost::asio::post(m_.io(), [this, id, path] {
      if (!stopped_) OnDelivered(id, path, /*written=*/true);
    });
  });
}

void Receiver::OnDelivered(const std::string& id, const StatusOr<std::string>& path, bool written) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  Job& job = it->second;
  job.delivering = false;
  if (!path.ok()) {
    const Status& st = path.status();
    if (st.code() == StatusCode::kFailedPrecondition) {
      return Finish(id, TransferState::kFailed, st.message());
    }
    if (st.code() == StatusCode::kDataLoss) {
      // The stored blob is not the file the sender hashed: fetch it again, from scratch.
      if (auto root = blob::ParseBlobToken(job.doc.blob_root); root.ok()) {
        (void)m_.blobs().Remove(*root);
      }
      if (++job.bad_data >= kMaxBadDeliveries) {
        return Finish(id, TransferState::kFailed, "delivered file does not match its SHA-256");
      }
    }
    return Transient(job, st);
  }
  DeliveryRecord rec;
  rec.distribution_id = id;
  rec.path = *path;
  rec.blob_token = job.doc.blob_root;
  rec.started_at_ms = job.doc.started_at_ms;
  rec.delivered_ms = m_.NowMs();
  if (Status st = m_.registry().RecordDelivery(rec); !st.ok()) return Transient(job, st);
  if (written) {
    spdlog::info("attachments: delivered {} ({} bytes) into the inbox as {}", id, job.doc.blob_size,
                 *path);
  }
  job.status.progress_bytes = job.doc.blob_size;
  Finish(id, TransferState::kCompleted, std::nullopt);
}

void Receiver::Transient(Job& job, const Status& why) {
  ++job.attempts;
  job.status.error = why.message();
  WriteStatus(job);
  job.waiting_retry = true;
  job.retry = m_.clock().MakeTimer(m_.io());
  const std::string id = job.doc.distribution_id;
  job.retry->Arm(BackoffFor(job.attempts), [this, id](bool expired) {
    if (!expired || stopped_) return;
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    it->second.waiting_retry = false;
    Pump();
  });
  Pump();
}

void Receiver::Finish(const std::string& id, TransferState state,
                      std::optional<std::string> error) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  Job job = std::move(it->second);
  jobs_.erase(it);
  job.status.status = state;
  job.status.error = std::move(error);
  if (state == TransferState::kCompleted) {
    job.status.completed_at_ms = m_.NowMs();
    job.status.error.reset();
    delivered_.Inc();
  } else if (state == TransferState::kFailed) {
    failed_.Inc();
    spdlog::warn("attachments: distribution {} failed here: {}", id, job.status.error.value_or(""));
  }
  WriteStatus(job);
  Pump();
}

void Receiver::WriteStatus(Job& job) {
  job.status.updated_at_ms = m_.NowMs();
  m_.store().Put(std::string(kStatusCollection),
                 StatusDocId(job.doc.distribution_id, job.my_target),
                 EncodeTargetStatusDoc(job.status), [](Status st) {
                   if (!st.ok())
                     spdlog::warn("attachments: writing a status document: {}", st.ToString());
                 });
}

void Receiver::WriteTerminalStatus(const DistributionDoc& doc, const std::string& my_target,
                                   TransferState state, std::optional<std::string> error) {
  Job job;
  job.doc = doc;
  job.my_target = my_target;
  job.status.distribution_id = doc.distribution_id;
  job.status.node_id = my_target;
  job.status.endpoint_id = m_.options().endpoint_id;
  job.status.total_bytes = doc.blob_size;
  if (auto mine = m_.store().Get(std::string(kStatusCollection),
                                 StatusDocId(doc.distribution_id, my_target));
      mine.ok() && *mine) {
    if (auto parsed = ParseTargetStatusDoc(**mine); parsed.ok()) {
      if (IsTerminal(parsed->status)) return;
      job.status = std::move(*parsed);
    }
  }
  job.status.status = state;
  job.status.error = std::move(error);
  if (state == TransferState::kCompleted) {
    job.status.progress_bytes = doc.blob_size;
    job.status.completed_at_ms = m_.NowMs();
  }
  WriteStatus(job);
}

bool Receiver::UsesBlob(const std::string& blob_token) const {
  for (const auto& [id, job] : jobs_) {
    if (job.doc.blob_root == blob_token) return true;
  }
  return false;
}

void Receiver::AppendMetrics(std::string& out) const {
  AppendMetricHeader(out, "peat_attachment_deliveries_total", "counter",
                     "Attachment files delivered into this node's inbox.");
  AppendSample(out, "peat_attachment_deliveries_total", "",
               static_cast<double>(delivered_.Value()));
  AppendMetricHeader(out, "peat_attachment_receive_failures_total", "counter",
                     "Distributions addressed to this node that ended FAILED here.");
  AppendSample(out, "peat_attachment_receive_failures_total", "",
               static_cast<double>(failed_.Value()));
  AppendMetricHeader(out, "peat_attachment_receiving", "gauge",
                     "Distributions this node is fetching or delivering now.");
  AppendSample(out, "peat_attachment_receiving", "", static_cast<double>(active_.Value()));
}

}  // namespace peat::attach

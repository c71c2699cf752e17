#include "attach/outbox_watcher.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "attach/attachment_manager.h"
#include "blob/blob_hasher.h"
#include "common/hex.h"

namespace peat::attach {

OutboxWatcher::OutboxWatcher(AttachmentManager& manager) : m_(manager) {}
OutboxWatcher::~OutboxWatcher() = default;

void OutboxWatcher::Start() {
  timer_ = m_.clock().MakeTimer(m_.io());
  ArmPoll();
}

void OutboxWatcher::Stop() {
  stopped_ = true;
  timer_.reset();
  pending_.clear();
}

void OutboxWatcher::ArmPoll() {
  if (stopped_) return;
  timer_->Arm(m_.options().outbox_poll, [this](bool expired) {
    if (!expired || stopped_) return;
    Poll();
    ArmPoll();
  });
}

void OutboxWatcher::Poll() {
  if (polling_) return;  // the previous poll is still sending
  polling_ = true;
  boost::asio::post(m_.blocking(), [this] {
    auto files = scanner_.Poll(m_.roots());
    boost::asio::post(m_.io(), [this, files = std::move(files)]() mutable {
      if (stopped_) return;
      OnScanned(std::move(files));
    });
  });
}

void OutboxWatcher::OnScanned(std::vector<OutboxFile> files) {
  for (auto& f : files) {
    auto seen = m_.registry().GetOutbox(f.root_name, f.relative_path);
    if (seen.ok() && *seen && (*seen)->size == f.size && (*seen)->mtime_ns == f.mtime_ns) {
      continue;  // this version was handled
    }
    pending_.push_back(std::move(f));
  }
  Next();
}

void OutboxWatcher::Next() {
  if (stopped_) return;
  if (pending_.empty()) {
    polling_ = false;
    return;
  }
  OutboxFile file = pending_.front();
  pending_.pop_front();
  boost::asio::post(m_.blocking(), [this, file] {
    StatusOr<std::string> sha = InternalError("unhashed");
    auto it = m_.roots().find(file.root_name);
    if (it == m_.roots().end()) {
      sha = NotFoundError("root is gone");
    } else if (auto opened = OpenBeneath(it->second, file.relative_path, "outbox"); !opened.ok()) {
      sha = opened.status();
    } else if (auto digest = blob::HashFd(opened->fd.get(), file.relative_path); !digest.ok()) {
      sha = digest.status();
    } else {
      sha = std::string(reinterpret_cast<const char*>(digest->file_sha256.data()),
                        digest->file_sha256.size());
    }
    boost::asio::post(m_.io(), [this, file, sha] {
      if (!stopped_) OnHashed(file, sha);
    });
  });
}

void OutboxWatcher::OnHashed(const OutboxFile& file, const StatusOr<std::string>& sha256) {
  if (!sha256.ok()) {  // vanished or unreadable meanwhile: the next poll sees it again
    Count("unreadable");
    return Next();
  }
  OutboxRecord record;
  record.root_name = file.root_name;
  record.relative_path = file.relative_path;
  record.size = file.size;
  record.mtime_ns = file.mtime_ns;
  record.sha256_hex = HexEncode(std::string_view(*sha256));
  auto seen = m_.registry().GetOutbox(file.root_name, file.relative_path);
  if (seen.ok() && *seen && (*seen)->sha256_hex == record.sha256_hex) {
    record.bundle_id = (*seen)->bundle_id;  // touched, same content: nothing to send
    (void)m_.registry().PutOutbox(record);
    return Next();
  }
  SendRequest req;
  FileSpec spec;
  spec.root_name = file.root_name;
  spec.relative_path = file.relative_path;
  spec.size_bytes = file.size;
  spec.sha256 = *sha256;
  req.files.push_back(std::move(spec));
  req.scope = ScopeKind::kAllNodes;
  auto bundle_id = OutboxBundleId(file.root_name, file.relative_path, *sha256);
  if (!bundle_id.ok()) {
    Count("retry");
    return Next();
  }
  req.bundle_id = *bundle_id;
  record.bundle_id = *bundle_id;
  m_.SendOnLoop(std::move(req), [this, record, file](StatusOr<SendResult> result) {
    boost::asio::post(m_.io(), [this, record, file, result] {
      if (stopped_) return;
      if (result.ok()) {
        (void)m_.registry().PutOutbox(record);
        Count("sent");
        spdlog::info("attachments: outbox sent {}/{} as bundle {}", file.root_name,
                     file.relative_path, record.bundle_id);
      } else if (result.status().code() == StatusCode::kInvalidArgument) {
        (void)m_.registry().PutOutbox(record);  // this version cannot be sent: skip it
        Count("invalid");
        spdlog::warn("attachments: outbox skips {}/{}: {}", file.root_name, file.relative_path,
                     result.status().ToString());
      } else {
        Count("retry");  // the cap or a transient error: the next poll tries again
      }
      Next();
    });
  });
}

void OutboxWatcher::Count(const std::string& result) {
  std::lock_guard lock(metrics_mu_);
  ++results_[result];
}

void OutboxWatcher::AppendMetrics(std::string& out) const {
  std::lock_guard lock(metrics_mu_);
  AppendMetricHeader(out, "peat_attachment_outbox_files_total", "counter",
                     "Outbox files handled, by result (sent, retry, invalid, unreadable).");
  for (const char* r : {"sent", "retry", "invalid", "unreadable"}) {
    auto it = results_.find(r);
    AppendSample(out, "peat_attachment_outbox_files_total", std::string("result=\"") + r + "\"",
                 static_cast<double>(it == results_.end() ? 0 : it->second));
  }
}

}  // namespace peat::attach

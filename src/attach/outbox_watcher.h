// OutboxWatcher: sends files dropped into the attachment roots (docs/spec/ATTACHMENTS.md §14),
// when --attachment-outbox-watch is on. Every --attachment-outbox-poll-secs the OutboxScanner
// walks the roots; a file whose (size, mtime, inode) did not change since the previous poll is
// stable, and is sent (one file, AllNodes, the default priority) unless the persisted outbox
// ledger already has that version: same size and mtime, or the same SHA-256 after a touch.
// The bundle id is derived from (root, path, SHA-256), so a retry or a restart never sends a
// version twice. Outcomes: sent → recorded; RESOURCE_EXHAUSTED (the concurrency cap) and other
// transient errors → tried again next poll; INVALID_ARGUMENT → this version is skipped (logged,
// counted). peat_attachment_outbox_files_total{result} counts them.
//
// Threading: lives on the AttachmentManager's loop; walking and hashing run on its blocking pool,
// one poll at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "attach/outbox_scanner.h"
#include "common/clock.h"
#include "common/status.h"

namespace peat::attach {

class AttachmentManager;

class OutboxWatcher {
 public:
  explicit OutboxWatcher(AttachmentManager& manager);
  ~OutboxWatcher();

  void Start();
  void Stop();
  void AppendMetrics(std::string& out) const;

 private:
  void ArmPoll();
  void Poll();
  void OnScanned(std::vector<OutboxFile> files);
  void Next();
  void OnHashed(const OutboxFile& file, const StatusOr<std::string>& sha256);
  void Count(const std::string& result);

  AttachmentManager& m_;
  OutboxScanner scanner_;
  std::unique_ptr<Timer> timer_;
  bool polling_ = false;
  bool stopped_ = false;
  std::deque<OutboxFile> pending_;
  mutable std::mutex metrics_mu_;
  std::map<std::string, uint64_t> results_;  // by result label
};

}  // namespace peat::attach

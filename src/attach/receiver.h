// Receiver: the target side of attachment distribution (docs/spec/ATTACHMENTS.md §13). It
// watches `file_distributions` (live from the store's change events, plus a rescan every
// --attachment-inbox-poll-secs that also retries), and for each distribution addressed to this
// node (its short id, or its --node-id kept verbatim) that is not delivered yet:
//   - writes its status document: in_progress when the fetch starts, progress at most once a
//     second and at each 10 % step, completed after the file is renamed into the inbox and
//     fsynced; cancelled when the sender cancels; failed on a permanent error or the deadline;
//   - fetches the blob over the mesh (blob::BlobTransfer) from the sender and from targets that
//     completed, at most --attachment-max-active-fetches at once, by priority then age;
//   - delivers it with the InboxWriter (no symlink following, O_EXCL temporaries, fsync, rename),
//     the latest started_at_ms winning a name (decision 7), and records it in the delivery ledger
//     so nothing is fetched or written twice.
// Transient errors (no source, I/O, disk full) back off 1 s → 60 s, keeping state and the error
// text in the status document; permanent ones (bigger than our --attachment-max-file-bytes, the
// target is a directory, bad data from every source, the deadline) end FAILED.
//
// Threading: lives on the AttachmentManager's loop; file copies run on its blocking pool.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "attach/distribution_doc.h"
#include "attach/inbox_writer.h"
#include "blob/blob_transfer.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "store/document_store.h"

namespace peat::attach {

class AttachmentManager;

class Receiver {
 public:
  // Opens (creates) the inbox and removes partial files a crash left there.
  static StatusOr<std::unique_ptr<Receiver>> Create(AttachmentManager& manager);
  ~Receiver();

  void Start();  // first scan and the rescan timer
  void Stop();   // cancels fetches and timers
  // A document of a reserved collection changed.
  void OnDocument(const store::ChangeEvent& event);
  // A peer completed a session: waiting fetches try again now.
  void OnPeerEstablished();
  void AppendMetrics(std::string& out) const;
  // Whether a job is fetching or delivering this blob (the blob collector keeps it).
  bool UsesBlob(const std::string& blob_token) const;

 private:
  struct Job {
    DistributionDoc doc;
    std::string my_target;  // how the sender listed us
    TargetStatusDoc status;
    bool active = false;
    bool delivering = false;
    blob::BlobTransfer::FetchId fetch = 0;
    int attempts = 0;  // consecutive failures
    int bad_data = 0;  // deliveries whose file SHA-256 did not match
    std::unique_ptr<Timer> retry;
    bool waiting_retry = false;
    int64_t last_progress_write_ms = 0;
    uint64_t last_progress_step = 0;  // tenths written
  };

  Receiver(AttachmentManager& manager, InboxWriter inbox);
  void Rescan();
  void ArmRescan();
  void Consider(const DistributionDoc& doc);
  std::optional<std::string> TargetNameIn(const DistributionDoc& doc) const;
  void Pump();
  void StartFetch(Job& job);
  void OnProgress(const std::string& id, const blob::FetchProgress& p);
  void OnFetched(const std::string& id, const Status& status);
  void Deliver(const std::string& id);
  void OnDelivered(const std::string& id, const StatusOr<std::string>& path, bool written);
  void Transient(Job& job, const Status& why);
  void Finish(const std::string& id, TransferState state, std::optional<std::string> error);
  void WriteStatus(Job& job);
  void WriteTerminalStatus(const DistributionDoc& doc, const std::string& my_target,
                           TransferState state, std::optional<std::string> error);

  AttachmentManager& m_;
  InboxWriter inbox_;
  std::map<std::string, Job> jobs_;  // by distribution id
  std::unique_ptr<Timer> rescan_;
  bool stopped_ = false;
  Counter delivered_;
  Counter failed_;
  Gauge active_;
};

}  // namespace peat::attach

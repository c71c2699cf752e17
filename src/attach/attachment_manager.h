// AttachmentManager: attachment distribution on this node (docs/spec/ATTACHMENTS.md), behind the
// four attachment RPCs. It owns one loop thread (all state below lives there), a small pool for
// blocking file work (validation opens, ingest hashing and copying, inbox writes), the
// AttachmentRegistry, and the Receiver and OutboxWatcher.
//
// Sender: Send validates (§2, in the spec's order: request shape and files, then the idempotent
// hit of the bundle id, then the concurrency cap), reserves the bundle id, ingests every file
// into the BlobStore, resolves the targets (§3), writes one DistributionDoc per file and records
// the bundle; then the documents replicate and each target fetches the blob over the mesh and
// reports in its own status document. Get and Subscribe read those documents (§7–§9); Cancel
// flips a distribution to `cancelled` (§10); grace and deadline timers fail targets that never
// show up (§3); a sweep drops terminal bundles after the retention and evicts the least recently
// touched bundle at max-known-bundles (§11). Everything is in the registry and the store, so it
// all works after a restart.
//
// Threading: public methods are thread-safe; callbacks run on the manager's loop thread and must
// not block. Start/Stop from the node's control thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "attach/attachment_options.h"
#include "attach/attachment_registry.h"
#include "attach/distribution_doc.h"
#include "attach/path_confinement.h"
#include "attach/send_request.h"
#include "attach/status_model.h"
#include "blob/blob_store.h"
#include "blob/blob_transfer.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/pending_completions.h"
#include "common/status.h"
#include "store/document_store.h"

namespace peat::attach {

class Receiver;
class OutboxWatcher;

struct AttachmentHandleView {
  uint32_t file_index = 0;
  std::string blob_token;
  std::string distribution_id;
};

struct SendResult {
  std::string bundle_id;
  std::vector<AttachmentHandleView> handles;
};

struct NodeTransferView {
  std::string node_id;
  TransferState status = TransferState::kPending;
  uint64_t bytes_transferred = 0;
  friend bool operator==(const NodeTransferView&, const NodeTransferView&) = default;
};

struct DistributionView {
  std::string distribution_id;
  std::string blob_token;
  TransferState status = TransferState::kPending;
  uint64_t bytes_transferred = 0;
  uint64_t bytes_total = 0;
  std::vector<NodeTransferView> per_node;  // sorted by node id, one per target
  std::optional<std::string> error;        // first error by node id
};

struct ProgressFrame {
  DistributionView view;
  std::optional<NodeTransferView> changed_node;
};

// Receives the frames of one SubscribeAttachmentBundle, on the manager's loop.
class BundleSink {
 public:
  virtual ~BundleSink() = default;
  // Returns false to end the subscription (the sink already answered its caller).
  virtual bool OnFrame(const ProgressFrame& frame) = 0;
  // The stream ends: OK after every distribution delivered its terminal frame, NOT_FOUND for an
  // unknown bundle, UNAVAILABLE when the node stops. Runs once; no frame follows.
  virtual void OnEnd(const Status& status) = 0;
};

class AttachmentManager {
 public:
  struct Dependencies {
    store::DocumentStore* store = nullptr;   // required
    blob::BlobStore* blobs = nullptr;        // required
    blob::BlobTransfer* transfer = nullptr;  // may be null (no mesh): nothing is fetched
    Clock* clock = &RealClock();             // timers (grace, deadline, sweep, retries, polls)
    // Wall time in ms since the epoch, written into documents; empty = the system clock.
    std::function<int64_t()> wall_clock_ms;
  };

  // Opens the roots (startup errors name --attachment-root), the inbox (created) and the
  // registry. Does not start anything yet.
  static StatusOr<std::unique_ptr<AttachmentManager>> Create(AttachmentOptions options,
                                                             Dependencies deps);
  ~AttachmentManager();

  // The mesh, once it exists (the mesh needs MayServe first). Before Start.
  void SetTransfer(blob::BlobTransfer* transfer) { deps_.transfer = transfer; }
  // Starts the loop: store listener, re-arms timers of running bundles, the receiver (scan of
  // distributions addressed to us) and the outbox watcher.
  Status Start();
  // Stops everything; open subscriptions end UNAVAILABLE. Idempotent.
  void Stop();

  // The attachment RPCs answer UNIMPLEMENTED without a root (§1).
  bool sending_enabled() const { return !roots_.empty(); }

  void Send(SendRequest request, std::function<void(StatusOr<SendResult>)> done);
  void Get(std::string distribution_id, std::function<void(StatusOr<DistributionView>)> done);
  void Cancel(std::string distribution_id, std::function<void(StatusOr<bool>)> done);
  // Returns an id for Unsubscribe; frames and the end arrive on `sink`.
  uint64_t Subscribe(std::string bundle_id, std::shared_ptr<BundleSink> sink);
  void Unsubscribe(uint64_t id);

  // The mesh's serve policy (blob::BlobServePolicy): false for the blob of a distribution this
  // node cancelled. Thread-safe.
  bool MayServe(const blob::BlobRoot& root) const;

  // peat_attachment_* samples for /metrics.
  void AppendMetrics(std::string& out) const;

  // --- for Receiver and OutboxWatcher (loop thread) ---
  boost::asio::io_context& io() { return io_; }
  boost::asio::thread_pool& blocking() { return blocking_; }
  const AttachmentOptions& options() const { return options_; }
  const std::map<std::string, AttachmentRoot>& roots() const { return roots_; }
  AttachmentRegistry& registry() { return *registry_; }
  store::DocumentStore& store() { return *deps_.store; }
  blob::BlobStore& blobs() { return *deps_.blobs; }
  blob::BlobTransfer* transfer() { return deps_.transfer; }
  Clock& clock() { return *deps_.clock; }
  const std::string& short_id() const { return short_id_; }
  int64_t NowMs() const;
  // Send without the RPC gate's caller: the outbox watcher's path.
  void SendOnLoop(SendRequest request, std::function<void(StatusOr<SendResult>)> done);

 private:
  struct Reservation {
    std::string identity;
    std::vector<std::function<void(StatusOr<SendResult>)>> waiters;
  };
  struct Subscription {
    std::string bundle_id;
    std::shared_ptr<BundleSink> sink;
    std::map<std::string, DistributionView> last;  // by distribution id
    std::set<std::string> terminal_sent;
    std::vector<std::string> distributions;  // file_index order
    // Progress-only frames: ≤ 4 a second per distribution (§9); the rest coalesce into the
    // next one, sent when the interval ends (progress_due).
    std::map<std::string, Clock::TimePoint> last_progress;
    std::set<std::string> progress_due;
  };
  struct DistributionTimers {
    std::unique_ptr<Timer> grace;
    std::unique_ptr<Timer> deadline;
  };
  class StoreListener;

  AttachmentManager(AttachmentOptions options, Dependencies deps,
                    std::map<std::string, AttachmentRoot> roots,
                    std::unique_ptr<AttachmentRegistry> registry);

  // Send, in steps (loop unless noted).
  void AfterValidation(SendRequest request, std::vector<OpenedFile> files,
                       std::function<void(StatusOr<SendResult>)> done);
  void AfterIngest(std::string bundle_id, SendRequest request,
                   StatusOr<std::vector<blob::IngestResult>> ingested);
  void FinishReservation(const std::string& bundle_id, const StatusOr<SendResult>& result);
  StatusOr<SendResult> ResultOf(const std::string& bundle_id);
  std::vector<std::string> ResolveTargets(const SendRequest& request) const;
  void ArmTimers(const DistributionDoc& doc);
  void OnGraceExpired(const std::string& distribution_id);
  void OnDeadline(const std::string& distribution_id);
  // Writes a FAILED status doc for each target of `doc` that is not terminal; with
  // `only_silent`, only for those that never wrote one (the discovery grace, §3).
  void FailSilentTargets(const DistributionDoc& doc, const std::string& error, bool only_silent);

  // Reading the documents.
  StatusOr<std::optional<DistributionDoc>> LoadDistribution(const std::string& distribution_id);
  std::map<std::string, TargetStatusDoc> LoadStatuses(const DistributionDoc& doc);
  DistributionView ViewOf(const DistributionDoc& doc,
                          const std::map<std::string, TargetStatusDoc>& statuses) const;
  StatusOr<DistributionView> CurrentView(const std::string& distribution_id);
  // A document of either reserved collection changed (loop).
  void OnDocumentChanged(const std::string& collection, const std::string& doc_id);
  void RefreshBundle(const std::string& bundle_id);
  // Counts a change of either attachment collection whose document does not parse.
  void CountIfMalformed(const store::ChangeEvent& event);
  // False when the sink ended the subscription.
  bool EmitFrames(Subscription& sub, const std::string& distribution_id,
                  const DistributionView& view);
  void EndSubscription(uint64_t id, const Status& status);
  // Sends the coalesced progress frames whose interval ended; re-arms while some wait.
  void FlushProgress();
  void ArmProgressFlush();

  // Remembers every peer that completed a session (the AllNodes scope, node-id resolution).
  void WatchPeers();
  void ArmSweep();
  void Sweep();
  // Drops terminal bundles untouched for --attachment-handle-retention-secs (§11).
  void ExpireBundles();
  // Removes complete blobs no retained bundle references and no delivery used within
  // --attachment-blob-retention-secs (by the later of the last delivery and the file's mtime).
  void CollectBlobs();
  Status DropBundle(const std::string& bundle_id, bool delete_docs);
  Status MakeRoomForBundle();
  // Queued bundles not being started, oldest first.
  std::vector<std::string> WaitingBundles() const;
  // Bundles not terminal and not waiting in the queue.
  uint64_t RunningBundles() const;
  // At start: drops bundles a stop cut short before their documents were durable.
  void DropUnansweredBundles();
  // --attachment-queue-when-full: the cap is reached or others wait already.
  bool MustQueue() const;
  // Starts queued bundles, oldest first, while there is room.
  void StartQueued();

  void CountSend(const Status& status);
  // A store write's completion that continues on the loop. The store runs it on its writer thread,
  // possibly after the loop's last handler: Stop waits until every such completion has posted, so
  // none posts to a destroyed loop.
  store::WriteDone ContinueOnLoop(std::function<void(Status)> then);

  AttachmentOptions options_;
  Dependencies deps_;
  std::map<std::string, AttachmentRoot> roots_;
  std::unique_ptr<AttachmentRegistry> registry_;
  std::string short_id_;

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  boost::asio::thread_pool blocking_{2};
  bool started_ = false;
  bool stopped_ = false;
  uint64_t listener_id_ = 0;
  PendingCompletions writes_in_flight_;  // ContinueOnLoop completions not yet run

  // Loop-only state.
  std::map<std::string, Reservation> reservations_;  // bundle ids being ingested
  std::set<std::string> starting_;  // queued bundles whose documents are being written
  std::map<uint64_t, Subscription> subscriptions_;
  uint64_t next_subscription_ = 1;
  std::map<std::string, DistributionTimers> timers_;  // by distribution id
  std::unique_ptr<Timer> sweep_timer_;
  std::unique_ptr<Timer> progress_timer_;
  bool progress_armed_ = false;
  std::unique_ptr<Receiver> receiver_;
  std::unique_ptr<OutboxWatcher> outbox_;

  mutable std::mutex serve_mu_;
  std::set<blob::BlobRoot> cancelled_roots_;

  // Metrics.
  mutable std::mutex metrics_mu_;
  std::map<std::string, uint64_t> sends_by_code_;
  std::map<std::string, uint64_t> bad_documents_;            // by collection
  std::map<std::string, TransferState> distribution_state_;  // our distributions' last state
};

}  // namespace peat::attach

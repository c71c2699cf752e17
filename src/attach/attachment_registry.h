// AttachmentRegistry: the attachment layer's persistent state in its own SQLite database
// (`<data-dir>/attachments.db`, WAL, synchronous=FULL: a kill -9 or power cut never loses an
// answered SendAttachments), docs/spec/ATTACHMENTS.md §11, §13, §14:
//   bundles     bundle id → identity, priority, state, created/touched times (sender)
//   handles     distribution id → bundle, file index, blob token, size (sender)
//   deliveries  distribution id → inbox path, blob token, started/delivered times (receiver
//               delivery ledger: nothing is fetched or written twice)
//   outbox      (root, relative path) → size, mtime, SHA-256, bundle id (outbox ledger)
//   queued      distribution documents of bundles waiting for a slot (queue-when-full)
//   peers       endpoint id → node id, accepts_attachments, last seen (peers that completed a
//               session with us: the AllNodes scope)
// Retention and LRU are policy of the caller; the registry answers the queries they need.
//
// Errors: SQLite failures via store::SqliteStatus (disk full → RESOURCE_EXHAUSTED, corrupt →
// DATA_LOSS, I/O → UNAVAILABLE); NOT_FOUND never (absent rows are nullopt / empty).
// Thread-compatible: the attachment manager calls it from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attach/status_model.h"
#include "common/status.h"

namespace peat::attach {

struct BundleRecord {
  std::string bundle_id;
  // Canonical encoding of the ordered (root_name, relative_path, size_bytes, sha256) list; two
  // requests are "the same bundle" iff their identities are byte-equal.
  std::string identity;
  int priority_class = 3;
  // kPending / kInProgress while running; a terminal state once every distribution is.
  TransferState state = TransferState::kPending;
  int64_t created_ms = 0;
  int64_t touched_ms = 0;
};

struct HandleRecord {
  std::string distribution_id;
  std::string bundle_id;
  uint32_t file_index = 0;
  std::string blob_token;  // 64 hex
  uint64_t size = 0;
};

struct DeliveryRecord {
  std::string distribution_id;
  std::string path;  // inbox-relative
  std::string blob_token;
  int64_t started_at_ms = 0;  // the distribution's started_at_ms (decision 7)
  int64_t delivered_ms = 0;
};

struct OutboxRecord {
  std::string root_name;
  std::string relative_path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string sha256_hex;
  std::string bundle_id;
};

struct KnownPeer {
  std::string endpoint_id;
  std::string node_id;
  bool accepts_attachments = false;
  int64_t last_seen_ms = 0;
};

class AttachmentRegistry {
 public:
  static StatusOr<std::unique_ptr<AttachmentRegistry>> Open(const std::string& path);
  ~AttachmentRegistry();

  // --- bundles and handles (sender)
  // Inserts the bundle and its handles in one transaction (replaces an existing bundle with the
  // same id and its handles: the FAILED/CANCELLED resubmit).
  Status InsertBundle(const BundleRecord& bundle, const std::vector<HandleRecord>& handles);
  StatusOr<std::optional<BundleRecord>> GetBundle(const std::string& bundle_id);
  StatusOr<std::vector<BundleRecord>> ListBundles();  // by created_ms
  // Handles of a bundle in file_index order.
  StatusOr<std::vector<HandleRecord>> Handles(const std::string& bundle_id);
  StatusOr<std::optional<HandleRecord>> HandleByDistribution(const std::string& distribution_id);
  Status SetBundleState(const std::string& bundle_id, TransferState state, int64_t touched_ms);
  Status TouchBundle(const std::string& bundle_id, int64_t touched_ms);
  // Deletes the bundle and its handles (one transaction). OK if absent.
  Status DeleteBundle(const std::string& bundle_id);
  // Whether any handle of a retained bundle references the blob.
  StatusOr<bool> BlobReferenced(const std::string& blob_token);

  // --- bundles beyond the concurrency cap (--attachment-queue-when-full): their distribution
  // documents wait here, oldest bundle first, until a running bundle ends.
  Status QueueDistributions(const std::string& bundle_id,
                            const std::vector<std::pair<std::string, std::string>>& docs,
                            int64_t queued_ms);  // (distribution id, document JSON)
  StatusOr<std::optional<std::string>> QueuedDistributionDoc(const std::string& distribution_id);
  StatusOr<std::vector<std::string>> QueuedBundles();  // oldest first
  // The queued documents of a bundle, by distribution id.
  StatusOr<std::vector<std::pair<std::string, std::string>>> QueuedDocs(
      const std::string& bundle_id);
  // Removes a bundle's documents from the queue (once they are in the store).
  Status Unqueue(const std::string& bundle_id);

  // --- delivery ledger (receiver)
  Status RecordDelivery(const DeliveryRecord& delivery);
  StatusOr<std::optional<DeliveryRecord>> GetDelivery(const std::string& distribution_id);
  // The delivery into `path` with the latest (started_at_ms, distribution_id), if any.
  StatusOr<std::optional<DeliveryRecord>> LatestDeliveryAt(const std::string& path);

  // The most recent delivery of the blob (receiver-side blob retention), if any.
  StatusOr<std::optional<DeliveryRecord>> LatestDeliveryOfBlob(const std::string& blob_token);

  // --- outbox ledger
  Status PutOutbox(const OutboxRecord& record);
  StatusOr<std::optional<OutboxRecord>> GetOutbox(const std::string& root_name,
                                                  const std::string& relative_path);

  // --- known peers
  Status UpsertPeer(const KnownPeer& peer);
  StatusOr<std::vector<KnownPeer>> ListPeers();  // by endpoint id

 private:
  struct Impl;
  explicit AttachmentRegistry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace peat::attach

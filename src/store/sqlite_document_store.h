// SqliteDocumentStore: the store on SQLite (DESIGN.md "Store"): one database serving three
// audiences through three interfaces — DocumentStore (the services), ReplicationLog (the mesh's
// feed, merges, checkpoints) and PeerStateStore (the mesh's peer registry and member acks).
// Callers hold only the interface they use; the node owns this class.
//
// One database file `<data_dir>/peat.db` in WAL mode. Writes go through a GroupCommitWriter (one
// thread, one write connection, many writes per transaction); `done` runs after the group's
// COMMIT. Durability: with synchronous=NORMAL (the default) a committed group is in the WAL in
// the OS page cache when `done` runs, which survives kill -9 of the process (the kernel still
// writes it back) but not a power cut or kernel crash; StoreOptions::synchronous_full fsyncs the
// WAL on every commit for power-loss durability at a throughput cost.
//
// Reads are synchronous and thread-safe: a bounded LRU DocumentCache in front of a pool of
// query_only WAL reader connections, so they never wait for the writer. Memory is bounded by the
// cache limits and the number of concurrently reading threads, not by the store size.
//
// Collection lifecycle configs are persisted and enforced (IMMUTABLE, SOFT_DELETE, TOMBSTONE
// purge, IMPLICIT_TTL expiry; see GroupCommitWriter for the GC). With an encryption key every
// leaf value is encrypted and every field name made opaque before they enter the stored state
// (DocumentCipher); the database file never holds a plaintext value or field name (clear names
// from keyless peers are converted on merge, a store written before names were encrypted is
// migrated at open: field_name_migration.h).
//
// Replication: MergeRemote goes through the same group commit as local writes (see
// GroupCommitWriter); ReadFeed/GetCheckpoint/ListPeerRecords read through the reader pool.
// SavePeer stores addresses "\n"-joined, so an address must not contain '\n' (nor NUL).
// MergeRemote's peer_id and SavePeer's endpoint_id must be valid keys (non-empty UTF-8 without
// NUL, at most 1024 bytes): INVALID_ARGUMENT otherwise. ReadFeed with max_entries = 0 returns an
// empty page (scanned_through = after_seq). Skipped entries (src_peer == skip_src_peer) do not
// count against max_entries, but one page examines at most max_entries + kFeedMaxSkipped rows.
//
// Deviation from the interfaces' contract: every write (Put/Delete/SetCollectionConfig,
// MergeRemote, SavePeer/RemovePeer) calls `done` synchronously on the calling thread (before
// returning) when the store is closed (UNAVAILABLE) or its write queue is full
// (RESOURCE_EXHAUSTED). Validation errors are reported on the writer thread like every other
// result.
//
// Thread-safe. Close() (or the destructor) commits queued writes, then stops; it must not be
// called from a listener or a `done` callback.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "store/collection_configs.h"
#include "store/document_cache.h"
#include "store/document_cipher.h"
#include "store/document_store.h"
#include "store/feed_observers.h"
#include "store/group_commit_writer.h"
#include "store/listener_registry.h"
#include "store/peer_state_store.h"
#include "store/read_connection_pool.h"
#include "store/replication_log.h"
#include "store/store_options.h"

namespace peat::store {

class SqliteDocumentStore : public DocumentStore, public ReplicationLog, public PeerStateStore {
 public:
  using Done = WriteDone;

  // ReadFeed examines at most this many skipped rows beyond max_entries per page.
  static constexpr size_t kFeedMaxSkipped = 4096;

  // Creates or opens the store: schema create/migrate, cheap integrity check (DATA_LOSS if it
  // fails), seq/HLC restore, collection configs, writer thread. INVALID_ARGUMENT for bad options.
  static StatusOr<std::unique_ptr<SqliteDocumentStore>> Open(const StoreOptions& options);
  ~SqliteDocumentStore() override;

  // DocumentStore
  void Put(std::string collection, std::string doc_id, std::string json, Done done) override;
  void MergePut(std::string collection, std::string doc_id, std::string json, Done done) override;
  void Delete(std::string collection, std::string doc_id, Done done) override;
  void SetCollectionConfig(CollectionConfig config, Done done) override;
  StatusOr<std::optional<std::string>> Get(const std::string& collection,
                                           const std::string& doc_id) override;
  StatusOr<std::vector<std::string>> List(const std::string& collection) override;
  StatusOr<std::vector<CollectionCount>> CountByCollection() override;
  Status Scan(const std::vector<std::string>& collections,
              const std::function<bool(const ChangeEvent&)>& fn) override;
  StatusOr<std::optional<CollectionConfig>> GetCollectionConfig(
      const std::string& collection) override;
  StatusOr<std::vector<CollectionConfig>> ListCollectionConfigs() override;
  uint64_t AddListener(std::shared_ptr<ChangeListener> listener) override;
  void RemoveListener(uint64_t id) override;
  uint64_t NotifiedSeq() const override;

  // ReplicationLog
  void MergeRemote(std::string peer_id, std::vector<RemoteChange> changes,
                   ReplicationCheckpoint checkpoint, Done done) override;
  StatusOr<FeedPage> ReadFeed(const FeedQuery& query) override;
  StatusOr<std::vector<std::string>> ReadStates(const std::vector<DocRef>& docs) override;
  StatusOr<ReplicationCheckpoint> GetCheckpoint(const std::string& peer_id) override;
  std::string Epoch() const override { return epoch_; }
  uint64_t LastSeq() const override;
  uint64_t AddFeedObserver(FeedObserver observer) override;
  void RemoveFeedObserver(uint64_t id) override;

  // PeerStateStore
  void SavePeer(PeerRecord record, Done done) override;
  void RemovePeer(std::string endpoint_id, Done done) override;
  StatusOr<std::vector<PeerRecord>> ListPeerRecords() override;
  void SaveMemberAck(std::string peer_id, uint64_t seq, Done done) override;
  void RemoveMember(std::string peer_id, Done done) override;
  StatusOr<std::vector<std::pair<std::string, uint64_t>>> ListMemberAcks() override;

  // --- Additions (in none of the interfaces) ---
  // Commits queued writes, stops the writer, closes every connection. Idempotent. Later writes
  // fail UNAVAILABLE, later reads UNAVAILABLE.
  void Close();
  // Runs one GC pass now (tombstone purge, IMPLICIT_TTL expiry); `done` once it committed.
  void CollectGarbage(Done done);
  // The HLC value persisted with the last committed write (never decreases across restarts).
  uint64_t LastHlc() const;
  // Random id of this store instance, created with the database (replication uses it to notice
  // a peer that lost its data).
  const std::string& epoch() const { return epoch_; }
  const std::string& db_path() const { return db_path_; }
  StoreStats Stats() const;
  // Wall ms of the oldest tombstone's delete (its age is now - this), nullopt if none.
  StatusOr<std::optional<uint64_t>> OldestTombstoneMs();
  // Appends peat_store_* samples (documents, tombstones, purges, store bytes, ...) on each scrape.
  // The store must outlive the registry's use of the collector.
  void RegisterMetrics(MetricsRegistry& registry);

 private:
  explicit SqliteDocumentStore(const StoreOptions& options);
  Status Init();
  // Queues `op`, or fails it at once when closed.
  void Submit(WriteOp op);
  // Decodes (and decrypts) a stored state into its canonical JSON.
  StatusOr<std::string> Render(const std::string& collection, const std::string& doc_id,
                               std::string_view state) const;

  StoreOptions options_;
  std::string db_path_;
  std::string epoch_;
  std::optional<DocumentCipher> cipher_;
  DocumentCache cache_;
  CollectionConfigs configs_;
  ListenerRegistry listeners_;
  FeedObservers feed_observers_;
  WriterCounters counters_;
  std::unique_ptr<ReadConnectionPool> readers_;
  std::unique_ptr<GroupCommitWriter> writer_;
  std::atomic<bool> closed_{false};
};

}  // namespace peat::store

// DocumentStore: the node's document database as the services see it (interface). Collections of
// JSON documents, each a CRDT state (crdt::Document), with change listeners, collection lifecycle
// configs and optional per-leaf encryption. The same database has two more audiences, each with
// its own interface: the mesh replicates through ReplicationLog (replication_log.h: the change
// feed, merges, checkpoints) and keeps its peers in PeerStateStore (peer_state_store.h). Later
// parts (a blob store, the attachment registry) are further siblings, not more virtuals here.
// The SQLite implementation of all three is SqliteDocumentStore (sqlite_document_store.h); tests
// may substitute fakes of the one they need.
//
// Threading and durability:
// - Writes (Put/MergePut/Delete/SetCollectionConfig) are queued to one writer thread that commits
//   them in groups; `done` runs on the writer thread after the group containing the write is
//   durable (committed to the WAL). A write is acknowledged only then.
// - Reads are synchronous, thread-safe, and never wait for the writer (WAL readers).
// - Listeners are called on the writer thread, after commit, in commit (seq) order. They must not
//   block or call back into writes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/write_done.h"

namespace peat::store {

enum class DeletionPolicy { kSoftDelete = 1, kTombstone = 2, kImplicitTtl = 3, kImmutable = 4 };

struct CollectionConfig {
  std::string collection;
  DeletionPolicy deletion_policy = DeletionPolicy::kSoftDelete;
  std::optional<uint64_t> soft_delete_ttl_secs;
  std::optional<uint64_t> tombstone_ttl_secs;
};

struct ChangeEvent {
  uint64_t seq = 0;  // local change-feed position
  std::string collection;
  std::string doc_id;
  bool deleted = false;
  std::string json;  // canonical JSON of the new state (decrypted view); empty when deleted
};

class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // Called on the writer thread after commit. Must return quickly.
  virtual void OnChange(const ChangeEvent& event) = 0;
};

struct StoreLimits {
  size_t max_document_bytes = 1 << 20;
  int max_depth = 64;
};

struct CollectionCount {
  std::string collection;
  uint64_t documents = 0;  // live documents
};

class DocumentStore {
 public:
  using Done = WriteDone;

  virtual ~DocumentStore() = default;

  // --- Writes (asynchronous, group-committed) ---
  // Replaces the document with `json` (a JSON object). INVALID_ARGUMENT for bad JSON/limits;
  // RESOURCE_EXHAUSTED / UNAVAILABLE when the disk write fails (nothing changed).
  virtual void Put(std::string collection, std::string doc_id, std::string json, Done done) = 0;
  // Internal, not exposed over the API (the agent watcher's `nodes/<node_id>`, WATCHER.md §4):
  // a patch. Sets the top-level keys of `json` (a JSON object) and leaves every other top-level
  // field of the document as it is. Semantics (crdt::Document::MergePut): only the patch's keys
  // are stamped with the write's HLC timestamp, so the other fields keep their clocks and a
  // concurrent remote write to another field survives the merge on every replica; a key's new
  // value replaces its old one as in Put (a nested object is not merged into the old object);
  // keys whose value is unchanged are not touched, and a patch that changes nothing gets no seq
  // and no event. A missing or deleted document is created with exactly the patch's keys, as a
  // Put of `json` would recreate it. Otherwise it is a Put in every respect: same checks and
  // errors (INVALID_ARGUMENT also when the patched document would exceed the size limit),
  // encryption, group commit, change feed (one seq, one UPSERT event per effective patch) and
  // replication.
  virtual void MergePut(std::string collection, std::string doc_id, std::string json,
                        Done done) = 0;
  // Deletes (tombstone). Missing doc: OK. IMMUTABLE collection: FAILED_PRECONDITION.
  virtual void Delete(std::string collection, std::string doc_id, Done done) = 0;
  // Persists a collection config (replaces any previous one).
  virtual void SetCollectionConfig(CollectionConfig config, Done done) = 0;

  // --- Reads (synchronous, thread-safe) ---
  // Canonical JSON of a live document; nullopt if missing or deleted. FAILED_PRECONDITION
  // ("cannot decrypt") when encrypted values cannot be decrypted with this node's key.
  virtual StatusOr<std::optional<std::string>> Get(const std::string& collection,
                                                   const std::string& doc_id) = 0;
  // Live document ids of a collection, sorted bytewise.
  virtual StatusOr<std::vector<std::string>> List(const std::string& collection) = 0;
  // Every collection that holds live documents, with how many, sorted bytewise by name. One pass
  // over the documents (the console's collections view; not for a hot path).
  virtual StatusOr<std::vector<CollectionCount>> CountByCollection() = 0;
  // Every live document of the given collections (empty = all), in (collection, doc_id) order,
  // as UPSERT events with their current seq. `fn` returns false to stop early.
  virtual Status Scan(const std::vector<std::string>& collections,
                      const std::function<bool(const ChangeEvent&)>& fn) = 0;
  virtual StatusOr<std::optional<CollectionConfig>> GetCollectionConfig(
      const std::string& collection) = 0;
  virtual StatusOr<std::vector<CollectionConfig>> ListCollectionConfigs() = 0;

  // --- Change listeners ---
  // Register before scanning to get snapshot + live with no gap (duplicates possible).
  virtual uint64_t AddListener(std::shared_ptr<ChangeListener> listener) = 0;
  virtual void RemoveListener(uint64_t id) = 0;

  // Highest seq whose listener calls have completed. Read after AddListener() returns, it bounds
  // what the new listener can still receive: every later event has a larger seq. (The highest
  // committed seq is the replication log's: ReplicationLog::LastSeq.)
  virtual uint64_t NotifiedSeq() const = 0;
};

}  // namespace peat::store

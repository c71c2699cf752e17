// DocumentStore: the node's document database (interface). Collections of JSON documents, each a
// CRDT state (crdt::Document), with a change feed, change listeners, collection lifecycle
// configs and optional per-leaf encryption. The SQLite implementation is SqliteDocumentStore
// (sqlite_document_store.h); tests may substitute fakes.
//
// Threading and durability:
// - Writes (Put/Delete/SetCollectionConfig) are queued to one writer thread that commits them in
//   groups; `done` runs on the writer thread after the group containing the write is durable
//   (committed to the WAL). A write is acknowledged only then.
// - Reads are synchronous, thread-safe, and never wait for the writer (WAL readers).
// - Listeners are called on the writer thread, after commit, in commit (seq) order. They must not
//   block or call back into writes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

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

// --- Replication types (the mesh reads the change feed and merges peers' states) ---

// A document state as it travels between nodes: crdt::Document::Encode() bytes. Values stay as
// the sender stored them (ciphertext when the formation encrypts); the store never needs the key
// to merge them.
struct RemoteChange {
  std::string collection;
  std::string doc_id;
  std::string state;
};

// One change-feed entry: the current state of a document whose latest change got `seq`. The feed
// holds one entry per document (its latest), so reading it "since seq N" moves each changed
// document once, however often it changed.
struct FeedEntry {
  uint64_t seq = 0;
  std::string collection;
  std::string doc_id;
  std::string state;     // encoded crdt::Document
  std::string src_peer;  // endpoint id of the peer whose state this exactly equals; "" otherwise
};

// What to read from the change feed: entries with after_seq < seq <= upto_seq, optionally only
// (or all but) some collections — a priority lane of a replication session.
struct FeedQuery {
  uint64_t after_seq = 0;
  uint64_t upto_seq = UINT64_MAX;  // capped at LastSeq() when the query starts
  size_t max_entries = 512;
  size_t max_bytes = 256 * 1024;
  std::string skip_src_peer;             // leave out entries whose state came from this peer
  std::vector<std::string> collections;  // empty = every collection
  bool exclude_collections = false;      // true: every collection except `collections`
};

struct FeedPage {
  std::vector<FeedEntry> entries;  // ascending seq
  // Every seq <= this was considered (returned, skipped, or outside the query's collections):
  // upto_seq when the query ran out of rows, else the last row examined.
  uint64_t scanned_through = 0;
};

// Where this node is in a peer's change feed: the peer store's epoch and the last seq of that
// feed merged here. Empty epoch = never synced.
struct ReplicationCheckpoint {
  std::string epoch;
  uint64_t seq = 0;
};

// A peer this node dials (static --peer or ConnectPeer), persisted so it is redialed after a
// restart.
struct PeerRecord {
  std::string endpoint_id;             // 64 lowercase hex
  std::vector<std::string> addresses;  // "host:port"
  bool is_static = false;              // from --peer (re-registered at every boot)
};

struct StoreLimits {
  size_t max_document_bytes = 1 << 20;
  int max_depth = 64;
};

class DocumentStore {
 public:
  using Done = std::function<void(Status)>;

  virtual ~DocumentStore() = default;

  // --- Writes (asynchronous, group-committed) ---
  // Replaces the document with `json` (a JSON object). INVALID_ARGUMENT for bad JSON/limits;
  // RESOURCE_EXHAUSTED / UNAVAILABLE when the disk write fails (nothing changed).
  virtual void Put(std::string collection, std::string doc_id, std::string json, Done done) = 0;
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

  // --- Replication ---
  // Merges peers' states (one transaction for the batch, like a group of local writes) and
  // persists `checkpoint` for `peer_id` in the same transaction, so the checkpoint never runs
  // ahead of what was merged. Per change: decode (an undecodable or invalid change is skipped,
  // counted and logged; it never fails the batch), observe its timestamps in the HLC, merge;
  // if the state changed it gets the next seq, src_peer = peer_id when the merged state equals
  // the incoming one (else ""), and listeners get UPSERT/DELETE as for local writes. A merge that
  // changes nothing gets no seq. Storage failures fail the whole batch (nothing merged, checkpoint
  // unchanged) with the same codes as Put.
  virtual void MergeRemote(std::string peer_id, std::vector<RemoteChange> changes,
                           ReplicationCheckpoint checkpoint, Done done) = 0;
  // Up to `max_entries` feed entries matching `query` in seq order (at least one if any, then
  // stopping before `max_bytes` of state would be exceeded). Entries whose src_peer ==
  // skip_src_peer (when non-empty) are left out but still counted in scanned_through. Never waits
  // for the writer.
  virtual StatusOr<FeedPage> ReadFeed(const FeedQuery& query) = 0;
  // The persisted checkpoint for `peer_id` ({"", 0} if none).
  virtual StatusOr<ReplicationCheckpoint> GetCheckpoint(const std::string& peer_id) = 0;
  // Random id of this store instance, created with the database: a peer whose epoch changed has
  // lost its data, and checkpoints against its old feed are void.
  virtual std::string Epoch() const = 0;
  // Peer registry (persisted through the writer; `done` once durable).
  virtual void SavePeer(PeerRecord record, Done done) = 0;
  virtual void RemovePeer(std::string endpoint_id, Done done) = 0;
  virtual StatusOr<std::vector<PeerRecord>> ListPeerRecords() = 0;
  // Formation members (peers that ever synced with us) and the position of our feed each has
  // acknowledged: a tombstone is purged only once every member acknowledged its seq
  // (LESSONS.md 11). SaveMemberAck keeps the larger of the stored and the given seq.
  virtual void SaveMemberAck(std::string peer_id, uint64_t seq, Done done) = 0;
  virtual void RemoveMember(std::string peer_id, Done done) = 0;
  virtual StatusOr<std::vector<std::pair<std::string, uint64_t>>> ListMemberAcks() = 0;

  // Highest committed seq.
  virtual uint64_t LastSeq() const = 0;
  // Highest seq whose listener calls have completed. Read after AddListener() returns, it bounds
  // what the new listener can still receive: every later event has a larger seq.
  virtual uint64_t NotifiedSeq() const = 0;
};

}  // namespace peat::store

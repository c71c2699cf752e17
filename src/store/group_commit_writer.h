// GroupCommitWriter: the store's single writer. One thread owns the write connection and the
// HLC; Put/Delete/SetCollectionConfig, replication merges and peer registry writes (and GC work)
// are queued as WriteOps and committed in groups: the thread drains up to max_group_ops queued
// ops, runs BEGIN IMMEDIATE, applies each op (CRDT Put/Delete at a fresh HLC timestamp against the
// current state, encryption, UPSERT with the next seq only when something changed), COMMITs, and
// only then publishes the new states to the cache, calls the listeners (events in seq order) and
// runs every op's `done`.
//
// Replication (kMergeRemote): one op carries a peer's batch of encoded states and the checkpoint
// to persist with them. Per state: validate the key, the size (<= 2 x max_document_bytes, states
// carry timestamps) and the encoding; a bad one is skipped and counted (remote_rejected, one warn
// log per batch, no values). Otherwise observe its newest timestamp in the HLC and merge it into
// the current state (staged in this group, else cache, else row); if that changed anything the
// row gets the next seq and src_peer = the sender when the merged state equals the sender's (else
// ""), and listeners get UPSERT (live) or DELETE (was live, is not) — nothing when it stays
// deleted. Collection policies and the encryption key never block a merge; with a key, a state
// holding clear field names (the old scheme's, or a keyless writer's) is first moved to encrypted
// names (DocumentCipher::Normalize) when the document proves the key is its key, so no relay
// reintroduces clear names here; src_peer then compares with the converted state. The
// checkpoint row is
// written last, in the same transaction, whether or not anything changed. kSavePeer/kRemovePeer
// maintain the peer registry. Local writes store src_peer = "".
//
// Failure model: an op that is invalid (bad JSON, limits, IMMUTABLE, cannot decrypt) fails alone.
// A storage failure (any statement or the COMMIT: SQLITE_FULL → RESOURCE_EXHAUSTED "disk full",
// SQLITE_IOERR → UNAVAILABLE) rolls the whole group back and fails each of its ops with that
// status; the seq counter, HLC, cache, counters and configs are left exactly as before the group,
// and the writer carries on with the next group.
//
// GC: every gc_interval (and on RequestGc) the thread runs a pass over the configured
// collections — IMPLICIT_TTL documents not updated for soft_delete_ttl_secs are deleted (real
// deletes: seq + DELETE event), TOMBSTONE tombstones older than their TTL are purged (row removed,
// no event) unless the TombstoneAckTracker vetoes and the upper bound has not passed — in batches
// of gc_batch per collection, through the same group commit path.
//
// Thread-safe: Submit/RequestGc/Stop from any thread; everything else runs on the writer thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "crdt/document.h"
#include "crdt/hlc.h"
#include "store/collection_configs.h"
#include "store/document_cache.h"
#include "store/document_cipher.h"
#include "store/document_store.h"
#include "store/listener_registry.h"
#include "store/sqlite_connection.h"
#include "store/store_options.h"

namespace peat::store {

struct WriteOp {
  enum class Kind {
    kPut,
    kDelete,
    kSetConfig,
    kExpire,
    kPurge,
    kMergeRemote,
    kSavePeer,
    kRemovePeer,
    kSaveMemberAck,  // peer_id, checkpoint.seq
    kRemoveMember    // peer_id
  };
  Kind kind = Kind::kPut;
  std::string collection;
  std::string doc_id;
  std::string json;         // kPut
  CollectionConfig config;  // kSetConfig
  uint64_t cutoff_ms = 0;   // kExpire/kPurge: act only if updated_ms is still older than this
  uint64_t now_ms = 0;      // kPurge: the pass's clock reading (tombstone age for the bound)
  // kMergeRemote: the sending peer, its states, and the checkpoint to persist with them.
  // kRemovePeer: peer_id is the endpoint id to remove.
  std::string peer_id;
  std::vector<RemoteChange> changes;
  ReplicationCheckpoint checkpoint;
  PeerRecord peer;  // kSavePeer
  Status precheck;  // non-OK: fail with it without touching the database
  DocumentStore::Done done;
};

// Counters the writer maintains (read by SqliteDocumentStore::Stats()).
struct WriterCounters {
  std::atomic<uint64_t> transactions{0};
  std::atomic<uint64_t> committed_ops{0};
  std::atomic<uint64_t> failed_groups{0};
  std::atomic<uint64_t> max_group_ops{0};
  std::atomic<int64_t> live_documents{0};
  std::atomic<int64_t> tombstones{0};
  std::atomic<uint64_t> tombstones_purged{0};
  std::atomic<uint64_t> tombstones_force_purged{0};
  std::atomic<uint64_t> documents_expired{0};
  std::atomic<uint64_t> gc_passes{0};
  std::atomic<uint64_t> remote_merged{0};     // remote changes that changed the local state
  std::atomic<uint64_t> remote_unchanged{0};  // remote changes that changed nothing
  std::atomic<uint64_t> remote_rejected{0};   // remote changes skipped (invalid, undecodable)
};

// What the writer shares with the rest of the store (all owned by SqliteDocumentStore).
struct WriterContext {
  const StoreOptions* options = nullptr;
  DocumentCache* cache = nullptr;
  CollectionConfigs* configs = nullptr;
  ListenerRegistry* listeners = nullptr;
  const DocumentCipher* cipher = nullptr;  // null: no encryption
  WriterCounters* counters = nullptr;
};

class GroupCommitWriter {
 public:
  // `db` is the write connection (schema ready). `last_seq`/`hlc` restore the persisted state.
  GroupCommitWriter(SqliteConnection db, WriterContext ctx, uint64_t last_seq, uint64_t hlc);
  ~GroupCommitWriter();
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Prepares the statements and starts the thread.
  Status Start();
  // Queues an op. When stopped or the queue is full, `done` runs at once on the calling thread
  // (UNAVAILABLE "store closed" / RESOURCE_EXHAUSTED "write queue full").
  void Submit(WriteOp op);
  // Runs a GC pass as soon as possible; `done` after its groups committed.
  void RequestGc(DocumentStore::Done done);
  // Commits everything already queued, then stops the thread and closes the connection.
  void Stop();

  uint64_t last_seq() const { return last_seq_published_.load(std::memory_order_acquire); }
  uint64_t last_hlc() const { return hlc_published_.load(std::memory_order_acquire); }
  size_t queued() const;

 private:
  struct Staged {  // a document's state as changed earlier in the current group
    bool exists = false;
    std::string state;
    bool live = false;
    uint64_t seq = 0;
    std::string json;
    // false: the JSON could not be rendered (values this node cannot decrypt); the cache entry
    // is erased on commit instead, so Get reads the row and reports the error as usual.
    bool cacheable = true;
  };
  struct Current {
    bool exists = false;
    crdt::Document doc;
    bool live = false;
    uint64_t seq = 0;
    uint64_t updated_ms = 0;
  };
  struct Group {
    std::unordered_map<std::string, Staged> staged;
    std::map<std::string, CollectionConfig> configs;
    std::vector<ChangeEvent> events;
    int64_t live_delta = 0;
    int64_t tombstone_delta = 0;
    uint64_t purged = 0;
    uint64_t force_purged = 0;
    uint64_t expired = 0;
    uint64_t remote_merged = 0;
    uint64_t remote_unchanged = 0;
    uint64_t remote_rejected = 0;
    bool wrote = false;
  };
  // An op's outcome: `status` for the op; `fatal` when the storage failed (abort the group).
  struct OpResult {
    Status status;
    bool fatal = false;
  };

  void Run();
  // Commits one group; returns the storage status (OK or the error every op was failed with).
  Status CommitGroup(std::vector<WriteOp>& ops);
  // Returns true when a batch came back full and made progress (run again soon).
  bool RunGcPass(std::vector<DocumentStore::Done> waiters);

  OpResult Apply(WriteOp& op, Group& g);
  OpResult ApplyPut(WriteOp& op, Group& g);
  OpResult ApplyDelete(WriteOp& op, Group& g, bool expire);
  OpResult ApplyPurge(WriteOp& op, Group& g);
  OpResult ApplySetConfig(WriteOp& op, Group& g);
  OpResult ApplyMergeRemote(WriteOp& op, Group& g);
  OpResult ApplySavePeer(WriteOp& op, Group& g);
  OpResult ApplyRemovePeer(WriteOp& op, Group& g);
  OpResult ApplySaveMemberAck(WriteOp& op, Group& g);
  OpResult ApplyRemoveMember(WriteOp& op, Group& g);

  // Loads the current state of a document: this group's staged state, else the cache, else the
  // database. A storage error is fatal; an undecodable row is DATA_LOSS for the op only.
  OpResult Load(const std::string& collection, const std::string& doc_id, const std::string& key,
                Group& g, Current& out);
  // Stores a changed state with the next seq. Listeners get UPSERT when the document is live
  // afterwards, DELETE when it was live before and is not now, nothing when it stays deleted.
  // `cacheable` false: `json` is unknown (see Staged::cacheable).
  OpResult WriteDoc(const std::string& collection, const std::string& doc_id,
                    const std::string& key, const crdt::Document& stored, bool live,
                    std::string json, const Current& before, Group& g,
                    const std::string& src_peer = std::string(), bool cacheable = true);
  std::optional<CollectionConfig> ConfigOf(const std::string& collection, const Group& g) const;
  uint64_t NowMs() const;

  SqliteConnection db_;
  WriterContext ctx_;
  crdt::HlcClock clock_;
  uint64_t last_seq_;  // writer thread only
  std::atomic<uint64_t> last_seq_published_;
  std::atomic<uint64_t> hlc_published_;

  SqliteStatement begin_, commit_, rollback_;
  SqliteStatement select_doc_, upsert_doc_, delete_doc_, upsert_config_, upsert_meta_;
  SqliteStatement gc_live_older_, gc_dead_older_;
  SqliteStatement upsert_checkpoint_, upsert_peer_, delete_peer_;
  SqliteStatement upsert_member_ack_, delete_member_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WriteOp> queue_;
  std::vector<DocumentStore::Done> gc_waiters_;
  bool gc_requested_ = false;
  bool stopping_ = false;
  bool started_ = false;
  std::thread thread_;
};

}  // namespace peat::store

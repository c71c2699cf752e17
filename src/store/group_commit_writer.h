// GroupCommitWriter: the store's single writer — the engine. One thread owns the write
// connection and the HLC; writes (document writes, collection configs, replication merges, peer
// state, and the GC's expiries and purges) are queued as WriteOps (write_op.h) and committed in
// groups: the thread drains up to max_group_ops queued ops, runs BEGIN IMMEDIATE, applies each op
// through its applier (document_writes, config_writes, remote_merge, peer_state_writes; they see
// only a WriteContext: staged group state, statements, cipher, clock), writes meta (last seq,
// HLC), COMMITs, and only then publishes: the new states to the cache, the configs, the
// counters and the seq; then it tells the feed observers once ("feed advanced to N", when the
// group gave anything a seq), calls the listeners (events in seq order) and runs every op's
// `done`. Publish, observers and listener calls run under the ListenerRegistry's lock, so a
// listener registering meanwhile either gets the group's events or reads a NotifiedSeq that
// covers them; when no listener is registered the events' JSON moves to the cache instead of
// being copied. Local writes store src_peer = "".
//
// Failure model: an op that is invalid (bad JSON, limits, IMMUTABLE, cannot decrypt) fails alone.
// A storage failure (any statement or the COMMIT: SQLITE_FULL → RESOURCE_EXHAUSTED "disk full",
// SQLITE_IOERR → UNAVAILABLE) rolls the whole group back and fails each of its ops with that
// status (ops that failed validation keep their own error); the seq counter, HLC, cache,
// counters and configs are left exactly as before the group, nobody is told anything, and the
// writer carries on with the next group.
//
// GC: every gc_interval (and on RequestGc) the thread runs a pass over the configured
// collections — IMPLICIT_TTL documents not updated for soft_delete_ttl_secs are expired
// (ExpireOp: real deletes, seq + DELETE event), TOMBSTONE tombstones older than their TTL are
// purged (PurgeOp: row removed, no event) unless the TombstoneAckTracker vetoes and the upper
// bound has not passed — in batches of gc_batch per collection, through the same group commit.
//
// Thread-safe: Submit/RequestGc/Stop from any thread; everything else runs on the writer thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"
#include "crdt/hlc.h"
#include "store/collection_configs.h"
#include "store/document_cache.h"
#include "store/document_cipher.h"
#include "store/feed_observers.h"
#include "store/listener_registry.h"
#include "store/sqlite_connection.h"
#include "store/store_options.h"
#include "store/write_context.h"
#include "store/write_op.h"

namespace peat::store {

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
struct WriterEnv {
  const StoreOptions* options = nullptr;
  DocumentCache* cache = nullptr;
  CollectionConfigs* configs = nullptr;
  ListenerRegistry* listeners = nullptr;
  FeedObservers* feed_observers = nullptr;
  const DocumentCipher* cipher = nullptr;  // null: no encryption
  WriterCounters* counters = nullptr;
};

class GroupCommitWriter {
 public:
  // `db` is the write connection (schema ready). `last_seq`/`hlc` restore the persisted state.
  GroupCommitWriter(SqliteConnection db, WriterEnv env, uint64_t last_seq, uint64_t hlc);
  ~GroupCommitWriter();
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Prepares the statements and starts the thread.
  Status Start();
  // Queues an op. When stopped or the queue is full, `done` runs at once on the calling thread
  // (UNAVAILABLE "store closed" / RESOURCE_EXHAUSTED "write queue full").
  void Submit(WriteOp op);
  // Runs a GC pass as soon as possible; `done` after its groups committed.
  void RequestGc(WriteDone done);
  // Commits everything already queued, then stops the thread and closes the connection.
  void Stop();

  uint64_t last_seq() const { return last_seq_published_.load(std::memory_order_acquire); }
  uint64_t last_hlc() const { return hlc_published_.load(std::memory_order_acquire); }
  size_t queued() const;

 private:
  void Run();
  // Commits one group; returns the storage status (OK or the error every op was failed with).
  Status CommitGroup(std::vector<WriteOp>& ops);
  // Returns true when a batch came back full and made progress (run again soon).
  bool RunGcPass(std::vector<WriteDone> waiters);
  // After COMMIT: the staged states to the cache, the configs, the counters. `move_json`: no
  // listener will read the group's events, so their JSON moves to the cache instead of a copy.
  void Publish(StagedGroup& g, bool move_json);

  uint64_t NowMs() const;

  SqliteConnection db_;
  WriterEnv env_;
  crdt::HlcClock clock_;
  uint64_t last_seq_;  // writer thread only
  std::atomic<uint64_t> last_seq_published_;
  std::atomic<uint64_t> hlc_published_;

  SqliteStatement begin_, commit_, rollback_, upsert_meta_;
  SqliteStatement gc_live_older_, gc_dead_older_;
  WriteStatements stmts_;  // the appliers'

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WriteOp> queue_;
  std::vector<WriteDone> gc_waiters_;
  bool gc_requested_ = false;
  bool stopping_ = false;
  bool started_ = false;
  std::thread thread_;
};

}  // namespace peat::store

// StoreOptions (how SqliteDocumentStore::Open configures a store) and StoreStats (its counters).
//
// Plain values; StoreOptions is move-only because it may carry the encryption key.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "crypto/secure_bytes.h"
#include "store/document_store.h"
#include "store/tombstone_ack_tracker.h"

namespace peat::store {

struct StoreOptions {
  // Directory of the store; created if missing. The database is `<data_dir>/peat.db` (+ -wal,
  // -shm).
  std::string data_dir;
  // This node's HLC tie-breaker (derived by the caller from its endpoint id). Must be non-zero.
  uint64_t node_tag = 0;
  // Empty: no encryption. Otherwise the 32-byte --encryption-key; values are encrypted with a
  // subkey derived by HKDF-SHA256 (info "peat-node/v1/document-values").
  SecureBytes encryption_key;
  StoreLimits limits;
  // Wall-clock milliseconds since the epoch (HLC, updated_ms, TTLs). Null: the system clock.
  std::function<uint64_t()> now_ms;
  // --max-clock-skew: how far a remote clock may pull the HLC ahead of wall time.
  uint64_t max_clock_skew_ms = 60'000;

  // --- Collection lifecycle ---
  // TOMBSTONE collections whose tombstone_ttl_secs is 0/unset use this (--tombstone-ttl-hours).
  uint64_t default_tombstone_ttl_secs = 7 * 24 * 3600;
  // Purge of a tombstone the ack tracker still vetoes happens once it is this old (metric:
  // tombstones_force_purged). Also the longest any tombstone waits for acknowledgements.
  uint64_t tombstone_ttl_upper_bound_secs = 30 * 24 * 3600;
  // Null: no known formation members (every delete counts as acknowledged).
  std::shared_ptr<TombstoneAckTracker> ack_tracker;
  // How often the writer runs a GC pass (tombstone purge + IMPLICIT_TTL expiry); 0 disables the
  // timer (CollectGarbage still works). Each pass handles at most gc_batch documents per collection
  // and rearms immediately while a batch came back full.
  std::chrono::milliseconds gc_interval{60'000};
  size_t gc_batch = 500;

  // --- Writer ---
  size_t max_group_ops = 1024;      // ops per transaction (1 = no grouping; used by benchmarks)
  size_t max_queued_ops = 100'000;  // beyond this Put/Delete fail RESOURCE_EXHAUSTED
  // false: PRAGMA synchronous=NORMAL. In WAL mode a commit is then in the OS page cache before it
  // is acknowledged, which survives kill -9 of the process (BEHAVIOR.md durability) but not power
  // loss. true: synchronous=FULL (fsync the WAL on every commit group) for power-loss durability.
  bool synchronous_full = false;

  // --- Readers / cache ---
  size_t max_idle_read_connections = 4;
  size_t cache_max_entries = 10'000;
  size_t cache_max_bytes = 64u << 20;

  // --- Tests ---
  // SQLite VFS name to open the database with (FaultInjectionVfs); empty = SQLite's default.
  std::string sqlite_vfs;

  // Every field except the key (StoreOptions is move-only because of it). Keep in sync when
  // adding fields.
  StoreOptions CopyWithoutKey() const {
    StoreOptions o;
    o.data_dir = data_dir;
    o.node_tag = node_tag;
    o.limits = limits;
    o.now_ms = now_ms;
    o.max_clock_skew_ms = max_clock_skew_ms;
    o.default_tombstone_ttl_secs = default_tombstone_ttl_secs;
    o.tombstone_ttl_upper_bound_secs = tombstone_ttl_upper_bound_secs;
    o.ack_tracker = ack_tracker;
    o.gc_interval = gc_interval;
    o.gc_batch = gc_batch;
    o.max_group_ops = max_group_ops;
    o.max_queued_ops = max_queued_ops;
    o.synchronous_full = synchronous_full;
    o.max_idle_read_connections = max_idle_read_connections;
    o.cache_max_entries = cache_max_entries;
    o.cache_max_bytes = cache_max_bytes;
    o.sqlite_vfs = sqlite_vfs;
    return o;
  }
};

struct StoreStats {
  uint64_t transactions = 0;             // committed write transactions (groups)
  uint64_t committed_ops = 0;            // ops acknowledged OK by committed groups
  uint64_t failed_groups = 0;            // groups rolled back because the storage failed
  uint64_t max_group_ops = 0;            // largest group committed so far
  uint64_t live_documents = 0;           // rows with a live document
  uint64_t tombstones = 0;               // rows holding a deleted document (kept for replication)
  uint64_t tombstones_purged = 0;        // rows removed by TOMBSTONE purge
  uint64_t tombstones_force_purged = 0;  // ... of which purged at the TTL upper bound, unacked
  uint64_t documents_expired = 0;        // IMPLICIT_TTL deletes
  uint64_t gc_passes = 0;
  uint64_t remote_merged = 0;     // remote changes (MergeRemote) that changed the local state
  uint64_t remote_unchanged = 0;  // remote changes that changed nothing (no seq)
  uint64_t remote_rejected = 0;   // remote changes skipped: invalid key/size, undecodable state
  uint64_t cache_entries = 0;
  uint64_t cache_bytes = 0;
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;
  uint64_t queued_ops = 0;
};

}  // namespace peat::store

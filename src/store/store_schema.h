// The SQLite schema of the document store, its migrations, the meta table, and the cheap
// integrity check run at open.
//
//   docs(collection, doc_id, live, seq, updated_ms, src_peer, state)  a rowid table (v4);
//       UNIQUE index docs_by_key (collection, doc_id) (the key: point reads, upserts, sorted
//       scans); UNIQUE index docs_by_seq (seq) (the change feed); index docs_by_age (live,
//       collection, updated_ms) for lifecycle GC and tombstone counts.
//       state = crdt::Document::Encode(); updated_ms = wall ms of the state's newest timestamp
//       (its HLC, so every replica computes the same age); src_peer = endpoint id of the peer
//       whose state the row exactly equals after a remote merge, "" for local changes (v2).
//       Rowid, not WITHOUT ROWID: a WITHOUT ROWID table is an index b-tree, which keeps at most
//       ~1,000 bytes of a record in a 4 KiB page and puts the rest in an overflow page of its
//       own; encrypted states are often bigger than that. A rowid table keeps up to 4,061 bytes
//       in the page. `state` is the last column so an overflowing row keeps the others inline.
//   meta(key, value): schema_version, epoch (random, names this store instance for replication),
//       last_seq (never goes backwards, even when the row holding it is purged), hlc,
//       field_names (1: every field name was made opaque at the last open with a key; see
//       field_name_migration.h — no schema change, so no version step).
//   collection_configs(collection, deletion_policy, soft_delete_ttl_secs, tombstone_ttl_secs).
//   peers(endpoint_id, addresses ("\n"-joined host:port), is_static) (v2): the peer registry.
//   peer_checkpoints(peer_id, epoch, seq) (v2): how far this store has merged each peer's feed.
//   member_acks(peer_id, seq) (v3): formation members and how far each acknowledged our feed.
//
// Versions: 1 = docs/meta/collection_configs; 2 = + docs.src_peer, peers, peer_checkpoints;
// 3 = + member_acks; 4 = docs rebuilt as a rowid table (was WITHOUT ROWID, PRIMARY KEY
// (collection, doc_id)), then VACUUM once to return the old table's pages.
// A fresh store runs every step (v1 to v4) in the one migration transaction.
//
// Functions run on one connection from one thread.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "store/sqlite_connection.h"

namespace peat::store {

inline constexpr int64_t kSchemaVersion = 4;

struct StoreMeta {
  int64_t schema_version = 0;
  std::string epoch;  // 32 lowercase hex chars
  uint64_t last_seq = 0;
  uint64_t hlc = 0;
};

// Creates the schema in an empty database or migrates an older one to kSchemaVersion, and makes
// sure an epoch exists. FAILED_PRECONDITION if the store was written by a newer schema.
Status InitializeSchema(SqliteConnection& db);
// Reads meta (last_seq is max(meta.last_seq, max(docs.seq))).
StatusOr<StoreMeta> LoadMeta(SqliteConnection& db);
// Cheap sanity check: PRAGMA quick_check when the database is at most `full_check_max_bytes`,
// and always decoding the most recently written documents. DATA_LOSS on corruption.
Status CheckIntegrity(SqliteConnection& db, int64_t full_check_max_bytes);

}  // namespace peat::store

// WriteContext: what a write applier sees of the group commit it runs in. The GroupCommitWriter
// (the engine: queue, transaction, publish) makes one per group; appliers (document_writes,
// config_writes, remote_merge, peer_state_writes) stage their effects in it and never see the
// writer itself.
//
// - StagedGroup: what the group's ops changed so far (document states, configs, listener events,
//   counter deltas, the seq counter). The writer publishes it after COMMIT and drops it on
//   ROLLBACK, which is how a storage failure leaves seq, cache, counters and configs untouched.
// - WriteStatements: the writer connection's prepared statements the appliers use.
// - Load/WriteDoc: the read-modify-write steps the document appliers share.
//
// Failure model (GroupCommitWriter): an applier returns OpResult{status, fatal}. fatal = a
// statement failed (the storage failed): the engine rolls the whole group back. Non-fatal errors
// (invalid input, IMMUTABLE, cannot decrypt) fail that op alone.
//
// Writer thread only; nothing here is thread-safe.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "crdt/document.h"
#include "crdt/hlc.h"
#include "store/collection_configs.h"
#include "store/document_cache.h"
#include "store/document_cipher.h"
#include "store/document_store.h"
#include "store/sqlite_connection.h"
#include "store/store_options.h"

namespace peat::store {

// An op's outcome: `status` for the op; `fatal` when the storage failed (abort the group).
struct OpResult {
  Status status;
  bool fatal = false;
};

struct StagedGroup {
  static constexpr size_t kNoEvent = static_cast<size_t>(-1);
  struct Doc {  // a document's state as changed earlier in the group
    bool exists = false;
    std::string state;
    bool live = false;
    uint64_t seq = 0;
    // The event (index in StagedGroup::events) whose `json` is this live state's canonical
    // JSON; kNoEvent when not live. The JSON lives in the event only, and goes to the cache
    // from there (moved when no listener will read the event).
    size_t event = kNoEvent;
    // false: the JSON could not be rendered (values this node cannot decrypt); the cache entry
    // is erased on commit instead, so Get reads the row and reports the error as usual.
    bool cacheable = true;
  };
  std::unordered_map<std::string, Doc> docs;  // by DocumentCache::Key
  std::map<std::string, CollectionConfig> configs;
  std::vector<ChangeEvent> events;  // seq order
  uint64_t last_seq = 0;            // the seq counter: the next change gets last_seq + 1
  int64_t live_delta = 0;
  int64_t tombstone_delta = 0;
  uint64_t purged = 0;
  uint64_t force_purged = 0;
  uint64_t expired = 0;
  uint64_t remote_merged = 0;
  uint64_t remote_unchanged = 0;
  uint64_t remote_rejected = 0;
  bool wrote = false;  // some statement changed the database (meta is written with the group)
};

struct WriteStatements {
  SqliteStatement select_doc, upsert_doc, delete_doc, upsert_config;
  SqliteStatement upsert_checkpoint, upsert_peer, delete_peer, upsert_member_ack, delete_member;

  Status Prepare(SqliteConnection& db);
  // Finalizes every statement (before the connection closes).
  void Clear();
};

class WriteContext {
 public:
  // Everything must outlive the context (one group).
  WriteContext(const StoreOptions& options, const DocumentCipher* cipher, crdt::HlcClock& clock,
               DocumentCache& cache, const CollectionConfigs& configs, WriteStatements& stmts,
               sqlite3* db, StagedGroup& group)
      : options(options),
        cipher(cipher),
        clock(clock),
        stmts(stmts),
        group(group),
        cache_(cache),
        configs_(configs),
        db_(db) {}

  // A document's current state, as Load finds it.
  struct Current {
    bool exists = false;
    crdt::Document doc;
    bool live = false;
    uint64_t seq = 0;
    uint64_t updated_ms = 0;
  };

  // Loads the current state of a document: this group's staged state, else the cache, else the
  // database. A storage error is fatal; an undecodable row is DATA_LOSS for the op only.
  OpResult Load(const std::string& collection, const std::string& doc_id, const std::string& key,
                Current& out);
  // Stores a changed state with the next seq. Listeners get UPSERT when the document is live
  // afterwards, DELETE when it was live before and is not now, nothing when it stays deleted.
  // `cacheable` false: `json` is unknown (see StagedGroup::Doc::cacheable). `key` is
  // DocumentCache::Key(collection, doc_id), moved into the staged group.
  OpResult WriteDoc(const std::string& collection, const std::string& doc_id, std::string key,
                    const crdt::Document& stored, bool live, std::string json,
                    const Current& before, const std::string& src_peer = std::string(),
                    bool cacheable = true);
  // The collection's config as of this point of the group.
  std::optional<CollectionConfig> ConfigOf(const std::string& collection) const;
  // A failed statement's status (fatal for the group).
  OpResult StorageFailure(int rc, std::string_view what) const {
    return {SqliteStatus(rc, what, db_), true};
  }

  const StoreOptions& options;
  const DocumentCipher* cipher;  // null: no encryption
  crdt::HlcClock& clock;
  WriteStatements& stmts;
  StagedGroup& group;

 private:
  DocumentCache& cache_;
  const CollectionConfigs& configs_;
  sqlite3* db_;
};

// Seconds → ms, saturating.
uint64_t SecsToMs(uint64_t secs);

// Runs `stmt` (no rows expected) and marks the group as having written; a failure is fatal.
OpResult RunWrite(SqliteStatement& stmt, std::string_view what, StagedGroup& group);

}  // namespace peat::store

// Opaque field names for stores written before them (docs/ARCHITECTURE.md "Encryption").
//
// MigrateFieldNames (open with a key): every document whose stored state holds a register under a
// clear name (the old scheme: clear names, "ENC:v1:" values) is rewritten in
// DocumentCipher::Normalize form, keeping its seq, live, updated_ms and src_peer: the change feed
// does not move and nothing is re-sent (every keyed peer migrates its own store, and tokens are
// deterministic, so replicas that held equal states hold equal states afterwards). Values are not
// re-encrypted (they are bound to the plaintext path).
// The key must be the store's: a document is rewritten when its first encrypted value or name
// opens with the key, never when it does not; one with nothing encrypted (only clear values,
// tombstones, object markers) when some document of the store proved the key, or none disproved
// it (a store that never had a key). If documents disprove the key and none proves it (a wrong
// key), nothing is rewritten.
// Two passes: a read-only one that stops at the first proof, then the rewrite in transactions of
// kFieldNameMigrationBatchRows rows; the last one sets meta 'field_names' = 1 (done, unless the
// key was wrong), so a later open skips the scan and a crash mid-way resumes at the next open.
// Logs how many documents it rewrote.
// ForgetFieldNameMigration (open without a key): such a node writes clear names again, so the
// mark is dropped and the next open with the key checks every document again.
//
// Run on the write connection at open, before the writer starts (one thread).
#pragma once

#include <cstddef>

#include "common/status.h"
#include "store/document_cipher.h"
#include "store/sqlite_connection.h"

namespace peat::store {

inline constexpr size_t kFieldNameMigrationBatchRows = 256;

struct FieldNameMigration {
  bool already_done = false;  // the mark was set: nothing scanned
  size_t scanned = 0;         // documents examined by the rewrite pass
  size_t rewritten = 0;
  size_t wrong_key = 0;  // documents left alone: their encrypted content does not open
};

StatusOr<FieldNameMigration> MigrateFieldNames(SqliteConnection& db, const DocumentCipher& cipher);
Status ForgetFieldNameMigration(SqliteConnection& db);

}  // namespace peat::store

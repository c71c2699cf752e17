#include "store/store_schema.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>

#include "common/hex.h"
#include "crdt/document.h"
#include "crypto/random.h"

namespace peat::store {
namespace {

constexpr const char* kCreateV1 = R"sql(
CREATE TABLE IF NOT EXISTS meta(
  key TEXT PRIMARY KEY NOT NULL,
  value
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS docs(
  collection TEXT NOT NULL,
  doc_id TEXT NOT NULL,
  state BLOB NOT NULL,
  live INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY(collection, doc_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS docs_by_seq ON docs(seq);
CREATE INDEX IF NOT EXISTS docs_by_age ON docs(live, collection, updated_ms);
CREATE TABLE IF NOT EXISTS collection_configs(
  collection TEXT PRIMARY KEY NOT NULL,
  deletion_policy INTEGER NOT NULL,
  soft_delete_ttl_secs INTEGER,
  tombstone_ttl_secs INTEGER
) WITHOUT ROWID;
)sql";

// v2 (replication): docs.src_peer (the peer whose state a row exactly equals, "" otherwise), the
// peer registry and the per-peer replication checkpoints.
// v3: formation members and how far each acknowledged our feed (tombstone purge asks).
constexpr const char* kMigrateV2ToV3 = R"sql(
CREATE TABLE IF NOT EXISTS member_acks(
  peer_id TEXT PRIMARY KEY NOT NULL,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

constexpr const char* kMigrateV1ToV2 = R"sql(
ALTER TABLE docs ADD COLUMN src_peer TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS peers(
  endpoint_id TEXT PRIMARY KEY NOT NULL,
  addresses TEXT NOT NULL,
  is_static INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS peer_checkpoints(
  peer_id TEXT PRIMARY KEY NOT NULL,
  epoch TEXT NOT NULL,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// v4: docs becomes a rowid table. As a WITHOUT ROWID table it was an index b-tree, whose largest
// in-page record with 4 KiB pages is about 1,000 bytes ((U-12)*64/255-23); an encrypted state is
// often larger, and every such row spilled into an overflow page of its own (a 4 KiB page per
// row). A rowid table keeps records up to U-35 = 4,061 bytes in the page. The key becomes the
// unique index docs_by_key (ON CONFLICT(collection, doc_id) upserts name it). `state` moves to
// the end of the record, so a row that still overflows keeps its small columns in the page.
// The rebuild runs in the migration transaction: a crash leaves the v3 store as it was, and the
// leading DROP makes the step safe to run again.
constexpr const char* kMigrateV3ToV4 = R"sql(
DROP TABLE IF EXISTS docs_v4;
CREATE TABLE docs_v4(
  collection TEXT NOT NULL,
  doc_id TEXT NOT NULL,
  live INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  src_peer TEXT NOT NULL DEFAULT '',
  state BLOB NOT NULL
);
INSERT INTO docs_v4(collection, doc_id, live, seq, updated_ms, src_peer, state)
  SELECT collection, doc_id, live, seq, updated_ms, src_peer, state FROM docs
  ORDER BY collection, doc_id;
DROP TABLE docs;
ALTER TABLE docs_v4 RENAME TO docs;
CREATE UNIQUE INDEX docs_by_key ON docs(collection, doc_id);
CREATE UNIQUE INDEX docs_by_seq ON docs(seq);
CREATE INDEX docs_by_age ON docs(live, collection, updated_ms);
)sql";

StatusOr<std::optional<int64_t>> MetaInt(SqliteConnection& db, const char* key) {
  auto st = db.Prepare("SELECT value FROM meta WHERE key = ?1");
  if (!st.ok()) return st.status();
  st->BindText(1, key);
  const int rc = st->Step();
  if (rc == SQLITE_DONE) return std::optional<int64_t>();
  if (rc != SQLITE_ROW) return SqliteStatus(rc, "read meta", db.get());
  return std::optional<int64_t>(st->ColumnInt64(0));
}

}  // namespace

Status InitializeSchema(SqliteConnection& db) {
  PEAT_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  auto fail = [&](Status s) {
    (void)db.Exec("ROLLBACK");
    return s;
  };
  auto has_meta =
      db.QueryInt("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
  if (!has_meta.ok()) return fail(has_meta.status());
  int64_t version = 0;
  if (*has_meta > 0) {
    auto v = MetaInt(db, "schema_version");
    if (!v.ok()) return fail(v.status());
    version = v->value_or(0);
  }
  if (version > kSchemaVersion) {
    return fail(FailedPreconditionError("store schema version " + std::to_string(version) +
                                        " is newer than this peat-node understands (" +
                                        std::to_string(kSchemaVersion) + ")"));
  }
  // Migrations: each step takes the schema from version N to N+1, inside this transaction.
  if (version < 1) {
    if (Status s = db.Exec(kCreateV1); !s.ok()) return fail(s);
  }
  if (version < 2) {
    if (Status s = db.Exec(kMigrateV1ToV2); !s.ok()) return fail(s);
  }
  if (version < 3) {
    if (Status s = db.Exec(kMigrateV2ToV3); !s.ok()) return fail(s);
  }
  std::optional<int64_t> rebuilt_rows;  // set when an existing store's docs were rebuilt (v4)
  const auto rebuild_start = std::chrono::steady_clock::now();
  if (version < 4) {
    if (Status s = db.Exec(kMigrateV3ToV4); !s.ok()) return fail(s);
    if (version > 0) {
      auto rows = db.QueryInt("SELECT count(*) FROM docs");
      if (!rows.ok()) return fail(rows.status());
      rebuilt_rows = *rows;
    }
  }
  {
    auto st = db.Prepare(
        "INSERT INTO meta(key, value) VALUES('schema_version', ?1) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!st.ok()) return fail(st.status());
    st->BindInt64(1, kSchemaVersion);
    if (Status s = st->Run("write schema version"); !s.ok()) return fail(s);
  }
  auto epoch = db.QueryInt("SELECT count(*) FROM meta WHERE key = 'epoch'");
  if (!epoch.ok()) return fail(epoch.status());
  if (*epoch == 0) {
    std::array<uint8_t, 16> b{};
    if (Status s = RandomBytes(b); !s.ok()) return fail(s);
    auto st = db.Prepare("INSERT INTO meta(key, value) VALUES('epoch', ?1)");
    if (!st.ok()) return fail(st.status());
    st->BindText(1, HexEncode(b));
    if (Status s = st->Run("write epoch"); !s.ok()) return fail(s);
  }
  if (Status s = db.Exec("COMMIT"); !s.ok()) return fail(s);
  if (rebuilt_rows) {
    const auto ms = [](auto since) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - since)
          .count();
    };
    spdlog::info("store: schema v{} -> v4: docs rebuilt as a rowid table ({} rows) in {} ms",
                 version, *rebuilt_rows, ms(rebuild_start));
    if (*rebuilt_rows > 0) {
      // The old table's pages are free but still in the file; give them back once. The store is
      // complete without this, so a failure (e.g. no room for the copy) only warns.
      const auto vacuum_start = std::chrono::steady_clock::now();
      if (Status s = db.Exec("VACUUM"); !s.ok()) {
        spdlog::warn("store: VACUUM after the v4 rebuild failed (free pages stay in the file): {}",
                     s.ToString());
      } else {
        spdlog::info("store: VACUUM after the v4 rebuild took {} ms", ms(vacuum_start));
      }
    }
  }
  return Status::Ok();
}

StatusOr<StoreMeta> LoadMeta(SqliteConnection& db) {
  StoreMeta m;
  auto v = MetaInt(db, "schema_version");
  if (!v.ok()) return v.status();
  m.schema_version = v->value_or(0);
  auto seq = MetaInt(db, "last_seq");
  if (!seq.ok()) return seq.status();
  auto hlc = MetaInt(db, "hlc");
  if (!hlc.ok()) return hlc.status();
  auto max_seq = db.QueryInt("SELECT coalesce(max(seq), 0) FROM docs");
  if (!max_seq.ok()) return max_seq.status();
  m.last_seq = static_cast<uint64_t>(std::max<int64_t>(seq->value_or(0), *max_seq));
  m.hlc = static_cast<uint64_t>(hlc->value_or(0));
  auto st = db.Prepare("SELECT value FROM meta WHERE key = 'epoch'");
  if (!st.ok()) return st.status();
  if (st->Step() == SQLITE_ROW) m.epoch = std::string(st->ColumnText(0));
  return m;
}

Status CheckIntegrity(SqliteConnection& db, int64_t full_check_max_bytes) {
  auto pages = db.QueryInt("PRAGMA page_count");
  if (!pages.ok()) return pages.status();
  auto page_size = db.QueryInt("PRAGMA page_size");
  if (!page_size.ok()) return page_size.status();
  if (*pages * *page_size <= full_check_max_bytes) {
    auto st = db.Prepare("PRAGMA quick_check(1)");
    if (!st.ok()) return st.status();
    const int rc = st->Step();
    if (rc != SQLITE_ROW) return SqliteStatus(rc, "quick_check", db.get());
    if (st->ColumnText(0) != "ok") {
      return Status(StatusCode::kDataLoss,
                    "store is corrupt: quick_check: " + std::string(st->ColumnText(0)));
    }
  }
  // The newest rows are the ones a crash could have touched: they must decode.
  auto st = db.Prepare("SELECT collection, doc_id, state FROM docs ORDER BY seq DESC LIMIT 16");
  if (!st.ok()) return st.status();
  for (;;) {
    const int rc = st->Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteStatus(rc, "integrity check", db.get());
    auto doc = crdt::Document::Decode(st->ColumnBlob(2));
    if (!doc.ok()) {
      return Status(StatusCode::kDataLoss, "store is corrupt: document " +
                                               std::string(st->ColumnText(0)) + "/" +
                                               std::string(st->ColumnText(1)) +
                                               " does not decode: " + doc.status().message());
    }
  }
  return Status::Ok();
}

}  // namespace peat::store

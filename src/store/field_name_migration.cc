#include "store/field_name_migration.h"

#include <spdlog/spdlog.h>

#include <functional>
#include <string>
#include <vector>

#include "crdt/document.h"

namespace peat::store {
namespace {

using KeyCheck = DocumentCipher::KeyCheck;

struct Row {
  std::string collection;
  std::string doc_id;
  std::string state;
};

// Reads the docs table in primary-key order, kFieldNameMigrationBatchRows rows at a time, and
// calls `batch(rows, last)` for each batch (inside `transaction` when it is set); stops early
// when `batch` returns false.
class DocScanner {
 public:
  explicit DocScanner(SqliteConnection& db) : db_(db) {}

  Status Prepare() {
    auto select = db_.Prepare(
        "SELECT collection, doc_id, state FROM docs WHERE (collection, doc_id) > (?1, ?2) "
        "ORDER BY collection, doc_id LIMIT ?3");
    if (!select.ok()) return select.status();
    select_ = std::move(select).value();
    return Status::Ok();
  }

  Status Run(bool transaction,
             const std::function<StatusOr<bool>(const std::vector<Row>&, bool)>& batch) {
    std::string after_collection;  // keys are non-empty: ("", "") precedes every row
    std::string after_doc_id;
    for (bool last = false; !last;) {
      if (transaction) PEAT_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
      auto fail = [&](Status s) {
        if (transaction) (void)db_.Exec("ROLLBACK");
        return s;
      };
      std::vector<Row> rows;
      {
        StatementScope scope(select_);
        select_.BindText(1, after_collection);
        select_.BindText(2, after_doc_id);
        select_.BindInt64(3, static_cast<int64_t>(kFieldNameMigrationBatchRows));
        for (;;) {
          const int rc = select_.Step();
          if (rc == SQLITE_DONE) break;
          if (rc != SQLITE_ROW) return fail(SqliteStatus(rc, "field name migration", db_.get()));
          rows.push_back(Row{std::string(select_.ColumnText(0)), std::string(select_.ColumnText(1)),
                             std::string(select_.ColumnBlob(2))});
        }
      }
      last = rows.size() < kFieldNameMigrationBatchRows;
      auto more = batch(rows, last);
      if (!more.ok()) return fail(more.status());
      if (transaction) {
        if (Status s = db_.Exec("COMMIT"); !s.ok()) return fail(s);
      }
      if (!*more) break;
      if (!rows.empty()) {
        after_collection = rows.back().collection;
        after_doc_id = rows.back().doc_id;
      }
    }
    return Status::Ok();
  }

 private:
  SqliteConnection& db_;
  SqliteStatement select_;
};

}  // namespace

StatusOr<FieldNameMigration> MigrateFieldNames(SqliteConnection& db, const DocumentCipher& cipher) {
  FieldNameMigration result;
  auto done = db.QueryInt("SELECT count(*) FROM meta WHERE key = 'field_names' AND value = 1");
  if (!done.ok()) return done.status();
  if (*done > 0) {
    result.already_done = true;
    return result;
  }
  DocScanner scanner(db);
  PEAT_RETURN_IF_ERROR(scanner.Prepare());

  // Pass 1 (read-only): is this key the store's? Stops at the first document that proves it.
  bool proven = false;
  bool disproven = false;
  PEAT_RETURN_IF_ERROR(
      scanner.Run(false, [&](const std::vector<Row>& rows, bool) -> StatusOr<bool> {
        for (const Row& row : rows) {
          auto doc = crdt::Document::Decode(row.state);
          if (!doc.ok()) continue;  // left for Get/Load to report, as without a key
          const KeyCheck check = cipher.CheckKey(row.collection, row.doc_id, *doc);
          if (check == KeyCheck::kMatches) {
            proven = true;
            return false;
          }
          if (check == KeyCheck::kMismatch) disproven = true;
        }
        return true;
      }));
  if (disproven && !proven) {
    spdlog::warn(
        "store: documents were encrypted with another key; field names left as they "
        "are (a wrong --encryption-key?)");
    return result;
  }

  // Pass 2: rewrite, batch by batch; the last batch marks the store done. secure_delete zeroes
  // the old cells and freed pages, and the WAL is checkpointed and truncated afterwards, so no
  // clear name is left in the files.
  auto secure_delete = db.QueryInt("PRAGMA secure_delete");
  if (!secure_delete.ok()) return secure_delete.status();
  PEAT_RETURN_IF_ERROR(db.Exec("PRAGMA secure_delete = ON"));
  auto update = db.Prepare("UPDATE docs SET state = ?3 WHERE collection = ?1 AND doc_id = ?2");
  if (!update.ok()) return update.status();
  auto mark = db.Prepare(
      "INSERT INTO meta(key, value) VALUES('field_names', 1) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!mark.ok()) return mark.status();
  PEAT_RETURN_IF_ERROR(
      scanner.Run(true, [&](const std::vector<Row>& rows, bool last) -> StatusOr<bool> {
        for (const Row& row : rows) {
          ++result.scanned;
          auto doc = crdt::Document::Decode(row.state);
          if (!doc.ok() || DocumentCipher::IsNormalized(*doc)) continue;
          if (cipher.CheckKey(row.collection, row.doc_id, *doc) == KeyCheck::kMismatch) {
            ++result.wrong_key;  // another key's document (relayed here): its names stay
            continue;
          }
          const std::string state = cipher.Normalize(row.collection, row.doc_id, *doc).Encode();
          if (state == row.state) continue;
          update->BindText(1, row.collection);
          update->BindText(2, row.doc_id);
          update->BindBlob(3, state);
          PEAT_RETURN_IF_ERROR(update->Run("field name migration"));
          ++result.rewritten;
        }
        if (last) PEAT_RETURN_IF_ERROR(mark->Run("field name migration mark"));
        return true;
      }));
  PEAT_RETURN_IF_ERROR(db.Exec(
      *secure_delete == 0
          ? "PRAGMA secure_delete = OFF"
          : (*secure_delete == 2 ? "PRAGMA secure_delete = FAST" : "PRAGMA secure_delete = ON")));
  if (result.rewritten > 0) {
    auto checkpoint = db.Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!checkpoint.ok()) return checkpoint.status();
    if (int rc = checkpoint->Step(); rc != SQLITE_ROW) {
      return SqliteStatus(rc, "field name migration checkpoint", db.get());
    }
  }
  if (result.rewritten > 0 || result.wrong_key > 0) {
    spdlog::info(
        "store: encrypted the field names of {} of {} documents (written before names were "
        "encrypted); {} documents of another key left as they are",
        result.rewritten, result.scanned, result.wrong_key);
  }
  return result;
}

Status ForgetFieldNameMigration(SqliteConnection& db) {
  return db.Exec("DELETE FROM meta WHERE key = 'field_names'");
}

}  // namespace peat::store

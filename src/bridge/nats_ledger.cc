#include "bridge/nats_ledger.h"

#include <functional>

namespace peat::bridge {

StatusOr<std::unique_ptr<NatsLedger>> NatsLedger::Open(const std::string& path) {
  PEAT_RETURN_IF_ERROR(store::CreatePrivateDatabaseFile(path));
  PEAT_ASSIGN_OR_RETURN(auto db, store::SqliteConnection::Open(path, true, "", 5000));
  PEAT_RETURN_IF_ERROR(
      db.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
              "CREATE TABLE IF NOT EXISTS local(collection TEXT NOT NULL, doc_id TEXT NOT NULL,"
              " PRIMARY KEY(collection, doc_id)) WITHOUT ROWID;"
              "CREATE TABLE IF NOT EXISTS delivered(collection TEXT NOT NULL, doc_id TEXT NOT NULL,"
              " PRIMARY KEY(collection, doc_id)) WITHOUT ROWID;"
              "CREATE TABLE IF NOT EXISTS cursor(id INTEGER PRIMARY KEY CHECK (id = 1),"
              " epoch TEXT NOT NULL, seq INTEGER NOT NULL);"));
  std::unique_ptr<NatsLedger> ledger(new NatsLedger(std::move(db)));
  PEAT_RETURN_IF_ERROR(ledger->Prepare());
  return ledger;
}

Status NatsLedger::Prepare() {
  PEAT_ASSIGN_OR_RETURN(
      add_local_, db_.Prepare("INSERT OR IGNORE INTO local(collection, doc_id) VALUES(?, ?)"));
  PEAT_ASSIGN_OR_RETURN(is_local_,
                        db_.Prepare("SELECT 1 FROM local WHERE collection = ? AND doc_id = ?"));
  PEAT_ASSIGN_OR_RETURN(is_delivered_,
                        db_.Prepare("SELECT 1 FROM delivered WHERE collection = ? AND doc_id = ?"));
  PEAT_ASSIGN_OR_RETURN(
      add_delivered_,
      db_.Prepare("INSERT OR IGNORE INTO delivered(collection, doc_id) VALUES(?, ?)"));
  PEAT_ASSIGN_OR_RETURN(
      set_cursor_, db_.Prepare("INSERT OR REPLACE INTO cursor(id, epoch, seq) VALUES(1, ?, ?)"));
  PEAT_ASSIGN_OR_RETURN(get_cursor_, db_.Prepare("SELECT epoch, seq FROM cursor WHERE id = 1"));
  return Status::Ok();
}

Status NatsLedger::AddLocal(const LedgerDoc& doc) {
  add_local_.BindText(1, doc.collection);
  add_local_.BindText(2, doc.doc_id);
  return add_local_.Run("nats ledger: record a local document");
}

Status NatsLedger::AddLocalBatch(const std::vector<LedgerDoc>& docs) {
  return InTransaction([&]() -> Status {
    for (const auto& d : docs) PEAT_RETURN_IF_ERROR(AddLocal(d));
    return Status::Ok();
  });
}

Status NatsLedger::InTransaction(const std::function<Status()>& body) {
  PEAT_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
  Status st = body();
  if (!st.ok()) {
    (void)db_.Exec("ROLLBACK");
    return st;
  }
  return db_.Exec("COMMIT");
}

StatusOr<bool> NatsLedger::Exists(store::SqliteStatement& stmt, const LedgerDoc& doc) {
  store::StatementScope scope(stmt);
  stmt.BindText(1, doc.collection);
  stmt.BindText(2, doc.doc_id);
  const int rc = stmt.Step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return store::SqliteStatus(rc, "nats ledger: read", db_.get());
}

StatusOr<bool> NatsLedger::IsLocal(const LedgerDoc& doc) { return Exists(is_local_, doc); }
StatusOr<bool> NatsLedger::IsDelivered(const LedgerDoc& doc) { return Exists(is_delivered_, doc); }

Status NatsLedger::Reserve(const std::vector<LedgerDoc>& docs, const std::string& epoch,
                           uint64_t seq) {
  return InTransaction([&]() -> Status {
    for (const auto& d : docs) {
      add_delivered_.BindText(1, d.collection);
      add_delivered_.BindText(2, d.doc_id);
      PEAT_RETURN_IF_ERROR(add_delivered_.Run("nats ledger: reserve a delivery"));
    }
    set_cursor_.BindText(1, epoch);
    set_cursor_.BindInt64(2, static_cast<int64_t>(seq));
    return set_cursor_.Run("nats ledger: save the cursor");
  });
}

StatusOr<uint64_t> NatsLedger::Cursor(const std::string& epoch) {
  store::StatementScope scope(get_cursor_);
  const int rc = get_cursor_.Step();
  if (rc == SQLITE_DONE) return uint64_t{0};
  if (rc != SQLITE_ROW) return store::SqliteStatus(rc, "nats ledger: read the cursor", db_.get());
  if (get_cursor_.ColumnText(0) != epoch) return uint64_t{0};
  return static_cast<uint64_t>(get_cursor_.ColumnInt64(1));
}

StatusOr<int64_t> NatsLedger::LocalCount() { return db_.QueryInt("SELECT count(*) FROM local"); }
StatusOr<int64_t> NatsLedger::DeliveredCount() {
  return db_.QueryInt("SELECT count(*) FROM delivered");
}

}  // namespace peat::bridge

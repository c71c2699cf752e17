// SqliteConnection and SqliteStatement: thin RAII owners of an sqlite3* and an sqlite3_stmt*,
// plus the mapping from SQLite result codes to Status used by the whole store.
//
// Status mapping (BEHAVIOR.md "Bad input, limits, faults"): SQLITE_FULL → RESOURCE_EXHAUSTED
// ("disk full: ..."), SQLITE_NOMEM → RESOURCE_EXHAUSTED, SQLITE_IOERR*/BUSY/LOCKED/CANTOPEN →
// UNAVAILABLE, SQLITE_CORRUPT/NOTADB → DATA_LOSS, anything else → INTERNAL.
//
// Thread-compatible: one connection (and its statements) is used by one thread at a time. The
// connections are opened with SQLITE_OPEN_NOMUTEX; the store gives each thread its own.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace peat::store {

// Creates the database file at `path` with mode 0600 if it does not exist (SQLite would create
// it 0644); SQLite gives the -wal and -shm files the mode of the database file, so the whole
// database stays private to the node's user. UNAVAILABLE if it cannot be created.
Status CreatePrivateDatabaseFile(const std::string& path);

// `rc` is an SQLite (extended) result code; `what` says which operation failed.
Status SqliteStatus(int rc, std::string_view what, sqlite3* db = nullptr);

class SqliteStatement {
 public:
  SqliteStatement() = default;
  explicit SqliteStatement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  SqliteStatement(SqliteStatement&& o) noexcept : stmt_(o.stmt_) { o.stmt_ = nullptr; }
  SqliteStatement& operator=(SqliteStatement&& o) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement();

  sqlite3_stmt* get() const { return stmt_; }
  explicit operator bool() const { return stmt_ != nullptr; }

  // Binding (1-based indexes). Text and blobs are copied by SQLite (SQLITE_TRANSIENT) unless the
  // *Static variants are used, which require the bytes to outlive the next Reset().
  void BindText(int i, std::string_view v);
  void BindBlob(int i, std::string_view v);
  void BindInt64(int i, int64_t v);
  void BindNull(int i);

  // sqlite3_step: SQLITE_ROW, SQLITE_DONE or an error code.
  int Step();
  // Steps a statement expected to return no rows; Reset()s it afterwards.
  Status Run(std::string_view what);
  // sqlite3_reset + clear bindings. Safe to call on a finished or failed statement.
  void Reset();

  std::string_view ColumnText(int i) const;
  std::string_view ColumnBlob(int i) const;
  int64_t ColumnInt64(int i) const;
  bool ColumnIsNull(int i) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets the statement when the scope ends (so a read statement releases its snapshot).
class StatementScope {
 public:
  explicit StatementScope(SqliteStatement& s) : s_(s) {}
  ~StatementScope() { s_.Reset(); }
  StatementScope(const StatementScope&) = delete;
  StatementScope& operator=(const StatementScope&) = delete;

 private:
  SqliteStatement& s_;
};

class SqliteConnection {
 public:
  SqliteConnection() = default;
  SqliteConnection(SqliteConnection&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  SqliteConnection& operator=(SqliteConnection&& o) noexcept;
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  ~SqliteConnection();

  // Opens `path` read-write (creating it if `create`), with extended result codes and a busy
  // timeout. `vfs` empty = SQLite's default VFS.
  static StatusOr<SqliteConnection> Open(const std::string& path, bool create,
                                         const std::string& vfs, int busy_timeout_ms);

  sqlite3* get() const { return db_; }
  // Runs one or more statements that return no rows.
  Status Exec(const char* sql);
  // A prepared statement kept for the connection's lifetime (SQLITE_PREPARE_PERSISTENT).
  StatusOr<SqliteStatement> Prepare(std::string_view sql);
  // The single integer result of `sql` (e.g. "PRAGMA page_count").
  StatusOr<int64_t> QueryInt(const char* sql);
  bool InTransaction() const { return db_ != nullptr && sqlite3_get_autocommit(db_) == 0; }
  // Closes now (finalize every statement first). Idempotent.
  void Close();

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace peat::store

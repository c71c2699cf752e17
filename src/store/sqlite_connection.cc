#include "store/sqlite_connection.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <utility>

namespace peat::store {

Status CreatePrivateDatabaseFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return UnavailableError("cannot create " + path + ": " + std::strerror(errno));
  ::close(fd);
  return Status::Ok();
}

Status SqliteStatus(int rc, std::string_view what, sqlite3* db) {
  std::string msg(what);
  msg += ": ";
  // sqlite3_errmsg describes the most recent failure on `db`, which is this one when the caller
  // passes the code it just got back; fall back to the generic text otherwise.
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += detail != nullptr ? detail : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Status::Ok();
    case SQLITE_FULL:
      return ResourceExhaustedError("disk full: " + msg);
    case SQLITE_NOMEM:
      return ResourceExhaustedError("out of memory: " + msg);
    case SQLITE_IOERR:
      return UnavailableError("storage I/O error: " + msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return UnavailableError("store busy: " + msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return UnavailableError("cannot write store: " + msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status(StatusCode::kDataLoss, "store is corrupt: " + msg);
    default:
      return InternalError(msg);
  }
}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(o.stmt_, nullptr);
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

void SqliteStatement::BindText(int i, std::string_view v) {
  sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}
void SqliteStatement::BindBlob(int i, std::string_view v) {
  // A zero-length blob must still be a blob, not NULL: pass a non-null pointer.
  sqlite3_bind_blob64(stmt_, i, v.empty() ? "" : v.data(), v.size(), SQLITE_TRANSIENT);
}
void SqliteStatement::BindInt64(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
void SqliteStatement::BindNull(int i) { sqlite3_bind_null(stmt_, i); }

int SqliteStatement::Step() { return sqlite3_step(stmt_); }

Status SqliteStatement::Run(std::string_view what) {
  const int rc = Step();
  Status s = rc == SQLITE_DONE || rc == SQLITE_ROW
                 ? Status::Ok()
                 : SqliteStatus(rc, what, sqlite3_db_handle(stmt_));
  Reset();
  return s;
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string_view SqliteStatement::ColumnText(int i) const {
  const auto* p = sqlite3_column_text(stmt_, i);
  const int n = sqlite3_column_bytes(stmt_, i);
  return p == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(p), n);
}

std::string_view SqliteStatement::ColumnBlob(int i) const {
  const void* p = sqlite3_column_blob(stmt_, i);
  const int n = sqlite3_column_bytes(stmt_, i);
  return p == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(p), n);
}

int64_t SqliteStatement::ColumnInt64(int i) const { return sqlite3_column_int64(stmt_, i); }

bool SqliteStatement::ColumnIsNull(int i) const {
  return sqlite3_column_type(stmt_, i) == SQLITE_NULL;
}

SqliteConnection& SqliteConnection::operator=(SqliteConnection&& o) noexcept {
  if (this != &o) {
    Close();
    db_ = std::exchange(o.db_, nullptr);
  }
  return *this;
}

SqliteConnection::~SqliteConnection() { Close(); }

void SqliteConnection::Close() {
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

StatusOr<SqliteConnection> SqliteConnection::Open(const std::string& path, bool create,
                                                  const std::string& vfs, int busy_timeout_ms) {
  SqliteConnection c;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (create) flags |= SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &c.db_, flags, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    Status s = SqliteStatus(rc, "open " + path, c.db_);
    return s.ok() ? InternalError("open " + path) : s;
  }
  sqlite3_extended_result_codes(c.db_, 1);
  sqlite3_busy_timeout(c.db_, busy_timeout_ms);
  return c;
}

Status SqliteConnection::Exec(const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  std::string what = err != nullptr ? std::string(err) : std::string(sql);
  sqlite3_free(err);
  if (rc == SQLITE_OK) return Status::Ok();
  return SqliteStatus(rc, what);
}

StatusOr<SqliteStatement> SqliteConnection::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(rc, "prepare", db_);
  return SqliteStatement(stmt);
}

StatusOr<int64_t> SqliteConnection::QueryInt(const char* sql) {
  auto stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  const int rc = stmt->Step();
  if (rc != SQLITE_ROW) {
    if (rc == SQLITE_DONE) return InternalError(std::string("no result: ") + sql);
    return SqliteStatus(rc, sql, db_);
  }
  return stmt->ColumnInt64(0);
}

}  // namespace peat::store

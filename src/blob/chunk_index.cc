#include "blob/chunk_index.h"

namespace peat::blob {
namespace {

std::string_view RootBytes(const BlobRoot& root) {
  return {reinterpret_cast<const char*>(root.data()), root.size()};
}

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS partials(root BLOB PRIMARY KEY, manifest BLOB NOT NULL,"
    " bitmap BLOB NOT NULL);";

}  // namespace

StatusOr<ChunkIndex> ChunkIndex::Open(const std::string& path) {
  PEAT_RETURN_IF_ERROR(store::CreatePrivateDatabaseFile(path));  // private, like peat.db
  PEAT_ASSIGN_OR_RETURN(store::SqliteConnection db,
                        store::SqliteConnection::Open(path, /*create=*/true, /*vfs=*/"",
                                                      /*busy_timeout_ms=*/5000));
  PEAT_RETURN_IF_ERROR(db.Exec("PRAGMA journal_mode = WAL"));
  PEAT_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous = NORMAL"));
  PEAT_RETURN_IF_ERROR(db.Exec(kSchema));
  return ChunkIndex(std::move(db));
}

StatusOr<std::optional<std::string>> ChunkIndex::GetMeta(std::string_view name) {
  PEAT_ASSIGN_OR_RETURN(store::SqliteStatement stmt,
                        db_.Prepare("SELECT value FROM meta WHERE name = ?"));
  stmt.BindText(1, name);
  const int rc = stmt.Step();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return store::SqliteStatus(rc, "blob index: read meta", db_.get());
  return std::optional<std::string>(std::string(stmt.ColumnBlob(0)));
}

Status ChunkIndex::PutMeta(std::string_view name, std::string_view value) {
  PEAT_ASSIGN_OR_RETURN(store::SqliteStatement stmt,
                        db_.Prepare("INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)"));
  stmt.BindText(1, name);
  stmt.BindBlob(2, value);
  return stmt.Run("blob index: write meta");
}

StatusOr<std::vector<PartialRow>> ChunkIndex::LoadPartials() {
  PEAT_ASSIGN_OR_RETURN(store::SqliteStatement stmt,
                        db_.Prepare("SELECT root, manifest, bitmap FROM partials"));
  std::vector<PartialRow> rows;
  for (;;) {
    const int rc = stmt.Step();
    if (rc == SQLITE_DONE) return rows;
    if (rc != SQLITE_ROW) return store::SqliteStatus(rc, "blob index: load partials", db_.get());
    const std::string_view root = stmt.ColumnBlob(0);
    if (root.size() != kHashBytes) {
      return Status(StatusCode::kDataLoss, "blob index: a partial row with a " +
                                               std::to_string(root.size()) + "-byte root");
    }
    PartialRow row;
    std::copy(root.begin(), root.end(), reinterpret_cast<char*>(row.root.data()));
    row.manifest_bytes = std::string(stmt.ColumnBlob(1));
    row.bitmap_bytes = std::string(stmt.ColumnBlob(2));
    rows.push_back(std::move(row));
  }
}

Status ChunkIndex::RunForRoot(const char* sql, const BlobRoot& root, std::string_view what,
                              const std::vector<std::string_view>& more_blobs) {
  PEAT_ASSIGN_OR_RETURN(store::SqliteStatement stmt, db_.Prepare(sql));
  stmt.BindBlob(1, RootBytes(root));
  for (size_t i = 0; i < more_blobs.size(); ++i)
    stmt.BindBlob(static_cast<int>(i + 2), more_blobs[i]);
  return stmt.Run(what);
}

Status ChunkIndex::InsertPartial(const PartialRow& row) {
  return RunForRoot("INSERT OR REPLACE INTO partials(root, manifest, bitmap) VALUES (?, ?, ?)",
                    row.root, "blob index: insert partial", {row.manifest_bytes, row.bitmap_bytes});
}

Status ChunkIndex::UpdateBitmap(const BlobRoot& root, std::string_view bitmap_bytes) {
  return RunForRoot("UPDATE partials SET bitmap = ?2 WHERE root = ?1", root,
                    "blob index: record verified chunk", {bitmap_bytes});
}

Status ChunkIndex::DeletePartial(const BlobRoot& root) {
  return RunForRoot("DELETE FROM partials WHERE root = ?", root, "blob index: delete partial");
}

}  // namespace peat::blob

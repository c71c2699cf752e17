// ChunkIndex: the blob store's own SQLite database (`<blobs>/index.db`, WAL): one row per partial
// blob (root, manifest, verified-chunk bitmap) and a few named settings (`meta`: the at-rest mode
// and key check). It is not the document database, so blob writes never wait for the document
// writer. synchronous=NORMAL: a kill -9 loses no committed row; a power cut may lose the last
// bits, which only makes those chunks be fetched again (a bit is only ever set after its chunk
// was fsynced, never before).
//
// Errors: SQLite failures mapped by store::SqliteStatus (disk full → RESOURCE_EXHAUSTED, corrupt
// → DATA_LOSS, I/O → UNAVAILABLE). Thread-compatible: BlobStore serialises every call.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blob/manifest.h"
#include "common/status.h"
#include "store/sqlite_connection.h"

namespace peat::blob {

struct PartialRow {
  BlobRoot root{};
  std::string manifest_bytes;
  std::string bitmap_bytes;
};

class ChunkIndex {
 public:
  static StatusOr<ChunkIndex> Open(const std::string& path);

  StatusOr<std::optional<std::string>> GetMeta(std::string_view name);
  Status PutMeta(std::string_view name, std::string_view value);

  StatusOr<std::vector<PartialRow>> LoadPartials();
  Status InsertPartial(const PartialRow& row);
  Status UpdateBitmap(const BlobRoot& root, std::string_view bitmap_bytes);
  Status DeletePartial(const BlobRoot& root);

 private:
  explicit ChunkIndex(store::SqliteConnection db) : db_(std::move(db)) {}
  // Prepares, binds the root as argument 1, runs `sql` expecting no rows.
  Status RunForRoot(const char* sql, const BlobRoot& root, std::string_view what,
                    const std::vector<std::string_view>& more_blobs = {});
  store::SqliteConnection db_;
};

}  // namespace peat::blob

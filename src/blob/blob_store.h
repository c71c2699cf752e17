// BlobStore: the content-addressed store of attachment blobs (docs/spec/ATTACHMENTS.md §15.2,
// §15.5; docs/ARCHITECTURE.md "Blob store").
//
// Layout under the root dir (the node passes `<data-dir>/blobs`):
//   <root[0:2]>/<root>            a complete blob (the data file is the commit point)
//   <root[0:2]>/<root>.manifest   its manifest (written before the data file is renamed in)
//   partial/<root>                a blob being fetched, fallocated to its stored size
//   tmp/                          ingest temporaries (emptied at Open)
//   index.db                      ChunkIndex: partial rows with their verified-chunk bitmaps
// Without an encryption key a stored blob is its plaintext. With one, chunk i is stored at
// i · (chunk_bytes + 28) as nonce ‖ ciphertext ‖ tag (ChunkCipher); the store remembers which
// mode it was created in and refuses to open in the other or under another key.
//
// Crash safety: Ingest and Complete write a temporary, fsync, rename, fsync the directory; a
// chunk's bit is recorded only after the chunk was verified against the manifest and fsynced, so
// after a kill -9 every set bit is a good chunk and every other chunk is fetched again. Open
// reconciles what a crash can leave (temporaries, a partial file without its row, a row whose
// blob was already completed).
//
// Errors: NOT_FOUND (no such blob/partial/source file, chunk not verified yet), INVALID_ARGUMENT
// (bad manifest, chunk index or length; an ingested file that is not regular or changed), DATA_LOSS
// (a chunk or whole file that does not match its hash; a stored file that is damaged),
// RESOURCE_EXHAUSTED (not enough disk space), OUT_OF_RANGE (an offset past the chunk),
// FAILED_PRECONDITION (wrong or missing encryption key, Complete before every chunk is verified),
// UNAVAILABLE (other I/O errors).
//
// Thread-safe: every method may be called concurrently. One mutex guards the index and the
// in-memory partial table; hashing, encryption and chunk I/O run outside it.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blob/blob_hasher.h"
#include "blob/chunk_bitmap.h"
#include "blob/chunk_cipher.h"
#include "blob/chunk_index.h"
#include "blob/manifest.h"
#include "blob/posix_file.h"
#include "common/status.h"
#include "crypto/secure_bytes.h"

namespace peat::blob {

struct BlobStoreOptions {
  std::string root_dir;
  // Empty: plaintext at rest. Otherwise exactly 32 bytes (--encryption-key).
  SecureBytes encryption_key;
};

struct IngestResult {
  BlobRoot root{};
  uint64_t size = 0;
  Sha256Digest file_sha256{};
  bool already_present = false;  // the blob was in the store before this call
};

// Bytes on disk by kind, for peat_blob_store_bytes{kind}.
struct BlobUsage {
  uint64_t complete_bytes = 0;  // data files and manifests of complete blobs
  uint64_t partial_bytes = 0;   // the preallocated partial files
};

class BlobStore {
 public:
  static StatusOr<std::unique_ptr<BlobStore>> Open(BlobStoreOptions options);

  // Copies the regular file open as `fd` into the store (FICLONE reflink when plaintext and
  // possible, else a copy), hashing in the same pass (with encryption: a hashing pass, then an
  // encrypting pass that re-verifies every chunk). Reads the whole file from offset 0 through
  // `fd` (leaving its offset at the end); `opened` is its fstat when it was opened (§12 "R
  // ingest"): if its size or mtime differ from `opened` before, during or after the copy, or the
  // bytes read are not `opened.st_size`, INVALID_ARGUMENT "file changed during ingest" (§16 row
  // 27) and nothing is stored. `name_for_errors` names the file in messages. Idempotent: an
  // existing root is left as it is (already_present).
  StatusOr<IngestResult> IngestFd(int fd, const std::string& name_for_errors,
                                  const struct stat& opened);
  // Opens `path` and calls IngestFd.
  StatusOr<IngestResult> Ingest(const std::string& path);

  // Creates the partial for `manifest_bytes` (or finds the existing one, or the complete blob)
  // and returns its root.
  StatusOr<BlobRoot> BeginPartial(std::string_view manifest_bytes);
  // Verifies chunk `index` against the manifest, writes and fsyncs it, then records its bit. A
  // chunk already verified (or a complete blob) is OK without a write.
  Status WriteChunk(const BlobRoot& root, uint64_t index, std::string_view bytes);
  // The chunks still to fetch, ascending (empty for a complete blob).
  StatusOr<std::vector<uint64_t>> MissingChunks(const BlobRoot& root);
  // Moves a fully verified partial into place. With `file_sha256`, the whole file is re-hashed
  // first (DATA_LOSS on mismatch; the partial then stays for the caller to Remove).
  Status Complete(const BlobRoot& root, const std::optional<Sha256Digest>& file_sha256);

  // Up to `max_len` plaintext bytes of chunk `index` from `offset` (within the chunk), from a
  // complete blob or a verified chunk of a partial.
  StatusOr<std::string> ReadChunk(const BlobRoot& root, uint64_t index, uint64_t offset,
                                  size_t max_len);
  // The manifest bytes of a complete blob or a partial.
  StatusOr<std::string> Manifest(const BlobRoot& root);
  // True iff the complete blob is present.
  bool Has(const BlobRoot& root) const;
  // Deletes the complete blob and/or the partial of `root`. OK if there was nothing.
  Status Remove(const BlobRoot& root);
  BlobUsage Usage() const;
  // Every complete blob with the time its data file was last modified (when it was stored).
  struct StoredBlob {
    BlobRoot root{};
    int64_t modified_ms = 0;  // ms since the epoch
  };
  StatusOr<std::vector<StoredBlob>> ListComplete() const;

  // Where the bytes of `root` live (for tests and diagnostics).
  std::string CompletePath(const BlobRoot& root) const;
  std::string PartialPath(const BlobRoot& root) const;

 private:
  struct Partial {
    BlobManifest manifest;
    std::string manifest_bytes;
    ChunkBitmap bitmap;
  };
  // What a chunk read needs, captured under the lock.
  struct ChunkSource {
    UniqueFd fd;
    std::string path;
    BlobManifest manifest;
  };

  BlobStore(std::string root_dir, ChunkIndex index, std::optional<ChunkCipher> cipher);
  Status CheckAtRestMode();
  Status Reconcile();
  uint64_t StoredSize(const BlobManifest& m) const;
  uint64_t StoredOffset(const BlobManifest& m, uint64_t index) const;
  std::string ManifestPath(const BlobRoot& root) const;
  std::string NewTempPath(std::string_view what);
  // Encrypting ingest: `digest` from a hashing pass over `src_fd`; writes sealed chunks to
  // `dst_fd`.
  Status WriteSealedCopy(int src_fd, const std::string& src, const BlobDigest& digest, int dst_fd,
                         const std::string& dst) const;
  // Plaintext of one stored chunk (decrypted when the store is encrypted).
  StatusOr<std::string> ReadStoredChunk(const ChunkSource& src, const BlobRoot& root,
                                        uint64_t index, uint64_t offset, size_t len) const;
  StatusOr<ChunkSource> OpenChunkSource(const BlobRoot& root, std::optional<uint64_t> index);
  // Renames `data_tmp` into place as the complete blob `root` (manifest first). Caller holds mu_.
  Status InstallLocked(const BlobRoot& root, std::string_view manifest_bytes,
                       const std::string& data_tmp);
  StatusOr<BlobManifest> LoadCompleteManifestLocked(const BlobRoot& root);

  const std::string root_dir_;
  const std::optional<ChunkCipher> cipher_;
  std::atomic<uint64_t> temp_counter_{0};

  mutable std::mutex mu_;
  ChunkIndex index_;
  std::map<BlobRoot, Partial> partials_;
  std::map<BlobRoot, BlobManifest> complete_manifests_;  // a cache, bounded in size
  BlobUsage usage_;
};

}  // namespace peat::blob

// BlobHasher: one pass over a blob's bytes computes everything §15.1 addresses it by — the
// SHA-256 of each 256 KiB chunk, the manifest, the root, and the whole-file SHA-256
// (FileSpec.sha256). Bytes may be fed in pieces of any size; HashFile reads a file once through it.
//
// Errors: INTERNAL if OpenSSL fails; HashFile maps I/O errors to UNAVAILABLE (NOT_FOUND when the
// file does not exist). Thread-compatible (one hasher per thread).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "blob/manifest.h"
#include "common/status.h"
#include "crypto/sha256.h"

namespace peat::blob {

struct BlobDigest {
  BlobManifest manifest;
  std::string manifest_bytes;
  BlobRoot root{};
  Sha256Digest file_sha256{};
  uint64_t size() const { return manifest.size; }
};

class BlobHasher {
 public:
  explicit BlobHasher(uint32_t chunk_bytes = kChunkBytes) { manifest_.chunk_bytes = chunk_bytes; }

  void Update(std::span<const uint8_t> bytes);
  // Closes the last (short) chunk and returns the digest. Call once.
  StatusOr<BlobDigest> Finish();

 private:
  Status CloseChunk();
  BlobManifest manifest_;
  Sha256 file_;
  Sha256 chunk_;
  uint64_t in_chunk_ = 0;
  Status status_;
};

// Reads `path` once and returns its digest.
StatusOr<BlobDigest> HashFile(const std::string& path);
// Reads `fd` from its current position to EOF once (`path` names it in errors).
StatusOr<BlobDigest> HashFd(int fd, const std::string& path);

}  // namespace peat::blob

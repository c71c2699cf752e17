// Blob addressing (docs/spec/ATTACHMENTS.md §15.1): the manifest of a blob, its root and token.
//
//   manifest = "peat-blob-v1" ‖ size (u64 BE) ‖ chunk_bytes (u32 BE) ‖ SHA-256 of each chunk
//   root     = SHA-256(manifest);  blob token = the root as 64 lowercase hex digits
//
// A blob is cut into chunks of chunk_bytes (kChunkBytes = 256 KiB for every blob we make); the
// last chunk is shorter unless size is a multiple; an empty blob has no chunks.
//
// ParseManifest is strict (it reads bytes from peers): wrong magic, a length that is not header +
// 32·n, a chunk count that disagrees with size/chunk_bytes, or chunk_bytes outside
// [kMinChunkBytes, kMaxChunkBytes] or not a power of two → INVALID_ARGUMENT naming the defect.
// ParseManifestForRoot additionally requires SHA-256(manifest) == root → DATA_LOSS otherwise.
// Pure functions and value types; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crypto/sha256.h"

namespace peat::blob {

using BlobRoot = Sha256Digest;

inline constexpr std::string_view kManifestMagic = "peat-blob-v1";
inline constexpr uint32_t kChunkBytes = 256 * 1024;
inline constexpr uint32_t kMinChunkBytes = 4 * 1024;
inline constexpr uint32_t kMaxChunkBytes = 16 * 1024 * 1024;
// magic ‖ size ‖ chunk_bytes.
inline constexpr size_t kManifestHeaderBytes = kManifestMagic.size() + 8 + 4;
inline constexpr size_t kHashBytes = 32;

struct BlobManifest {
  uint64_t size = 0;
  uint32_t chunk_bytes = kChunkBytes;
  std::vector<Sha256Digest> chunk_hashes;

  uint64_t chunk_count() const { return chunk_hashes.size(); }
  // Plaintext length of chunk `index` (< chunk_count()).
  uint32_t ChunkLength(uint64_t index) const;
  // Byte offset of chunk `index` in the plaintext.
  uint64_t ChunkOffset(uint64_t index) const { return index * chunk_bytes; }
  // The manifest bytes (the exact input of the root).
  std::string Encode() const;

  friend bool operator==(const BlobManifest&, const BlobManifest&) = default;
};

// ceil(size / chunk_bytes); chunk_bytes must be > 0.
uint64_t ChunkCountFor(uint64_t size, uint32_t chunk_bytes);

StatusOr<BlobManifest> ParseManifest(std::string_view bytes);
StatusOr<BlobManifest> ParseManifestForRoot(std::string_view bytes, const BlobRoot& root);

// SHA-256 of the manifest bytes. INTERNAL only if OpenSSL fails.
StatusOr<BlobRoot> RootOf(std::string_view manifest_bytes);

// 64 lowercase hex digits.
std::string BlobToken(const BlobRoot& root);
// The root of a token: exactly 64 lowercase hex digits, else INVALID_ARGUMENT.
StatusOr<BlobRoot> ParseBlobToken(std::string_view token);

}  // namespace peat::blob

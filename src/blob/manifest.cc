#include "blob/manifest.h"

#include <algorithm>
#include <span>

#include "common/hex.h"

namespace peat::blob {
namespace {

void PutBigEndian(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetBigEndian(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

bool IsPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

uint32_t BlobManifest::ChunkLength(uint64_t index) const {
  const uint64_t start = ChunkOffset(index);
  const uint64_t left = size > start ? size - start : 0;
  return static_cast<uint32_t>(left < chunk_bytes ? left : chunk_bytes);
}

std::string BlobManifest::Encode() const {
  std::string out;
  out.reserve(kManifestHeaderBytes + chunk_hashes.size() * kHashBytes);
  out.append(kManifestMagic);
  PutBigEndian(out, size, 8);
  PutBigEndian(out, chunk_bytes, 4);
  for (const auto& h : chunk_hashes) out.append(reinterpret_cast<const char*>(h.data()), h.size());
  return out;
}

uint64_t ChunkCountFor(uint64_t size, uint32_t chunk_bytes) {
  return size / chunk_bytes + (size % chunk_bytes != 0 ? 1 : 0);
}

StatusOr<BlobManifest> ParseManifest(std::string_view bytes) {
  if (bytes.size() < kManifestHeaderBytes) {
    return InvalidArgumentError("blob manifest: " + std::to_string(bytes.size()) +
                                " bytes, shorter than its " + std::to_string(kManifestHeaderBytes) +
                                "-byte header");
  }
  if (bytes.substr(0, kManifestMagic.size()) != kManifestMagic) {
    return InvalidArgumentError("blob manifest: does not start with \"peat-blob-v1\"");
  }
  BlobManifest m;
  m.size = GetBigEndian(bytes.substr(kManifestMagic.size()), 8);
  m.chunk_bytes = static_cast<uint32_t>(GetBigEndian(bytes.substr(kManifestMagic.size() + 8), 4));
  if (m.chunk_bytes < kMinChunkBytes || m.chunk_bytes > kMaxChunkBytes ||
      !IsPowerOfTwo(m.chunk_bytes)) {
    return InvalidArgumentError("blob manifest: chunk_bytes " + std::to_string(m.chunk_bytes) +
                                " is not a power of two in [" + std::to_string(kMinChunkBytes) +
                                ", " + std::to_string(kMaxChunkBytes) + "]");
  }
  const std::string_view hashes = bytes.substr(kManifestHeaderBytes);
  if (hashes.size() % kHashBytes != 0) {
    return InvalidArgumentError("blob manifest: " + std::to_string(hashes.size()) +
                                " bytes of chunk hashes, not a multiple of 32");
  }
  const uint64_t count = hashes.size() / kHashBytes;
  const uint64_t expected = ChunkCountFor(m.size, m.chunk_bytes);
  if (count != expected) {
    return InvalidArgumentError("blob manifest: " + std::to_string(count) +
                                " chunk hashes, but size " + std::to_string(m.size) + " needs " +
                                std::to_string(expected));
  }
  m.chunk_hashes.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::copy_n(hashes.data() + i * kHashBytes, kHashBytes,
                reinterpret_cast<char*>(m.chunk_hashes[i].data()));
  }
  return m;
}

StatusOr<BlobManifest> ParseManifestForRoot(std::string_view bytes, const BlobRoot& root) {
  PEAT_ASSIGN_OR_RETURN(const BlobRoot actual, RootOf(bytes));
  if (actual != root) {
    return Status(StatusCode::kDataLoss, "blob manifest: its SHA-256 " + BlobToken(actual) +
                                             " is not the root " + BlobToken(root));
  }
  return ParseManifest(bytes);
}

StatusOr<BlobRoot> RootOf(std::string_view manifest_bytes) { return Sha256Of(manifest_bytes); }

std::string BlobToken(const BlobRoot& root) { return HexEncode(root); }

StatusOr<BlobRoot> ParseBlobToken(std::string_view token) {
  BlobRoot root{};
  if (token.size() != 2 * root.size() || !IsLowerHex(token) || !HexDecode(token, root)) {
    return InvalidArgumentError("blob token: expected 64 lowercase hex digits");
  }
  return root;
}

}  // namespace peat::blob

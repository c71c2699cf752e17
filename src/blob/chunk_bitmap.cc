#include "blob/chunk_bitmap.h"

#include <bit>

namespace peat::blob {

StatusOr<ChunkBitmap> ChunkBitmap::FromBytes(uint64_t chunk_count, std::string_view bytes) {
  ChunkBitmap b(chunk_count);
  if (bytes.size() != b.bytes_.size()) {
    return InvalidArgumentError("chunk bitmap: " + std::to_string(bytes.size()) + " bytes for " +
                                std::to_string(chunk_count) + " chunks");
  }
  b.bytes_.assign(bytes);
  if (chunk_count % 8 != 0 && (static_cast<uint8_t>(b.bytes_.back()) >> (chunk_count % 8)) != 0) {
    return InvalidArgumentError("chunk bitmap: bits set past the last chunk");
  }
  return b;
}

uint64_t ChunkBitmap::CountSet() const {
  uint64_t n = 0;
  for (char c : bytes_) n += static_cast<uint64_t>(std::popcount(static_cast<uint8_t>(c)));
  return n;
}

std::vector<uint64_t> ChunkBitmap::Missing() const {
  std::vector<uint64_t> out;
  for (uint64_t i = 0; i < count_; ++i) {
    if (!Test(i)) out.push_back(i);
  }
  return out;
}

}  // namespace peat::blob

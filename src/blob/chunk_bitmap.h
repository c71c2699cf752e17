// ChunkBitmap: which chunks of a partial blob are verified and written. Bit i is bit (i % 8) of
// byte i / 8 (least significant first); the byte form is what the chunk index persists and what a
// future BlobHave frame carries. A value type; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace peat::blob {

class ChunkBitmap {
 public:
  explicit ChunkBitmap(uint64_t chunk_count = 0)
      : count_(chunk_count), bytes_((chunk_count + 7) / 8, '\0') {}
  // INVALID_ARGUMENT unless `bytes` is exactly ceil(count / 8) bytes with no bit set past count.
  static StatusOr<ChunkBitmap> FromBytes(uint64_t chunk_count, std::string_view bytes);

  uint64_t size() const { return count_; }
  bool Test(uint64_t i) const { return (static_cast<uint8_t>(bytes_[i / 8]) >> (i % 8)) & 1; }
  void Set(uint64_t i) { bytes_[i / 8] = static_cast<char>(bytes_[i / 8] | (1 << (i % 8))); }
  uint64_t CountSet() const;
  bool AllSet() const { return CountSet() == count_; }
  // Indexes of the clear bits, ascending.
  std::vector<uint64_t> Missing() const;
  const std::string& bytes() const { return bytes_; }

 private:
  uint64_t count_;
  std::string bytes_;
};

}  // namespace peat::blob

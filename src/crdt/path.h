// Encoded JSON paths (the keys of Document's register map), beyond EncodePathSegment/DecodePath
// in document.h: appending segments without temporaries, validating untrusted encodings, and
// walking segments for rendering.
//
// Encoding (document.h): each object key is escaped (0x00 → 0x01 0x01, 0x01 → 0x01 0x02) and
// terminated by 0x00; the root is "". Because 0x00 occurs only as a terminator, a path P is an
// ancestor of Q exactly when Q starts with P, and bytewise order is depth-first order with
// sibling keys sorted bytewise.
//
// Stateless functions; thread-safe.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace peat::crdt {

// Appends the encoding of one key (escaped + terminator) to `path`.
void AppendEscapedPathSegment(std::string* path, std::string_view key);
inline void AppendPathSegment(std::string* path, std::string_view key) {
  // Keys almost never contain 0x00/0x01: check 8 bytes at a time (a byte < 2 makes the
  // subtraction borrow into its top bit), then copy the key and the terminator in one go.
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    uint64_t x;
    std::memcpy(&x, key.data() + i, 8);
    if ((x - 2 * kOnes) & ~x & (0x80 * kOnes)) return AppendEscapedPathSegment(path, key);
  }
  for (; i < key.size(); ++i) {
    if (static_cast<unsigned char>(key[i]) <= 0x01) return AppendEscapedPathSegment(path, key);
  }
  const size_t old_size = path->size();
  path->resize(old_size + key.size() + 1);
  char* out = path->data() + old_size;
  std::memcpy(out, key.data(), key.size());
  out[key.size()] = '\0';
}

// True if `encoded` is a well-formed encoded path (possibly the root "").
bool IsValidEncodedPath(std::string_view encoded);

// Appends the unescaped key of the encoded segment `segment` (without its terminator) to `out`.
// `segment` must come from a valid encoded path.
void AppendUnescapedSegment(std::string* out, std::string_view segment);

// Bytewise three-way comparison (<0, 0, >0) of short strings such as keys and encoded paths:
// inline, 8 bytes at a time, no library call (paths are compared a lot in Put and Render).
inline int CompareBytes(std::string_view a, std::string_view b) {
  const size_t n = a.size() < b.size() ? a.size() : b.size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y) {
      if constexpr (std::endian::native == std::endian::little) {
        x = __builtin_bswap64(x);
        y = __builtin_bswap64(y);
      }
      return x < y ? -1 : 1;
    }
  }
  for (; i < n; ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

inline bool EqualBytes(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CompareBytes(a, b) == 0;
}

// True if `path` is a strict descendant of `ancestor` (both encoded).
inline bool IsDescendant(std::string_view path, std::string_view ancestor) {
  return path.size() > ancestor.size() && EqualBytes(path.substr(0, ancestor.size()), ancestor);
}

}  // namespace peat::crdt

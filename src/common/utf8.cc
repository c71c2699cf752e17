#include "common/utf8.h"

#include <simdjson.h>

namespace peat {

bool IsValidUtf8(std::string_view bytes) {
  return simdjson::validate_utf8(bytes.data(), bytes.size());
}

size_t Utf8SequenceLength(std::string_view bytes, size_t i) {
  const auto at = [&](size_t k) -> unsigned {
    return i + k < bytes.size() ? static_cast<unsigned char>(bytes[i + k]) : 0x100;
  };
  const unsigned c = at(0);
  if (c < 0x80) return 1;
  // Continuation bytes are 80..BF; the second byte's range is narrower after E0 (no overlongs),
  // ED (no surrogates), F0 (no overlongs) and F4 (nothing above U+10FFFF).
  const auto in = [&](size_t k, unsigned lo, unsigned hi) { return at(k) >= lo && at(k) <= hi; };
  const auto cont = [&](size_t k) { return in(k, 0x80, 0xBF); };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return in(1, 0xA0, 0xBF) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return in(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return in(1, 0x90, 0xBF) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return in(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

}  // namespace peat

#include "service/request_validation.h"

#include <string>

namespace peat::service {

namespace {
// Strict UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF). Protobuf validates proto3 strings on
// the binary path; JSON input is checked here as well so both paths agree.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}
}  // namespace

Status ValidateIdentifier(std::string_view field, std::string_view value) {
  std::string f(field);
  if (value.empty()) return InvalidArgumentError(f + " must not be empty");
  if (value.size() > kMaxIdBytes) {
    return InvalidArgumentError(f + " is " + std::to_string(value.size()) +
                                " bytes; the limit is " + std::to_string(kMaxIdBytes));
  }
  if (value.find('\0') != std::string_view::npos) {
    return InvalidArgumentError(f + " must not contain NUL characters");
  }
  if (!IsValidUtf8(value)) return InvalidArgumentError(f + " must be valid UTF-8");
  return Status::Ok();
}

}  // namespace peat::service

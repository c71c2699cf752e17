#include "store/validation.h"

#include <string>

namespace peat::store {

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values beyond U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return false;
    }
    i += len;
  }
  return true;
}

Status ValidateKey(std::string_view field, std::string_view value) {
  if (value.empty()) return InvalidArgumentError(std::string(field) + " must not be empty");
  if (value.size() > kMaxKeyBytes) {
    return InvalidArgumentError(std::string(field) + " is " + std::to_string(value.size()) +
                                " bytes; the limit is " + std::to_string(kMaxKeyBytes));
  }
  if (value.find('\0') != std::string_view::npos) {
    return InvalidArgumentError(std::string(field) + " must not contain NUL");
  }
  if (!IsValidUtf8(value)) return InvalidArgumentError(std::string(field) + " is not valid UTF-8");
  return Status::Ok();
}

Status ValidateDocumentKey(std::string_view collection, std::string_view doc_id) {
  PEAT_RETURN_IF_ERROR(ValidateKey("collection", collection));
  return ValidateKey("doc_id", doc_id);
}

Status ValidateJsonSize(std::string_view json, const StoreLimits& limits) {
  if (json.size() > limits.max_document_bytes) {
    return InvalidArgumentError(
        "json_data is " + std::to_string(json.size()) + " bytes; the limit is " +
        std::to_string(limits.max_document_bytes) + " (--max-document-bytes)");
  }
  return Status::Ok();
}

}  // namespace peat::store

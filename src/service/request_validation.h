// Validation of identifiers that arrive in requests (BEHAVIOR.md "Documents"): collection names
// and document ids are non-empty UTF-8, at most 1024 bytes, without NUL. Pure functions.
#pragma once

#include <string_view>

#include "common/status.h"

namespace peat::service {

inline constexpr size_t kMaxIdBytes = 1024;

// INVALID_ARGUMENT naming `field` ("collection", "doc_id", "node.id", …) when `value` breaks a
// rule.
Status ValidateIdentifier(std::string_view field, std::string_view value);

}  // namespace peat::service

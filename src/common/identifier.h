// The rule for identifiers (BEHAVIOR.md "Documents"): collection names, document ids, typed ids,
// peer ids and addresses are non-empty, at most kMaxIdentifierBytes bytes, without NUL, valid
// UTF-8 (common/utf8.h). The API checks them on requests and the store again before a write, with
// the same function, so both give the same answer and the same message. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace peat {

inline constexpr size_t kMaxIdentifierBytes = 1024;

// OK, or INVALID_ARGUMENT naming `field` ("collection", "doc_id", "node.id", …) and the first
// rule `value` breaks, checked in this order: empty, too long, NUL, not UTF-8.
Status ValidateIdentifier(std::string_view field, std::string_view value);

}  // namespace peat

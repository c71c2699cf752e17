// JSON string literals (RFC 8259): the one escaping rule for every JSON text the node writes —
// canonical documents (CONTRACT.md: part of the identity/wire vectors, so it never changes),
// Connect error bodies, JSON log lines, --print-config.
//
// Rule: '"' and '\' are escaped as \" and \\; \b \f \n \r \t for those control characters;
// \u00xx (lowercase hex) for the other characters below U+0020; everything else is copied raw
// (including '/', DEL and non-ASCII). Bytes that are not valid UTF-8 (common/utf8.h) become
// U+FFFD, one per byte that starts no valid sequence, so the result is always valid JSON in
// valid UTF-8. For valid UTF-8 input that is exactly the canonical form.
//
// Stateless functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace peat {

// Appends `text` as a quoted, escaped JSON string.
void AppendJsonString(std::string* out, std::string_view text);

// `text` as a quoted, escaped JSON string.
std::string JsonQuote(std::string_view text);

}  // namespace peat

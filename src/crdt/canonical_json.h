// Canonical JSON text pieces shared by the flattener (json_flatten.h), Document::Render and the
// binary codec. Canonical form (BEHAVIOR.md "Documents"): compact; strings escaped minimally and
// deterministically (\" \\ \b \f \n \r \t, \u00XX for the other control characters, everything
// else raw UTF-8: the rule of common/json_string.h); integers as plain decimal; doubles as the
// shortest text that reads back to the same double, with ".0" appended when that text has no '.',
// 'e' or 'E' (1.0 renders "1.0").
//
// Stateless functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/json_string.h"

namespace peat::crdt {

// Canonical number text into `buf` (at least kNumberBufferSize bytes); returns the length.
inline constexpr size_t kNumberBufferSize = 40;
size_t FormatInt64(char* buf, int64_t v);
size_t FormatUint64(char* buf, uint64_t v);
size_t FormatDouble(char* buf, double v);  // `v` must be finite

// Appends `text` as a quoted, escaped JSON string: common/json_string.h's rule, which is this
// canonical form (documents hold valid UTF-8 only, so its U+FFFD replacement never applies here).
using ::peat::AppendJsonString;

void AppendInt64(std::string* out, int64_t v);
void AppendUint64(std::string* out, uint64_t v);
// `v` must be finite (JSON has no NaN/Infinity).
void AppendDouble(std::string* out, double v);

// Canonical text → value, only if `text` is exactly the canonical rendering of that value (so the
// binary codec can store the value instead of the text and reproduce the text byte for byte).
std::optional<int64_t> ParseCanonicalInt64(std::string_view text);
std::optional<uint64_t> ParseCanonicalUint64(std::string_view text);
std::optional<double> ParseCanonicalDouble(std::string_view text);

}  // namespace peat::crdt

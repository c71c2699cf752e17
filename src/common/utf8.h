// UTF-8 validation: the one definition of "valid UTF-8" in the node (RFC 3629): no overlong
// forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences.
// IsValidUtf8 is simdjson's SIMD validator (runtime-dispatched, hot paths: ids, document codec);
// Utf8SequenceLength is a scalar decoder of one sequence for scanners that need to know where a
// bad byte is or to step over valid ones (JSON escaping, the JSON error locator). The unit tests
// check that the two agree. Stateless functions; thread-safe; no errors beyond the return value.
#pragma once

#include <cstddef>
#include <string_view>

namespace peat {

// The replacement character U+FFFD, encoded.
inline constexpr std::string_view kUtf8Replacement = "\xEF\xBF\xBD";

bool IsValidUtf8(std::string_view bytes);

// Length (1..4) of the valid UTF-8 sequence that starts at bytes[i], or 0 if the byte there does
// not start one (a continuation byte, C0/C1/F5..FF, or a sequence that is overlong, a surrogate,
// above U+10FFFF or cut off by the end of `bytes`). Requires i < bytes.size().
size_t Utf8SequenceLength(std::string_view bytes, size_t i);

}  // namespace peat

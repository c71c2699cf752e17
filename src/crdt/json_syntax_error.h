// Locates the first problem in a JSON text, for error messages. simdjson (json_flatten.cc) does
// the real parsing and says only *that* the text is bad; when it fails, this small scanner finds
// *where* and *what* (RFC 8259 grammar, UTF-8 inside strings, a nesting-depth limit, numbers too
// large for a double) so callers can answer "invalid JSON at byte 17: expected ':' after key".
//
// Iterative (no recursion), O(n); stateless; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace peat::crdt {

struct JsonSyntaxError {
  enum class Kind { kSyntax, kUtf8, kDepth };
  Kind kind = Kind::kSyntax;
  size_t offset = 0;  // byte offset of the problem
  std::string what;   // "expected ':' after object key"
};

// nullopt if `json` is one valid JSON value (any type) with nesting depth ≤ max_depth.
std::optional<JsonSyntaxError> FindJsonSyntaxError(std::string_view json, int max_depth);

}  // namespace peat::crdt

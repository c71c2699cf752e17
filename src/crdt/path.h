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

#include <cstddef>
#include <string>
#include <string_view>

namespace peat::crdt {

// Appends the encoding of one key (escaped + terminator) to `path`.
void AppendPathSegment(std::string* path, std::string_view key);

// True if `encoded` is a well-formed encoded path (possibly the root "").
bool IsValidEncodedPath(std::string_view encoded);

// Appends the unescaped key of the encoded segment `segment` (without its terminator) to `out`.
// `segment` must come from a valid encoded path.
void AppendUnescapedSegment(std::string* out, std::string_view segment);

// True if `path` is a strict descendant of `ancestor` (both encoded).
inline bool IsDescendant(std::string_view path, std::string_view ancestor) {
  return path.size() > ancestor.size() && path.substr(0, ancestor.size()) == ancestor;
}

}  // namespace peat::crdt

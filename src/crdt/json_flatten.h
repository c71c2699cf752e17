// Parses a JSON object (simdjson) into the leaves a Document stores: for every leaf of the object
// tree, its encoded path (path.h) and register kind + canonical value text (canonical_json.h).
// Leaves are: scalars, arrays (atomic; the value is the array's canonical JSON text, objects inside
// key-sorted), and nested empty objects (kObject, empty value). The top-level object itself is not
// a leaf. Leaves come out sorted by encoded path, one per path. Duplicate keys in one object: the
// last occurrence wins, as in JSON.parse. Integers that fit int64/uint64 stay integers; other
// numbers (fractions, exponents, larger integers) become doubles.
//
// Thread-safe: each thread reuses its own parser (documents over 64 KiB get a temporary one, so no
// thread keeps a large buffer).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crdt/document.h"

namespace peat::crdt {

// Receives the leaves of a JSON object in path order (VisitJsonObject).
class LeafSink {
 public:
  virtual ~LeafSink() = default;
  // `path` and `value` are valid only during the call.
  virtual void Leaf(std::string_view path, RegisterKind kind, std::string_view value) = 0;
};

// The flattened leaves of one JSON object. Reusable: FlattenJsonObject replaces the content and
// keeps the buffers' capacity.
class FlatJson {
 public:
  void Append(std::string_view path, RegisterKind kind, std::string_view value);
  void Clear() {
    paths_.clear();
    values_.clear();
    leaves_.clear();
  }
  size_t size() const { return leaves_.size(); }
  std::string_view path(size_t i) const {
    return std::string_view(paths_).substr(leaves_[i].path_offset, leaves_[i].path_size);
  }
  RegisterKind kind(size_t i) const { return leaves_[i].kind; }
  std::string_view value(size_t i) const {
    return std::string_view(values_).substr(leaves_[i].value_offset, leaves_[i].value_size);
  }
  // Bytes held by the buffers (to decide whether a reused instance should be released).
  size_t capacity_bytes() const {
    return paths_.capacity() + values_.capacity() + leaves_.capacity() * sizeof(Leaf);
  }

 private:
  struct Leaf {
    uint32_t path_offset;
    uint32_t path_size;
    uint32_t value_offset;
    uint32_t value_size;
    RegisterKind kind;
  };
  std::string paths_;
  std::string values_;
  std::vector<Leaf> leaves_;
};

// Parses `json`, which must be a JSON object nested at most `max_depth` deep (the top-level object
// is depth 1), into `out`. INVALID_ARGUMENT (message without a field-name prefix) says what is
// wrong: "top level must be a JSON object, got array", "nesting depth exceeds 64", "invalid JSON at
// byte 17: expected ':' after object key", "invalid UTF-8 at byte 3", "empty input".
Status FlattenJsonObject(std::string_view json, int max_depth, FlatJson* out);

// Like FlattenJsonObject, but hands the leaves to `sink` as they are found (no copies). The input
// is validated completely first: on error the sink is never called.
Status VisitJsonObject(std::string_view json, int max_depth, LeafSink* sink);

// The canonical text of a JSON array (used to validate decoded array registers). INVALID_ARGUMENT
// if `json` is not exactly one JSON array nested at most `max_depth` deep.
StatusOr<std::string> CanonicalJsonArray(std::string_view json, int max_depth);

}  // namespace peat::crdt

#include "crdt/json_flatten.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <memory>
#include <system_error>

#include "crdt/canonical_json.h"
#include "crdt/json_syntax_error.h"
#include "crdt/path.h"

namespace peat::crdt {

namespace dom = simdjson::dom;

namespace {

constexpr size_t kReusedParserLimit = 64 * 1024;

// A parser plus a padded copy of the input, so simdjson never allocates a padded copy itself.
struct ParseBuffers {
  dom::parser parser;
  std::string padded;

  // Makes the parser reject documents nested deeper than `max_depth` (simdjson counts a non-empty
  // container at nesting level d as depth d and an empty one as d - 1, so whatever it accepts is
  // at most max_depth deep by our count; some documents exactly max_depth deep are refused and
  // take the general path).
  void LimitDepth(int max_depth) {
    if (parser.max_depth() == static_cast<size_t>(max_depth)) return;
    parser = dom::parser();
    if (parser.allocate(4096, static_cast<size_t>(max_depth)) != simdjson::SUCCESS) {
      parser = dom::parser();
    }
  }

  simdjson::simdjson_result<dom::element> Parse(std::string_view json) {
    if (padded.size() < json.size() + simdjson::SIMDJSON_PADDING) {
      padded.resize(json.size() + simdjson::SIMDJSON_PADDING);
    }
    if (!json.empty()) std::memcpy(padded.data(), json.data(), json.size());
    return parser.parse(padded.data(), json.size(), /*realloc_if_needed=*/false);
  }
};

// Rewrites integer tokens too large for int64/uint64 as doubles ("1e30" stays, "10…0" gets ".0"
// appended) so simdjson, which rejects them, parses them as doubles. Returns false if there was
// nothing to rewrite.
bool RewriteBigIntegers(std::string_view in, std::string* out) {
  bool changed = false;
  bool in_string = false;
  size_t copied = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) continue;
    size_t end = i;
    bool plain = true;
    while (end < in.size()) {
      const char d = in[end];
      if ((d >= '0' && d <= '9') || d == '-') {
        ++end;
      } else if (d == '.' || d == 'e' || d == 'E' || d == '+') {
        plain = false;
        ++end;
      } else {
        break;
      }
    }
    if (plain && end - i > 19) {
      const std::string_view token = in.substr(i, end - i);
      bool fits = false;
      if (token[0] == '-') {
        int64_t v;
        auto r = std::from_chars(token.data(), token.data() + token.size(), v);
        fits = r.ec == std::errc() && r.ptr == token.data() + token.size();
      } else {
        uint64_t v;
        auto r = std::from_chars(token.data(), token.data() + token.size(), v);
        fits = r.ec == std::errc() && r.ptr == token.data() + token.size();
      }
      if (!fits) {
        out->append(in.substr(copied, end - copied));
        out->append(".0");
        copied = end;
        changed = true;
      }
    }
    i = end - 1;
  }
  if (changed) out->append(in.substr(copied));
  return changed;
}

const char* TypeName(dom::element_type t) {
  switch (t) {
    case dom::element_type::ARRAY:
      return "array";
    case dom::element_type::OBJECT:
      return "object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "number";
    case dom::element_type::STRING:
      return "string";
    case dom::element_type::BOOL:
      return "boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

std::string DepthMessage(int max_depth) {
  return "nesting depth exceeds " + std::to_string(max_depth);
}

// Explains why simdjson rejected `json`.
Status ParseError(std::string_view json, int max_depth, simdjson::error_code code) {
  if (json.empty() || code == simdjson::EMPTY) return InvalidArgumentError("empty input");
  if (auto e = FindJsonSyntaxError(json, max_depth)) {
    switch (e->kind) {
      case JsonSyntaxError::Kind::kDepth:
        return InvalidArgumentError(DepthMessage(max_depth));
      case JsonSyntaxError::Kind::kUtf8:
        return InvalidArgumentError("invalid UTF-8 at byte " + std::to_string(e->offset));
      case JsonSyntaxError::Kind::kSyntax:
        return InvalidArgumentError("invalid JSON at byte " + std::to_string(e->offset) + ": " +
                                    e->what);
    }
  }
  if (code == simdjson::DEPTH_ERROR) return InvalidArgumentError(DepthMessage(max_depth));
  return InvalidArgumentError(std::string("invalid JSON: ") + simdjson::error_message(code));
}

// Walks a parsed DOM, handing leaves to a LeafSink in path order. Depth errors are recorded in
// error_ and reported by the boolean results, to keep Status objects off the per-leaf path.
class JsonWalker {
 public:
  // An object member in key order (duplicates already dropped).
  struct Field {
    std::string_view key;
    dom::element value;
  };
  // Members as found, and what sorting moves around.
  struct Entry {
    std::string_view key;
    dom::element value;
  };
  struct SortKey {
    uint64_t prefix;  // Prefix(key): most comparisons end here
    uint64_t index;   // into unsorted_
  };
  // Per-thread scratch kept across calls so a walk allocates nothing once warm.
  struct Scratch {
    std::string path;
    std::string value;
    std::vector<Field> fields;
    std::vector<Entry> unsorted;
    std::vector<SortKey> keys;
  };

  // `input_size` bounds the longest path: a key of n bytes takes at least n + 3 input bytes and at
  // most 2n + 1 encoded bytes.
  JsonWalker(int max_depth, LeafSink* sink, Scratch* scratch, size_t input_size)
      : max_depth_(max_depth),
        sink_(sink),
        value_(scratch->value),
        fields_(scratch->fields),
        unsorted_(scratch->unsorted),
        keys_(scratch->keys) {
    if (scratch->path.size() < 2 * input_size + 1) scratch->path.resize(2 * input_size + 1);
    path_ = scratch->path.data();
    fields_.clear();
    unsorted_.clear();
    keys_.clear();
  }

  Status error() const { return error_; }

  bool Object(dom::object obj, int depth) {
    if (depth > max_depth_) return DepthError();
    const size_t begin = SortedFields(obj);
    const size_t end = fields_.size();
    if (begin == end && path_len_ > 0) sink_->Leaf(Path(), RegisterKind::kObject, {});
    for (size_t i = begin; i < end; ++i) {
      const dom::element value = fields_[i].value;
      const size_t mark = path_len_;
      PushSegment(fields_[i].key);
      if (!Value(value, depth)) return false;
      path_len_ = mark;
    }
    fields_.resize(begin);
    return true;
  }

  // Canonical text of any value (used for arrays and what they contain).
  bool Canonical(dom::element v, int depth, std::string* out) {
    switch (v.type()) {
      case dom::element_type::OBJECT: {
        if (depth + 1 > max_depth_) return DepthError();
        const dom::object object = v.get_object().value_unsafe();
        const size_t begin = SortedFields(object);
        const size_t end = fields_.size();
        out->push_back('{');
        bool first = true;
        for (size_t i = begin; i < end; ++i) {
          const Field f = fields_[i];
          if (!first) out->push_back(',');
          first = false;
          AppendJsonString(out, f.key);
          out->push_back(':');
          if (!Canonical(f.value, depth + 1, out)) return false;
        }
        out->push_back('}');
        fields_.resize(begin);
        return true;
      }
      case dom::element_type::ARRAY: {
        if (depth + 1 > max_depth_) return DepthError();
        out->push_back('[');
        bool first = true;
        const dom::array array = v.get_array().value_unsafe();
        for (dom::element e : array) {
          if (!first) out->push_back(',');
          first = false;
          if (!Canonical(e, depth + 1, out)) return false;
        }
        out->push_back(']');
        return true;
      }
      case dom::element_type::STRING:
        AppendJsonString(out, v.get_string().value_unsafe());
        return true;
      default:
        AppendScalar(v, out);
        return true;
    }
  }

 private:
  std::string_view Path() const { return std::string_view(path_, path_len_); }

  // Appends the encoding of `key` (path.h) to the path buffer, which is large enough.
  void PushSegment(std::string_view key) {
    char* out = path_ + path_len_;
    constexpr uint64_t kOnes = 0x0101010101010101ULL;
    bool plain = true;  // no 0x00/0x01 byte (a byte < 2 borrows into its top bit)
    size_t i = 0;
    for (; i + 8 <= key.size() && plain; i += 8) {
      uint64_t x;
      std::memcpy(&x, key.data() + i, 8);
      plain = ((x - 2 * kOnes) & ~x & (0x80 * kOnes)) == 0;
    }
    for (; i < key.size() && plain; ++i) plain = static_cast<unsigned char>(key[i]) > 0x01;
    if (plain) {
      std::memcpy(out, key.data(), key.size());
      out[key.size()] = '\0';
      path_len_ += key.size() + 1;
      return;
    }
    size_t n = 0;
    for (char c : key) {
      const auto u = static_cast<unsigned char>(c);
      if (u <= 0x01) {
        out[n++] = '\x01';
        out[n++] = static_cast<char>(u + 1);
      } else {
        out[n++] = c;
      }
    }
    out[n++] = '\0';
    path_len_ += n;
  }

  bool DepthError() {
    error_ = InvalidArgumentError(DepthMessage(max_depth_));
    return false;
  }

  // The key's first 8 bytes as a big-endian integer (zero-padded): comparing two of them orders
  // the keys bytewise unless both start with the same 8 bytes.
  static uint64_t Prefix(std::string_view key) {
    const char* p = key.data();
    const size_t n = key.size();
    uint64_t v = 0;
    if (n >= 8) {
      std::memcpy(&v, p, 8);
    } else if (n >= 4) {
      uint32_t a, b;  // two overlapping loads cover bytes 0..n-1
      std::memcpy(&a, p, 4);
      std::memcpy(&b, p + n - 4, 4);
      v = uint64_t{a} | (uint64_t{b} << ((n - 4) * 8));
    } else if (n > 0) {
      v = uint64_t{static_cast<unsigned char>(p[0])} |
          (uint64_t{static_cast<unsigned char>(p[n / 2])} << (n / 2 * 8)) |
          (uint64_t{static_cast<unsigned char>(p[n - 1])} << ((n - 1) * 8));
    }
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
    return v;
  }

  // Appends the object's fields to fields_ in key order (ties: document order), marks all but the
  // last occurrence of a duplicate key as skipped, and returns where they start. Sorts (prefix,
  // index) pairs, not the fields themselves.
  size_t SortedFields(dom::object obj) {
    const size_t begin = fields_.size();
    const size_t base = keys_.size();
    for (dom::key_value_pair kv : obj) {
      keys_.push_back(SortKey{Prefix(kv.key), static_cast<uint32_t>(unsorted_.size())});
      unsorted_.push_back(Entry{kv.key, kv.value});
    }
    const size_t n = keys_.size() - base;
    const size_t first_entry = unsorted_.size() - n;
    SortKey* first = keys_.data() + base;
    SortKey* last = first + n;
    auto less = [&](const SortKey& a, const SortKey& b) {
      if (a.prefix != b.prefix) return a.prefix < b.prefix;
      const int c = CompareBytes(unsorted_[a.index].key, unsorted_[b.index].key);
      return c < 0 || (c == 0 && a.index < b.index);
    };
    bool sorted = true;  // canonical producers send sorted keys: skip the sort then
    for (size_t i = 1; i < n && sorted; ++i) sorted = less(first[i - 1], first[i]);
    if (sorted) {
      // nothing to sort
    } else if (n <= 24) {
      for (SortKey* it = first + 1; it < last; ++it) {  // insertion sort: tiny, no allocation
        if (!less(*it, *(it - 1))) continue;
        const SortKey k = *it;
        SortKey* j = it;
        for (; j > first && less(k, *(j - 1)); --j) *j = *(j - 1);
        *j = k;
      }
    } else {
      std::sort(first, last, less);
    }
    for (SortKey* it = first; it < last; ++it) {
      const Entry& e = unsorted_[it->index];
      const bool dup = it + 1 < last && it->prefix == (it + 1)->prefix &&
                       EqualBytes(e.key, unsorted_[(it + 1)->index].key);
      if (!dup) fields_.push_back(Field{e.key, e.value});
    }
    keys_.resize(base);
    unsorted_.resize(first_entry);
    return begin;
  }

  bool Value(dom::element v, int depth) {
    switch (v.type()) {
      case dom::element_type::OBJECT: {
        const dom::object object = v.get_object().value_unsafe();
        return Object(object, depth + 1);
      }
      case dom::element_type::ARRAY:
        value_.clear();
        if (!Canonical(v, depth, &value_)) return false;
        sink_->Leaf(Path(), RegisterKind::kArray, value_);
        return true;
      case dom::element_type::STRING:
        sink_->Leaf(Path(), RegisterKind::kString, v.get_string().value_unsafe());
        return true;
      case dom::element_type::INT64: {
        char buf[kNumberBufferSize];
        const size_t n = FormatInt64(buf, v.get_int64().value_unsafe());
        sink_->Leaf(Path(), RegisterKind::kInt, std::string_view(buf, n));
        return true;
      }
      case dom::element_type::UINT64: {
        char buf[kNumberBufferSize];
        const size_t n = FormatUint64(buf, v.get_uint64().value_unsafe());
        sink_->Leaf(Path(), RegisterKind::kInt, std::string_view(buf, n));
        return true;
      }
      case dom::element_type::DOUBLE: {
        char buf[kNumberBufferSize];
        const size_t n = FormatDouble(buf, v.get_double().value_unsafe());
        sink_->Leaf(Path(), RegisterKind::kDouble, std::string_view(buf, n));
        return true;
      }
      case dom::element_type::BOOL:
        sink_->Leaf(Path(),
                    v.get_bool().value_unsafe() ? RegisterKind::kTrue : RegisterKind::kFalse, {});
        return true;
      case dom::element_type::NULL_VALUE:
        sink_->Leaf(Path(), RegisterKind::kNull, {});
        return true;
    }
    error_ = InternalError("unknown JSON element type");
    return false;
  }

  static void AppendScalar(dom::element v, std::string* out) {
    switch (v.type()) {
      case dom::element_type::INT64:
        AppendInt64(out, v.get_int64().value_unsafe());
        break;
      case dom::element_type::UINT64:
        AppendUint64(out, v.get_uint64().value_unsafe());
        break;
      case dom::element_type::DOUBLE:
        AppendDouble(out, v.get_double().value_unsafe());
        break;
      case dom::element_type::BOOL:
        out->append(v.get_bool().value_unsafe() ? "true" : "false");
        break;
      default:
        out->append("null");
        break;
    }
  }

  int max_depth_;
  LeafSink* sink_;
  char* path_;  // the current path: path_[0, path_len_)
  size_t path_len_ = 0;
  std::string& value_;
  std::vector<Field>& fields_;
  std::vector<Entry>& unsorted_;
  std::vector<SortKey>& keys_;
  Status error_;
};

// Collects leaves into a FlatJson.
class FlatJsonAppender : public LeafSink {
 public:
  explicit FlatJsonAppender(FlatJson* out) : out_(out) {}
  void Leaf(std::string_view path, RegisterKind kind, std::string_view value) override {
    out_->Append(path, kind, value);
  }

 private:
  FlatJson* out_;
};

// Parses `json` with a reused (small inputs) or temporary (large inputs) parser and hands the
// root element to `fn`. Big integers are retried as doubles; errors are explained.
ParseBuffers& ReusedBuffers() {
  thread_local ParseBuffers reused;
  return reused;
}

template <typename Fn>
Status ParseThen(std::string_view json, int max_depth, Fn&& fn) {
  std::unique_ptr<ParseBuffers> temporary;
  ParseBuffers* buffers = &ReusedBuffers();
  if (json.size() > kReusedParserLimit) {
    temporary = std::make_unique<ParseBuffers>();
    buffers = temporary.get();
  }
  auto parsed = buffers->Parse(json);
  std::string rewritten;
  if (parsed.error() == simdjson::NUMBER_ERROR && RewriteBigIntegers(json, &rewritten)) {
    auto again = buffers->Parse(rewritten);
    if (!again.error()) parsed = again;
  }
  if (parsed.error()) return ParseError(json, max_depth, parsed.error());
  return fn(parsed.value_unsafe());
}

JsonWalker::Scratch& WalkerScratch() {
  thread_local JsonWalker::Scratch scratch;
  return scratch;
}

// Walks `root` (must be an object) into `sink`.
Status WalkObject(dom::element root, int max_depth, LeafSink* sink, size_t input_size) {
  if (root.type() != dom::element_type::OBJECT) {
    return InvalidArgumentError(std::string("top level must be a JSON object, got ") +
                                TypeName(root.type()));
  }
  JsonWalker::Scratch& scratch = WalkerScratch();
  JsonWalker walker(max_depth, sink, &scratch, input_size);
  const dom::object object = root.get_object().value_unsafe();
  const bool ok = walker.Object(object, 1);
  if (input_size > kReusedParserLimit) scratch = JsonWalker::Scratch();  // do not keep big buffers
  return ok ? Status::Ok() : walker.error();
}

}  // namespace

void FlatJson::Append(std::string_view path, RegisterKind kind, std::string_view value) {
  leaves_.push_back(Leaf{static_cast<uint32_t>(paths_.size()), static_cast<uint32_t>(path.size()),
                         static_cast<uint32_t>(values_.size()), static_cast<uint32_t>(value.size()),
                         kind});
  paths_.append(path);
  values_.append(value);
}

Status FlattenJsonObject(std::string_view json, int max_depth, FlatJson* out) {
  out->Clear();
  if (json.size() > UINT32_MAX) return InvalidArgumentError("document too large");
  FlatJsonAppender appender(out);
  Status s = ParseThen(json, max_depth, [&](dom::element root) -> Status {
    return WalkObject(root, max_depth, &appender, json.size());
  });
  if (!s.ok()) out->Clear();
  return s;
}

Status VisitJsonObject(std::string_view json, int max_depth, LeafSink* sink) {
  if (max_depth >= 1 && json.size() <= kReusedParserLimit) {
    // Fast path: a parser that enforces the depth limit itself, so once it accepts, the walk
    // cannot fail and leaves go straight to the sink.
    thread_local ParseBuffers fast;
    fast.LimitDepth(max_depth);
    auto parsed = fast.Parse(json);
    if (!parsed.error()) {
      const dom::element root = parsed.value_unsafe();
      if (root.type() != dom::element_type::OBJECT) {
        return InvalidArgumentError(std::string("top level must be a JSON object, got ") +
                                    TypeName(root.type()));
      }
      Status s = WalkObject(root, max_depth, sink, json.size());
      if (!s.ok()) return InternalError("JSON walk failed after validation: " + s.message());
      return s;
    }
    // Any problem (bad JSON, big integers, a document exactly at the depth limit): general path.
  }
  thread_local FlatJson flat;
  Status s = FlattenJsonObject(json, max_depth, &flat);
  if (s.ok()) {
    for (size_t i = 0; i < flat.size(); ++i) sink->Leaf(flat.path(i), flat.kind(i), flat.value(i));
  }
  if (flat.capacity_bytes() > kReusedParserLimit) flat = FlatJson();
  return s;
}

StatusOr<std::string> CanonicalJsonArray(std::string_view json, int max_depth) {
  std::string text;
  Status s = ParseThen(json, max_depth, [&](dom::element root) -> Status {
    if (root.type() != dom::element_type::ARRAY) {
      return InvalidArgumentError(std::string("expected a JSON array, got ") +
                                  TypeName(root.type()));
    }
    JsonWalker::Scratch scratch;
    JsonWalker walker(max_depth, nullptr, &scratch, 0);
    if (walker.Canonical(root, 0, &text)) return Status::Ok();
    return walker.error();
  });
  if (!s.ok()) return s;
  return text;
}

}  // namespace peat::crdt

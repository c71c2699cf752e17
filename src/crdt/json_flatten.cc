#include "crdt/json_flatten.h"

#include <simdjson.h>

#include <algorithm>
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

}  // namespace

// Walks a parsed DOM, emitting leaves in path order. Errors (depth) are recorded in error_ and
// reported by the boolean results, to keep Status objects off the per-leaf path.
class JsonFlattener {
 public:
  struct Field {
    std::string_view key;
    dom::element value;
    uint32_t order;
    bool skip;  // an earlier duplicate of a key (the last occurrence wins)
  };
  // Per-thread scratch kept across calls so a flatten allocates nothing once warm.
  struct Scratch {
    std::string path;
    std::vector<Field> fields;
  };

  JsonFlattener(int max_depth, FlatJson* out, Scratch* scratch)
      : max_depth_(max_depth), out_(out), path_(scratch->path), fields_(scratch->fields) {
    path_.clear();
    fields_.clear();
  }

  Status error() const { return error_; }

  bool Object(dom::object obj, int depth) {
    if (depth > max_depth_) return DepthError();
    const size_t begin = SortedFields(obj);
    const size_t end = fields_.size();
    if (begin == end && !path_.empty()) {
      Emit(RegisterKind::kObject, out_->values_.size());
    }
    for (size_t i = begin; i < end; ++i) {
      const Field f = fields_[i];
      if (f.skip) continue;
      const size_t mark = path_.size();
      AppendPathSegment(&path_, f.key);
      if (!Value(f.value, depth)) return false;
      path_.resize(mark);
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
          if (f.skip) continue;
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
  bool DepthError() {
    error_ = InvalidArgumentError(DepthMessage(max_depth_));
    return false;
  }

  // Appends the object's fields to fields_ sorted by key (ties: document order), marks all but the
  // last occurrence of a duplicate key as skipped, and returns where they start.
  size_t SortedFields(dom::object obj) {
    const size_t begin = fields_.size();
    uint32_t order = 0;
    for (dom::key_value_pair kv : obj) fields_.push_back(Field{kv.key, kv.value, order++, false});
    auto less = [](const Field& a, const Field& b) {
      const int c = CompareBytes(a.key, b.key);
      return c < 0 || (c == 0 && a.order < b.order);
    };
    Field* first = fields_.data() + begin;
    Field* last = fields_.data() + fields_.size();
    if (order <= 1) {
      // nothing to sort
    } else if (order <= 24) {
      for (Field* it = first + 1; it < last; ++it) {  // insertion sort: tiny, no allocation
        if (!less(*it, *(it - 1))) continue;
        Field f = *it;
        Field* j = it;
        for (; j > first && less(f, *(j - 1)); --j) *j = *(j - 1);
        *j = f;
      }
    } else {
      std::sort(first, last, less);
    }
    for (Field* it = first; it + 1 < last; ++it) {
      if (EqualBytes(it->key, (it + 1)->key)) it->skip = true;
    }
    return begin;
  }

  bool Value(dom::element v, int depth) {
    std::string& values = out_->values_;
    const size_t value_start = values.size();
    switch (v.type()) {
      case dom::element_type::OBJECT: {
        const dom::object object = v.get_object().value_unsafe();
        return Object(object, depth + 1);
      }
      case dom::element_type::ARRAY:
        if (!Canonical(v, depth, &values)) return false;
        Emit(RegisterKind::kArray, value_start);
        return true;
      case dom::element_type::STRING:
        values.append(v.get_string().value_unsafe());
        Emit(RegisterKind::kString, value_start);
        return true;
      case dom::element_type::INT64:
      case dom::element_type::UINT64:
        AppendScalar(v, &values);
        Emit(RegisterKind::kInt, value_start);
        return true;
      case dom::element_type::DOUBLE:
        AppendScalar(v, &values);
        Emit(RegisterKind::kDouble, value_start);
        return true;
      case dom::element_type::BOOL:
        Emit(v.get_bool().value_unsafe() ? RegisterKind::kTrue : RegisterKind::kFalse, value_start);
        return true;
      case dom::element_type::NULL_VALUE:
        Emit(RegisterKind::kNull, value_start);
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

  void Emit(RegisterKind kind, size_t value_start) {
    const size_t path_start = out_->paths_.size();
    out_->paths_.append(path_);
    out_->leaves_.push_back(
        FlatJson::Leaf{static_cast<uint32_t>(path_start), static_cast<uint32_t>(path_.size()),
                       static_cast<uint32_t>(value_start),
                       static_cast<uint32_t>(out_->values_.size() - value_start), kind});
  }

  int max_depth_;
  FlatJson* out_;
  std::string& path_;
  std::vector<Field>& fields_;
  Status error_;
};

namespace {

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

}  // namespace

Status FlattenJsonObject(std::string_view json, int max_depth, FlatJson* out) {
  out->Clear();
  if (json.size() > UINT32_MAX) return InvalidArgumentError("document too large");
  return ParseThen(json, max_depth, [&](dom::element root) -> Status {
    if (root.type() != dom::element_type::OBJECT) {
      return InvalidArgumentError(std::string("top level must be a JSON object, got ") +
                                  TypeName(root.type()));
    }
    thread_local JsonFlattener::Scratch scratch;
    JsonFlattener flattener(max_depth, out, &scratch);
    const dom::object object = root.get_object().value_unsafe();
    const bool ok = flattener.Object(object, 1);
    if (json.size() > kReusedParserLimit) scratch = JsonFlattener::Scratch();  // stay small
    if (ok) return Status::Ok();
    out->Clear();
    return flattener.error();
  });
}

StatusOr<std::string> CanonicalJsonArray(std::string_view json, int max_depth) {
  std::string text;
  Status s = ParseThen(json, max_depth, [&](dom::element root) -> Status {
    if (root.type() != dom::element_type::ARRAY) {
      return InvalidArgumentError(std::string("expected a JSON array, got ") +
                                  TypeName(root.type()));
    }
    FlatJson unused;
    JsonFlattener::Scratch scratch;
    JsonFlattener flattener(max_depth, &unused, &scratch);
    if (flattener.Canonical(root, 0, &text)) return Status::Ok();
    return flattener.error();
  });
  if (!s.ok()) return s;
  return text;
}

}  // namespace peat::crdt

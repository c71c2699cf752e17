#include "watcher/agent_responses.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <utility>

#include "common/json_string.h"
#include "common/utf8.h"
#include "crdt/json_syntax_error.h"

namespace peat::watcher {
namespace {

namespace dom = simdjson::dom;

// simdjson's own limit; the syntax locator is asked with the same one.
constexpr int kMaxDepth = static_cast<int>(simdjson::DEFAULT_MAX_DEPTH);

const char* TypeName(dom::element_type t) {
  switch (t) {
    case dom::element_type::ARRAY:
      return "an array";
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "a number";
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

// Text inside a JSON string that is not valid UTF-8 — a raw byte that starts no valid sequence,
// or a \u escape of a lone surrogate — is replaced by this marker (U+FDD0, a noncharacter) so
// simdjson accepts the body; Reader turns the marker back into a bad byte (kBadByte).
constexpr std::string_view kBadTextMarker = "\xEF\xB7\x90";
constexpr char kBadByte = '\xFF';

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of the escape "\uXXXX" at body[i], or -1 if there is none.
int EscapedUnit(std::string_view body, size_t i) {
  if (i + 6 > body.size() || body[i] != '\\' || body[i + 1] != 'u') return -1;
  int unit = 0;
  for (size_t k = i + 2; k < i + 6; ++k) {
    const int d = HexDigit(body[k]);
    if (d < 0) return -1;
    unit = unit * 16 + d;
  }
  return unit;
}

// `body` with the bad text inside its strings marked (kBadTextMarker); false if there was none.
// Bytes outside strings are copied as they are (the parse then still fails on them).
bool MarkBadText(std::string_view body, std::string* out) {
  bool marked = false;
  bool in_string = false;
  size_t i = 0;
  while (i < body.size()) {
    const char c = body[i];
    size_t n = 1;  // bytes copied unchanged
    if (!in_string || c == '"') {
      in_string = in_string ? false : c == '"';
    } else if (c == '\\') {
      const int unit = EscapedUnit(body, i);
      const bool high = unit >= 0xD800 && unit <= 0xDBFF;
      const int next = high ? EscapedUnit(body, i + 6) : -1;
      if (high && next >= 0xDC00 && next <= 0xDFFF) {
        n = 12;  // a surrogate pair
      } else if (unit >= 0xD800 && unit <= 0xDFFF) {
        *out += kBadTextMarker;
        marked = true;
        i += 6;
        continue;
      } else {
        n = std::min<size_t>(unit >= 0 ? 6 : 2, body.size() - i);
      }
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      n = Utf8SequenceLength(body, i);
      if (n == 0) {
        *out += kBadTextMarker;
        marked = true;
        ++i;
        continue;
      }
    }
    out->append(body.substr(i, n));
    i += n;
  }
  return marked;
}

// One response being read: its name prefixes every error.
class Reader {
 public:
  explicit Reader(std::string_view call) : call_(call) {}

  Status Error(std::string_view what) const {
    std::string m(call_);
    m += ": ";
    m += what;
    return InvalidArgumentError(std::move(m));
  }

  Status WrongType(const std::string& path, std::string_view expected, dom::element el) const {
    return Error(path + " must be " + std::string(expected) + "; got " + TypeName(el.type()));
  }

  // The body as a JSON object (size cap, syntax, top-level type).
  StatusOr<dom::object> Root(std::string_view body) {
    if (body.size() > kMaxAgentResponseBytes) {
      return Error("response body of " + std::to_string(body.size()) +
                   " bytes exceeds the 4 MiB limit");
    }
    padded_ = simdjson::padded_string(body);
    dom::element root;
    auto err = parser_.parse(padded_).get(root);
    if (err == simdjson::UTF8_ERROR || err == simdjson::STRING_ERROR) {
      std::string marked;
      if (MarkBadText(body, &marked)) {
        padded_ = simdjson::padded_string(marked);
        err = parser_.parse(padded_).get(root);
        has_bad_text_ = true;
      }
    }
    if (err != simdjson::SUCCESS) {
      if (body.empty()) return Error("response body is empty");
      if (auto e = crdt::FindJsonSyntaxError(body, kMaxDepth)) {
        return Error("response is not JSON: " + e->what + " at byte " + std::to_string(e->offset));
      }
      return Error(std::string("response is not JSON: ") + simdjson::error_message(err));
    }
    if (!root.is_object()) return WrongType("the response", "a JSON object", root);
    return dom::object(root);
  }

  // null → nullopt.
  StatusOr<std::optional<std::string>> String(const std::string& path, dom::element el) const {
    if (el.is_null()) return std::optional<std::string>();
    std::string_view s;
    if (el.get_string().get(s) != simdjson::SUCCESS) return WrongType(path, "a string", el);
    return std::optional<std::string>(Text(s));
  }

  // A string of the response: each mark of bad text becomes kBadByte (or `replacement`).
  std::string Text(std::string_view s, std::string_view replacement = {&kBadByte, 1}) const {
    if (!has_bad_text_) return std::string(s);
    std::string out;
    size_t from = 0;
    for (size_t at = s.find(kBadTextMarker); at != std::string_view::npos;
         at = s.find(kBadTextMarker, from)) {
      out.append(s.substr(from, at - from));
      out.append(replacement);
      from = at + kBadTextMarker.size();
    }
    out.append(s.substr(from));
    return out;
  }

  // A JSON integer (or an integral number) or a numeric string; with `enum_names`, any other
  // string is kept as the enum's name.
  StatusOr<std::optional<EnumValue>> Integer(const std::string& path, dom::element el,
                                             bool enum_names) const {
    const char* expected = enum_names ? "an integer, a numeric string or an enum name"
                                      : "an integer or a numeric string";
    switch (el.type()) {
      case dom::element_type::NULL_VALUE:
        return std::optional<EnumValue>();
      case dom::element_type::INT64:
        return std::optional<EnumValue>(EnumValue(int64_t{el.get_int64().value_unsafe()}));
      case dom::element_type::UINT64:
        return Error(path + " is out of the int64 range");
      case dom::element_type::DOUBLE: {
        const double d = el.get_double().value_unsafe();
        // 2^63 is exactly representable; every integral double below it fits int64.
        if (d != std::trunc(d)) return Error(path + " must be an integer; got a fraction");
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
          return Error(path + " is out of the int64 range");
        }
        return std::optional<EnumValue>(EnumValue(static_cast<int64_t>(d)));
      }
      case dom::element_type::STRING: {
        const std::string_view s = el.get_string().value_unsafe();
        const size_t digits_from = (!s.empty() && s[0] == '-') ? 1 : 0;
        const bool numeric =
            s.size() > digits_from &&
            s.find_first_not_of("0123456789", digits_from) == std::string_view::npos;
        if (numeric) {
          int64_t v = 0;
          auto r = std::from_chars(s.data(), s.data() + s.size(), v);
          if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
            return Error(path + " is out of the int64 range");
          }
          return std::optional<EnumValue>(EnumValue(v));
        }
        if (enum_names) return std::optional<EnumValue>(EnumValue(Text(s)));
        return Error(path + " must be " + expected + "; got a non-numeric string");
      }
      default:
        return WrongType(path, expected, el);
    }
  }

  StatusOr<std::optional<int64_t>> Int64(const std::string& path, dom::element el) const {
    PEAT_ASSIGN_OR_RETURN(std::optional<EnumValue> v, Integer(path, el, /*enum_names=*/false));
    if (!v) return std::optional<int64_t>();
    return std::optional<int64_t>(std::get<int64_t>(*v));
  }

  // null → nullopt (the caller keeps its default); otherwise an object.
  StatusOr<std::optional<dom::object>> Object(const std::string& path, dom::element el) const {
    if (el.is_null()) return std::optional<dom::object>();
    dom::object o;
    if (el.get_object().get(o) != simdjson::SUCCESS) return WrongType(path, "an object", el);
    return std::optional<dom::object>(o);
  }

  // Calls `item(path_of_item, element)` for each entry of a list; null is an empty list.
  template <typename Fn>
  Status List(const std::string& path, dom::element el, Fn&& item) const {
    if (el.is_null()) return Status::Ok();
    dom::array a;
    if (el.get_array().get(a) != simdjson::SUCCESS) return WrongType(path, "a list", el);
    size_t i = 0;
    for (dom::element e : a) {
      PEAT_RETURN_IF_ERROR(item(path + "[" + std::to_string(i) + "]", e));
      ++i;
    }
    return Status::Ok();
  }

  // Calls `member(key, path_of_member, value)` for every member of `o`, in order (so a duplicate
  // key read last wins).
  template <typename Fn>
  Status Members(const std::string& path, dom::object o, Fn&& member) const {
    for (dom::key_value_pair kv : o) {
      const std::string_view key = kv.key;
      std::string member_path = path.empty() ? std::string(key) : path + "." + std::string(key);
      PEAT_RETURN_IF_ERROR(member(key, member_path, kv.value));
    }
    return Status::Ok();
  }

  // A list of objects, each parsed by `parse_item`, into `out` (replacing its content).
  template <typename T>
  Status ObjectList(const std::string& path, dom::element el, std::vector<T>* out,
                    Status (*parse_item)(const Reader&, const std::string&, dom::object,
                                         T*)) const {
    out->clear();
    return List(path, el, [&](const std::string& item_path, dom::element e) -> Status {
      dom::object o;
      if (e.get_object().get(o) != simdjson::SUCCESS) return WrongType(item_path, "an object", e);
      T item;
      PEAT_RETURN_IF_ERROR(parse_item(*this, item_path, o, &item));
      out->push_back(std::move(item));
      return Status::Ok();
    });
  }

 private:
  std::string_view call_;
  dom::parser parser_;
  simdjson::padded_string padded_;
  bool has_bad_text_ = false;  // the body had bad text, marked (MarkBadText)
};

// Sets `*field` from a successful read, or returns the read's error.
template <typename T>
Status Assign(T* field, StatusOr<T> read) {
  if (!read.ok()) return read.status();
  *field = std::move(*read);
  return Status::Ok();
}

// `annotations`: an object of strings; null is empty.
Status ParseAnnotations(const Reader& rd, const std::string& path, dom::element el,
                        std::map<std::string, std::string>* out) {
  out->clear();
  PEAT_ASSIGN_OR_RETURN(std::optional<dom::object> o, rd.Object(path, el));
  if (!o) return Status::Ok();
  for (dom::key_value_pair entry : *o) {
    std::string_view value;
    if (entry.value.get_string().get(value) != simdjson::SUCCESS) {
      return rd.WrongType(path + "[" + JsonQuote(entry.key) + "]", "a string", entry.value);
    }
    // A key with bad text gets U+FFFD (common/json_string.h's rule) right away, so keys that
    // differ only in bad bytes are one key here as in the rendered document.
    (*out)[rd.Text(entry.key, kUtf8Replacement)] = rd.Text(value);
  }
  return Status::Ok();
}

Status ParseDeployedPackage(const Reader& rd, const std::string& path, dom::object o,
                            DeployedPackage* p) {
  return rd.Members(path, o, [&](std::string_view k, const std::string& fp, dom::element v) {
    if (k == "name") return Assign(&p->name, rd.String(fp, v));
    if (k == "version") return Assign(&p->version, rd.String(fp, v));
    if (k == "status") return Assign(&p->status, rd.Integer(fp, v, /*enum_names=*/true));
    if (k == "flavor") return Assign(&p->flavor, rd.String(fp, v));
    if (k == "namespaceOverride") return Assign(&p->namespace_override, rd.String(fp, v));
    if (k == "annotations") return ParseAnnotations(rd, fp, v, &p->annotations);
    return Status::Ok();
  });
}

Status ParseTag(const Reader& rd, const std::string& path, dom::object o, PulledTag* t) {
  return rd.Members(path, o, [&](std::string_view k, const std::string& fp, dom::element v) {
    if (k == "reference") return Assign(&t->reference, rd.String(fp, v));
    if (k == "arch") return Assign(&t->arch, rd.String(fp, v));
    if (k == "version") return Assign(&t->version, rd.String(fp, v));
    if (k == "totalBytes") return Assign(&t->total_bytes, rd.Int64(fp, v));
    if (k != "pullInfo") return Status::Ok();
    t->pull_status.reset();
    PEAT_ASSIGN_OR_RETURN(std::optional<dom::object> info, rd.Object(fp, v));
    if (!info) return Status::Ok();
    return rd.Members(fp, *info, [&](std::string_view ik, const std::string& ifp, dom::element iv) {
      if (ik != "status") return Status::Ok();
      return Assign(&t->pull_status, rd.Integer(ifp, iv, /*enum_names=*/true));
    });
  });
}

Status ParsePulledPackage(const Reader& rd, const std::string& path, dom::object o,
                          PulledPackage* p) {
  return rd.Members(path, o, [&](std::string_view k, const std::string& fp, dom::element v) {
    if (k == "packageName") return Assign(&p->package_name, rd.String(fp, v));
    if (k == "tags") return rd.ObjectList(fp, v, &p->tags, &ParseTag);
    return Status::Ok();
  });
}

Status ParseRegistry(const Reader& rd, const std::string& path, dom::object o, Registry* r) {
  return rd.Members(path, o, [&](std::string_view k, const std::string& fp, dom::element v) {
    if (k == "host") return Assign(&r->host, rd.String(fp, v));
    if (k == "packages") return rd.ObjectList(fp, v, &r->packages, &ParsePulledPackage);
    return Status::Ok();
  });
}

// A list response: the one field read is the list `key`, each item parsed by `parse_item`.
template <typename T>
StatusOr<std::vector<T>> ParseListResponse(std::string_view call, std::string_view key,
                                           std::string_view body,
                                           Status (*parse_item)(const Reader&, const std::string&,
                                                                dom::object, T*)) {
  Reader rd(call);
  PEAT_ASSIGN_OR_RETURN(dom::object root, rd.Root(body));
  std::vector<T> items;
  PEAT_RETURN_IF_ERROR(
      rd.Members("", root, [&](std::string_view k, const std::string& fp, dom::element v) {
        if (k != key) return Status::Ok();
        return rd.ObjectList(fp, v, &items, parse_item);
      }));
  return items;
}

}  // namespace

size_t PulledList::TagCount() const {
  size_t n = 0;
  for (const Registry& r : registries) {
    for (const PulledPackage& p : r.packages) n += p.tags.size();
  }
  return n;
}

StatusOr<AgentStatus> ParseAgentStatus(std::string_view body) {
  Reader rd("GET /status");
  PEAT_ASSIGN_OR_RETURN(dom::object root, rd.Root(body));
  AgentStatus s;
  PEAT_RETURN_IF_ERROR(
      rd.Members("", root, [&](std::string_view k, const std::string& fp, dom::element v) {
        if (k == "version") return Assign(&s.version, rd.String(fp, v));
        if (k == "architecture") return Assign(&s.architecture, rd.String(fp, v));
        if (k == "classification") return Assign(&s.classification, rd.String(fp, v));
        if (k == "k8sVersion") return Assign(&s.k8s_version, rd.String(fp, v));
        if (k == "k8sNodeStatus") return Assign(&s.k8s_node_status, rd.String(fp, v));
        if (k == "zarfVersion") return Assign(&s.zarf_version, rd.String(fp, v));
        if (k == "runMode") return Assign(&s.run_mode, rd.String(fp, v));
        if (k == "systemTime")
          return Assign(&s.system_time, rd.Integer(fp, v, /*enum_names=*/true));
        return Status::Ok();
      }));
  return s;
}

StatusOr<PackageList> ParsePackageList(std::string_view body) {
  PEAT_ASSIGN_OR_RETURN(std::vector<DeployedPackage> packages,
                        ParseListResponse("ListPackages", "packages", body, &ParseDeployedPackage));
  return PackageList{std::move(packages)};
}

StatusOr<PulledList> ParsePulledList(std::string_view body) {
  PEAT_ASSIGN_OR_RETURN(
      std::vector<Registry> registries,
      ParseListResponse("ListPulledPackages", "registries", body, &ParseRegistry));
  return PulledList{std::move(registries)};
}

}  // namespace peat::watcher

#include "rpc/flat_json_decoder.h"

#include <google/protobuf/descriptor.h>
#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace peat::rpc {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The names a JSON body may use for each field of one message: json_name and the proto name.
struct FieldIndex {
  std::vector<std::pair<std::string, const FieldDescriptor*>> names;

  explicit FieldIndex(const Descriptor& d) {
    for (int i = 0; i < d.field_count(); ++i) {
      const FieldDescriptor* f = d.field(i);
      names.emplace_back(f->json_name(), f);
      if (f->name() != f->json_name()) names.emplace_back(f->name(), f);
    }
  }

  const FieldDescriptor* Find(std::string_view key) const {
    for (const auto& [name, field] : names) {
      if (name == key) return field;
    }
    return nullptr;
  }
};

const FieldIndex& IndexOf(const Descriptor& d) {
  // Per thread: a handful of request types, no locks on the hot path.
  thread_local std::unordered_map<const Descriptor*, FieldIndex> cache;
  auto it = cache.find(&d);
  if (it == cache.end()) it = cache.emplace(&d, FieldIndex(d)).first;
  return it->second;
}

template <typename T>
bool InRange(int64_t v) {
  return v >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
         (v < 0 || static_cast<uint64_t>(v) <= std::numeric_limits<T>::max());
}

// Sets one field from a JSON value when the answer is certain; false otherwise.
bool SetField(const FieldDescriptor& f, simdjson::dom::element value, const Reflection& r,
              Message* out) {
  using simdjson::dom::element_type;
  const element_type t = value.type();
  switch (f.type()) {
    case FieldDescriptor::TYPE_STRING: {
      if (t != element_type::STRING) return false;
      std::string_view s = value.get_string().value_unsafe();
      r.SetString(out, &f, std::string(s));
      return true;
    }
    case FieldDescriptor::TYPE_BOOL:
      if (t != element_type::BOOL) return false;
      r.SetBool(out, &f, value.get_bool().value_unsafe());
      return true;
    case FieldDescriptor::TYPE_INT32:
    case FieldDescriptor::TYPE_SINT32:
    case FieldDescriptor::TYPE_SFIXED32: {
      if (t != element_type::INT64) return false;
      const int64_t v = value.get_int64().value_unsafe();
      if (!InRange<int32_t>(v)) return false;
      r.SetInt32(out, &f, static_cast<int32_t>(v));
      return true;
    }
    case FieldDescriptor::TYPE_INT64:
    case FieldDescriptor::TYPE_SINT64:
    case FieldDescriptor::TYPE_SFIXED64:
      if (t != element_type::INT64) return false;
      r.SetInt64(out, &f, value.get_int64().value_unsafe());
      return true;
    case FieldDescriptor::TYPE_UINT32:
    case FieldDescriptor::TYPE_FIXED32: {
      if (t != element_type::INT64) return false;
      const int64_t v = value.get_int64().value_unsafe();
      if (!InRange<uint32_t>(v)) return false;
      r.SetUInt32(out, &f, static_cast<uint32_t>(v));
      return true;
    }
    case FieldDescriptor::TYPE_UINT64:
    case FieldDescriptor::TYPE_FIXED64:
      if (t == element_type::UINT64) {
        r.SetUInt64(out, &f, value.get_uint64().value_unsafe());
        return true;
      }
      if (t != element_type::INT64 || value.get_int64().value_unsafe() < 0) return false;
      r.SetUInt64(out, &f, static_cast<uint64_t>(value.get_int64().value_unsafe()));
      return true;
    default:  // double, float, enum, bytes, message, group: protobuf's rules
      return false;
  }
}

bool Decode(std::string_view body, Message* out) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body.data(), body.size(), /*realloc_if_needed=*/true).get(object) !=
      simdjson::SUCCESS) {
    return false;
  }
  const Descriptor& d = *out->GetDescriptor();
  const Reflection& r = *out->GetReflection();
  if (d.field_count() > 64) return false;  // `seen` below is one bit per field
  const FieldIndex& index = IndexOf(d);
  uint64_t seen = 0;  // bit i: field i was set (no allocation on the request path)
  for (auto [key, value] : object) {
    const FieldDescriptor* f = index.Find(key);
    if (f == nullptr) {
      // An unknown key is ignored, as protobuf does with these options — but protobuf refuses an
      // empty key outright.
      if (key.empty()) return false;
      continue;
    }
    if (f->is_repeated() || f->containing_oneof() != nullptr) return false;
    const uint64_t bit = uint64_t{1} << f->index();
    if (seen & bit) return false;  // the same field twice (by either name)
    seen |= bit;
    if (!SetField(*f, value, r, out)) return false;
  }
  return true;
}

}  // namespace

bool TryDecodeFlatJson(std::string_view body, Message* out) {
  out->Clear();  // like JsonStringToMessage: the result is the body alone
  if (Decode(body, out)) return true;
  out->Clear();
  return false;
}

}  // namespace peat::rpc

#include "rpc/enum_check.h"

#include <google/protobuf/reflection.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/json_string.h"

namespace peat::rpc {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::MessageFactory;
using google::protobuf::Reflection;

bool ComputeHasEnumFields(const Descriptor& root) {
  std::unordered_set<const Descriptor*> seen{&root};
  std::vector<const Descriptor*> todo{&root};
  while (!todo.empty()) {
    const Descriptor* d = todo.back();
    todo.pop_back();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) return true;
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
          seen.insert(f->message_type()).second) {
        todo.push_back(f->message_type());
      }
    }
  }
  return false;
}

// Appends the text form of map entry `entry`'s key to `path` as "[key]" (strings JSON-quoted).
void AppendMapKey(const Message& entry, std::string& path) {
  const FieldDescriptor* key = entry.GetDescriptor()->map_key();
  const Reflection* r = entry.GetReflection();
  path += '[';
  switch (key->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      AppendJsonString(&path, r->GetString(entry, key));
      break;
    case FieldDescriptor::CPPTYPE_INT32:
      path += std::to_string(r->GetInt32(entry, key));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      path += std::to_string(r->GetInt64(entry, key));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      path += std::to_string(r->GetUInt32(entry, key));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      path += std::to_string(r->GetUInt64(entry, key));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      path += r->GetBool(entry, key) ? "true" : "false";
      break;
    default:
      path += '?';  // map keys are integral, bool or string
      break;
  }
  path += ']';
}

// Checks every enum value below `message`; the path of the field being looked at is kept in
// path_ (only turned into a message on a finding).
class EnumWalker {
 public:
  // `d` is `message`'s descriptor (passed down: GetDescriptor() is not free).
  Status Walk(Message* message, const Descriptor& d) {
    const Reflection* r = message->GetReflection();
    const size_t base = path_.size();
    for (int k = 0; k < d.field_count(); ++k) {
      const FieldDescriptor* f = d.field(k);
      const bool is_enum = f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM;
      if (!is_enum && (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
                       !HasEnumFields(*f->message_type()))) {
        continue;
      }
      if (f->is_repeated() ? r->FieldSize(*message, f) == 0
                           : (!is_enum && !r->HasField(*message, f))) {
        continue;
      }
      path_.resize(base);
      if (base != 0) path_ += '.';
      path_ += f->name();
      Status st = f->is_map()        ? WalkMap(message, f)
                  : f->is_repeated() ? WalkRepeated(message, f)
                  : is_enum          ? CheckValue(message, f)
                                     : Walk(r->MutableMessage(message, f), *f->message_type());
      if (!st.ok()) return st;
    }
    path_.resize(base);
    return Status::Ok();
  }

 private:
  // A singular enum field `f` of `message` (unset reads as the default, which is declared).
  Status CheckValue(Message* message, const FieldDescriptor* f) {
    const Reflection* r = message->GetReflection();
    const int v = r->GetEnumValue(*message, f);
    if (IsDeclaredEnumValue(*f->enum_type(), v)) return Status::Ok();
    if (UnknownEnumValueTakesDefault(*f)) {
      r->SetEnumValue(message, f, f->default_value_enum()->number());
      return Status::Ok();
    }
    return Unknown(*f->enum_type(), v);
  }

  // A repeated enum or message field: elements are checked under "field[i]".
  Status WalkRepeated(Message* message, const FieldDescriptor* f) {
    const Reflection* r = message->GetReflection();
    const size_t named = path_.size();
    for (int i = 0; i < r->FieldSize(*message, f); ++i) {
      path_.resize(named);
      path_ += '[' + std::to_string(i) + ']';
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        PEAT_RETURN_IF_ERROR(Walk(r->MutableRepeatedMessage(message, f, i), *f->message_type()));
        continue;
      }
      const int v = r->GetRepeatedEnumValue(*message, f, i);
      if (IsDeclaredEnumValue(*f->enum_type(), v)) continue;
      if (!UnknownEnumValueTakesDefault(*f)) return Unknown(*f->enum_type(), v);
      r->SetRepeatedEnumValue(message, f, i, f->default_value_enum()->number());
    }
    return Status::Ok();
  }

  // A map field: each value is checked under "field[key]".
  Status WalkMap(Message* message, const FieldDescriptor* f) {
    const FieldDescriptor* value = f->message_type()->map_value();
    const bool is_enum = value->cpp_type() == FieldDescriptor::CPPTYPE_ENUM;
    if (!is_enum && (value->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
                     !HasEnumFields(*value->message_type()))) {
      return Status::Ok();
    }
    const Reflection* r = message->GetReflection();
    const size_t named = path_.size();
    for (int i = 0; i < r->FieldSize(*message, f); ++i) {
      Message* entry = r->MutableRepeatedMessage(message, f, i);
      const Reflection* er = entry->GetReflection();
      path_.resize(named);
      AppendMapKey(*entry, path_);
      if (!is_enum) {
        PEAT_RETURN_IF_ERROR(Walk(er->MutableMessage(entry, value), *value->message_type()));
        continue;
      }
      const int v = er->GetEnumValue(*entry, value);
      if (IsDeclaredEnumValue(*value->enum_type(), v)) continue;
      if (!UnknownEnumValueTakesDefault(*f)) return Unknown(*value->enum_type(), v);
      er->SetEnumValue(entry, value, value->default_value_enum()->number());
    }
    return Status::Ok();
  }

  Status Unknown(const EnumDescriptor& type, int value) const {
    return InvalidArgumentError(UnknownEnumValueMessage(path_, type, std::to_string(value)));
  }

  std::string path_;
};

}  // namespace

bool UnknownEnumValueTakesDefault(const FieldDescriptor& field) {
  const std::string& name = field.full_name();
  return std::find(kEnumFieldsWhereUnknownTakesDefault.begin(),
                   kEnumFieldsWhereUnknownTakesDefault.end(),
                   name) != kEnumFieldsWhereUnknownTakesDefault.end();
}

bool HasEnumFields(const Descriptor& message) {
  // Asked for every request (and every message field on the walk), so a hit must be cheap: a
  // small direct-mapped table in front of a map. Only descriptors of the generated pool are
  // cached: they live as long as the process, while others (built at run time) may be freed and
  // their address reused.
  struct Entry {
    const Descriptor* descriptor = nullptr;
    bool has_enums = false;
  };
  thread_local std::array<Entry, 64> recent;
  thread_local std::unordered_map<const Descriptor*, bool> all;
  Entry& slot = recent[(reinterpret_cast<uintptr_t>(&message) >> 4) % recent.size()];
  if (slot.descriptor == &message) return slot.has_enums;
  if (message.file()->pool() != DescriptorPool::generated_pool()) {
    return ComputeHasEnumFields(message);
  }
  auto [it, inserted] = all.try_emplace(&message, false);
  if (inserted) it->second = ComputeHasEnumFields(message);
  slot = {&message, it->second};
  return it->second;
}

bool HasEnumFields(const Message& message) {
  // Keyed by the C++ type when that is a generated class, so that a message seen before costs no
  // GetDescriptor() (in protobuf 3.21 that alone takes more instructions than parsing a small
  // binary message). Messages of other classes (DynamicMessage: one C++ type for many
  // descriptors) always ask their descriptor.
  struct Entry {
    const std::type_info* type = nullptr;
    bool has_enums = false;
  };
  thread_local std::array<Entry, 32> by_type;
  const std::type_info& type = typeid(message);
  Entry& slot = by_type[(reinterpret_cast<uintptr_t>(&type) >> 4) % by_type.size()];
  if (slot.type == &type) return slot.has_enums;
  const Descriptor& d = *message.GetDescriptor();
  const bool has_enums = HasEnumFields(d);
  if (d.file()->pool() == DescriptorPool::generated_pool()) {
    const Message* generated = MessageFactory::generated_factory()->GetPrototype(&d);
    if (generated != nullptr && typeid(*generated) == type) slot = {&type, has_enums};
  }
  return has_enums;
}

bool IsDeclaredEnumValue(const EnumDescriptor& type, int number) {
  // Most enums number their values 0, 1, 2, … in declaration order: no hash lookup for those.
  if (number >= 0 && number < type.value_count() && type.value(number)->number() == number) {
    return true;
  }
  return type.FindValueByNumber(number) != nullptr;
}

bool IsDeclaredEnumName(const EnumDescriptor& type, std::string_view name) {
  for (int i = 0; i < type.value_count(); ++i) {
    if (type.value(i)->name() == name) return true;
  }
  return false;
}

std::string UnknownEnumValueMessage(std::string_view path, const EnumDescriptor& type,
                                    std::string_view shown) {
  std::string out(path);
  out += ": unknown enum value ";
  out += shown;
  out += "; accepted: ";
  for (int i = 0; i < type.value_count(); ++i) {
    if (i != 0) out += ", ";
    out += type.value(i)->name();
  }
  return out;
}

Status CheckEnumValues(Message* message) {
  if (!HasEnumFields(*message)) return Status::Ok();
  return EnumWalker().Walk(message, *message->GetDescriptor());
}

}  // namespace peat::rpc

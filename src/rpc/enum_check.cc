#include "rpc/enum_check.h"

#include <google/protobuf/reflection.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "rpc/json_text.h"

namespace peat::rpc {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
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
      AppendJsonString(path, r->GetString(entry, key));
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

class EnumWalker {
 public:
  Status Walk(Message* message) {
    const Reflection* r = message->GetReflection();
    std::vector<const FieldDescriptor*> fields;
    r->ListFields(*message, &fields);
    const size_t base = path_.size();
    for (const FieldDescriptor* f : fields) {
      path_.resize(base);
      if (base != 0) path_ += '.';
      path_ += f->name();
      if (f->is_map()) {
        if (Status st = WalkMap(message, f); !st.ok()) return st;
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
        if (f->is_repeated()) {
          const size_t named = path_.size();
          for (int i = 0; i < r->FieldSize(*message, f); ++i) {
            const int v = r->GetRepeatedEnumValue(*message, f, i);
            if (f->enum_type()->FindValueByNumber(v) != nullptr) continue;
            if (UnknownEnumValueTakesDefault(*f)) {
              r->SetRepeatedEnumValue(message, f, i, f->default_value_enum()->number());
              continue;
            }
            path_.resize(named);
            path_ += '[' + std::to_string(i) + ']';
            return Unknown(*f->enum_type(), v);
          }
        } else {
          const int v = r->GetEnumValue(*message, f);
          if (f->enum_type()->FindValueByNumber(v) != nullptr) continue;
          if (UnknownEnumValueTakesDefault(*f)) {
            r->SetEnumValue(message, f, f->default_value_enum()->number());
            continue;
          }
          return Unknown(*f->enum_type(), v);
        }
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                 HasEnumFields(*f->message_type())) {
        if (f->is_repeated()) {
          const size_t named = path_.size();
          for (int i = 0; i < r->FieldSize(*message, f); ++i) {
            path_.resize(named);
            path_ += '[' + std::to_string(i) + ']';
            if (Status st = Walk(r->MutableRepeatedMessage(message, f, i)); !st.ok()) return st;
          }
        } else if (Status st = Walk(r->MutableMessage(message, f)); !st.ok()) {
          return st;
        }
      }
    }
    path_.resize(base);
    return Status::Ok();
  }

 private:
  // A map field: each value is checked under the path "field[key]".
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
        if (Status st = Walk(er->MutableMessage(entry, value)); !st.ok()) return st;
        continue;
      }
      const int v = er->GetEnumValue(*entry, value);
      if (value->enum_type()->FindValueByNumber(v) != nullptr) continue;
      if (UnknownEnumValueTakesDefault(*f)) {
        er->SetEnumValue(entry, value, value->default_value_enum()->number());
        continue;
      }
      return Unknown(*value->enum_type(), v);
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
  // Descriptors of the generated pool live as long as the process; others (built at run time)
  // may be freed and their address reused, so they are not cached.
  if (message.file()->pool() != DescriptorPool::generated_pool()) {
    return ComputeHasEnumFields(message);
  }
  thread_local std::unordered_map<const Descriptor*, bool> cache;
  auto [it, inserted] = cache.try_emplace(&message, false);
  if (inserted) it->second = ComputeHasEnumFields(message);
  return it->second;
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
  if (!HasEnumFields(*message->GetDescriptor())) return Status::Ok();
  return EnumWalker().Walk(message);
}

}  // namespace peat::rpc

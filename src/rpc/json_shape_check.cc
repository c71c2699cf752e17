#include "rpc/json_shape_check.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "rpc/enum_check.h"
#include "rpc/json_text.h"

namespace peat::rpc {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using json = nlohmann::json;

// Deeper than this the walk stops (protobuf's JSON parser refuses more than 100 levels anyway).
constexpr size_t kMaxDepth = 256;
// Longer enum names are cut in messages.
constexpr size_t kMaxShownName = 64;

enum class Mode { kEnums, kExplain };
enum class Kind { kNull, kBoolean, kNumber, kString, kObject, kArray };

const char* Got(Kind k) {
  switch (k) {
    case Kind::kNull:
      return "null";
    case Kind::kBoolean:
      return "a boolean";
    case Kind::kNumber:
      return "a number";
    case Kind::kString:
      return "a string";
    case Kind::kObject:
      return "an object";
    case Kind::kArray:
      return "an array";
  }
  return "?";
}

bool IsWellKnownType(const Descriptor& d) {
  return d.well_known_type() != Descriptor::WELLKNOWNTYPE_UNSPECIFIED;
}

// What a value of `f` must be, in words: one value, or (for a repeated field given a single
// value) the list.
std::string Expected(const FieldDescriptor& f, bool list) {
  if (f.is_map()) return "an object";
  const char* one = "a number";
  const char* many = "a list of numbers";
  switch (f.cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE:
      one = "an object";
      many = "a list of objects";
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      one = "an enum name (a string) or number";
      many = "a list of enum names (strings) or numbers";
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      one = "a boolean";
      many = "a list of booleans";
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      if (f.type() == FieldDescriptor::TYPE_BYTES) {
        one = "a string (base64)";
        many = "a list of strings (base64)";
      } else if (f.name().find("json") != std::string::npos) {
        one = "a string containing JSON";
        many = "a list of strings containing JSON";
      } else {
        one = "a string";
        many = "a list of strings";
      }
      break;
    default:
      break;
  }
  return list ? many : one;
}

// Whether protobuf's JSON parser takes a value of kind `k` for one value of `f` (null is always
// taken: it means the default). Numbers may be strings ("5", "NaN"), booleans may be "true".
bool Accepts(const FieldDescriptor& f, Kind k) {
  if (k == Kind::kNull) return true;
  switch (f.cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return k == Kind::kObject || IsWellKnownType(*f.message_type());
    case FieldDescriptor::CPPTYPE_ENUM:
      return k == Kind::kString || k == Kind::kNumber;
    case FieldDescriptor::CPPTYPE_BOOL:
      return k == Kind::kBoolean || k == Kind::kString;
    case FieldDescriptor::CPPTYPE_STRING:
      return k == Kind::kString;
    default:
      return k == Kind::kNumber || k == Kind::kString;
  }
}

// The field `key` names in `d`: by its proto name or its JSON name (as protobuf matches keys).
const FieldDescriptor* FindJsonField(const Descriptor& d, const std::string& key) {
  if (const FieldDescriptor* f = d.FindFieldByName(key)) return f;
  if (const FieldDescriptor* f = d.FindFieldByCamelcaseName(key); f && f->json_name() == key) {
    return f;
  }
  for (int i = 0; i < d.field_count(); ++i) {
    if (d.field(i)->json_name() == key) return d.field(i);
  }
  return nullptr;
}

std::string QuotedName(std::string_view name) {
  std::string out;
  if (name.size() <= kMaxShownName) {
    AppendJsonString(out, name);
  } else {
    AppendJsonString(out, name.substr(0, kMaxShownName));
    out += "...";
  }
  return out;
}

// nlohmann SAX handler: follows the body through the descriptor tree. In kEnums mode it stops at
// the first unknown enum value and ignores type mismatches (protobuf accepted the body); in
// kExplain mode it records the first finding of either kind and parses on to the end, so a body
// that is not valid JSON yields no finding.
class ShapeWalker {
 public:
  ShapeWalker(const Descriptor& root, Mode mode) : root_(root), mode_(mode) {}

  bool null() { return Scalar(Kind::kNull); }
  bool boolean(bool) { return Scalar(Kind::kBoolean); }
  bool number_integer(json::number_integer_t v) {
    return Scalar(Kind::kNumber, {}, static_cast<double>(v), std::to_string(v), true);
  }
  bool number_unsigned(json::number_unsigned_t v) {
    return Scalar(Kind::kNumber, {}, static_cast<double>(v), std::to_string(v), true);
  }
  bool number_float(json::number_float_t v, const json::string_t& text) {
    return Scalar(Kind::kNumber, {}, v, text, false);
  }
  bool string(json::string_t& s) { return Scalar(Kind::kString, s); }
  bool binary(json::binary_t&) { return true; }  // not produced by the JSON parser

  bool start_object(std::size_t) { return StartContainer(Kind::kObject); }
  bool start_array(std::size_t) { return StartContainer(Kind::kArray); }
  bool end_object() { return EndContainer(); }
  bool end_array() { return EndContainer(); }

  bool key(json::string_t& k) {
    if (done_ || skip_depth_ > 0) return true;
    Frame& top = frames_.back();
    path_.resize(top.path_len);
    if (top.type == Frame::kMap) {
      path_ += '[';
      AppendJsonString(path_, k);
      path_ += ']';
      return true;
    }
    top.pending = FindJsonField(*top.message, k);
    if (top.pending != nullptr) {
      if (!path_.empty()) path_ += '.';
      path_ += top.pending->name();
    }
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const json::exception& e) {
    syntax_error_ = e.what();
    // "[json.exception.parse_error.101] parse error at …" → "parse error at …"
    if (auto p = syntax_error_.find("] ");
        syntax_error_.rfind("[json.", 0) == 0 && p != std::string::npos) {
      syntax_error_.erase(0, p + 2);
    }
    if (syntax_error_.empty()) syntax_error_ = "invalid JSON";
    return false;
  }

  const std::optional<std::string>& finding() const { return finding_; }
  const std::string& syntax_error() const { return syntax_error_; }
  bool too_deep() const { return too_deep_; }

 private:
  struct Frame {
    enum Type { kMessage, kList, kMap } type;
    const Descriptor* message = nullptr;       // kMessage
    const FieldDescriptor* field = nullptr;    // kList: the repeated field; kMap: the map field
    const FieldDescriptor* pending = nullptr;  // kMessage: field of the last key (null: unknown)
    size_t path_len = 0;                       // path_ of the container itself
    size_t next_index = 0;                     // kList
  };

  // Where the next value goes: `field` (null: not checked), whether it is one element of a
  // repeated or map field, and the field as declared in its message (for the default rule).
  struct Slot {
    const FieldDescriptor* field = nullptr;
    bool element = false;
    const FieldDescriptor* owner = nullptr;
  };

  Slot NextSlot() {
    Frame& top = frames_.back();
    switch (top.type) {
      case Frame::kMessage:
        return {top.pending, false, top.pending};
      case Frame::kMap:
        return {top.field->message_type()->map_value(), true, top.field};
      case Frame::kList:
        path_.resize(top.path_len);
        path_ += '[' + std::to_string(top.next_index++) + ']';
        return {top.field, true, top.field};
    }
    return {};
  }

  // A value of the wrong kind for `slot`. kExplain: the finding; kEnums: ignored (protobuf took
  // it). Returns whether the parse goes on.
  bool Mismatch(const Slot& slot, Kind got) {
    if (mode_ == Mode::kExplain) {
      const bool list = slot.field->is_repeated() && !slot.element;
      Found(path_ + " must be " + Expected(*slot.field, list) + "; got " + Got(got));
    }
    return true;
  }

  // Records the first finding. kEnums stops the parse there; kExplain parses on (and checks
  // nothing more) to learn whether the rest is valid JSON.
  bool Found(std::string message) {
    finding_ = std::move(message);
    done_ = true;
    return mode_ == Mode::kExplain;
  }

  bool Scalar(Kind kind, std::string_view text = {}, double number = 0,
              std::string_view number_text = {}, bool integer = false) {
    if (done_ || skip_depth_ > 0) return true;
    if (frames_.empty()) {
      return Found(std::string("request message must be a JSON object; got ") + Got(kind));
    }
    Slot slot = NextSlot();
    if (slot.field == nullptr || kind == Kind::kNull) return true;
    if (slot.field->is_map() && !slot.element) return Mismatch(slot, kind);
    if (!Accepts(*slot.field, kind)) return Mismatch(slot, kind);
    if (slot.field->cpp_type() != FieldDescriptor::CPPTYPE_ENUM) return true;
    const google::protobuf::EnumDescriptor& type = *slot.field->enum_type();
    std::string shown;
    if (kind == Kind::kString) {
      if (type.FindValueByName(std::string(text)) != nullptr) return true;
      int n = 0;  // protobuf also takes a number in a string ("4")
      auto r = std::from_chars(text.data(), text.data() + text.size(), n);
      if (r.ec == std::errc() && r.ptr == text.data() + text.size() &&
          type.FindValueByNumber(n) != nullptr) {
        return true;
      }
      shown = QuotedName(text);
    } else {
      if (!integer && number != std::floor(number)) {
        // Not an integer: protobuf rejects it with its own message.
        return true;
      }
      if (number >= std::numeric_limits<int32_t>::min() &&
          number <= std::numeric_limits<int32_t>::max() &&
          type.FindValueByNumber(static_cast<int>(number)) != nullptr) {
        return true;
      }
      shown = std::string(number_text);
    }
    if (UnknownEnumValueTakesDefault(*slot.owner)) return true;
    return Found(UnknownEnumValueMessage(path_, type, shown));
  }

  bool Skip() {
    ++skip_depth_;
    return true;
  }

  bool Push(Frame frame) {
    if (frames_.size() >= kMaxDepth) {
      too_deep_ = true;
      return false;
    }
    frame.path_len = path_.size();
    frames_.push_back(frame);
    return true;
  }

  bool StartContainer(Kind kind) {
    if (done_ || skip_depth_ > 0) return Skip();
    if (frames_.empty()) {
      if (kind == Kind::kObject) return Push({Frame::kMessage, &root_});
      return Found(std::string("request message must be a JSON object; got ") + Got(kind));
    }
    Slot slot = NextSlot();
    if (slot.field == nullptr) return Skip();
    const FieldDescriptor& f = *slot.field;
    if (kind == Kind::kArray) {
      // A list, or a list inside a list (protobuf flattens nested lists of a repeated field).
      if (f.is_repeated() && !f.is_map()) return Push({Frame::kList, nullptr, &f});
      Mismatch(slot, kind);
      return Skip();
    }
    if (f.is_map() && !slot.element) return Push({Frame::kMap, nullptr, &f});
    if (f.cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      Mismatch(slot, kind);
      return Skip();
    }
    const Descriptor& type = *f.message_type();
    if (IsWellKnownType(type)) return Skip();  // its own JSON form; protobuf checks it
    if (mode_ == Mode::kEnums && !HasEnumFields(type)) return Skip();
    return Push({Frame::kMessage, &type});
  }

  bool EndContainer() {
    if (skip_depth_ > 0) {
      --skip_depth_;
    } else if (!done_ && !frames_.empty()) {
      frames_.pop_back();
    }
    return true;
  }

  const Descriptor& root_;
  const Mode mode_;
  std::vector<Frame> frames_;
  size_t skip_depth_ = 0;  // > 0: inside a container that is not checked
  std::string path_;
  bool done_ = false;  // a finding was made: nothing more is checked
  bool too_deep_ = false;
  std::optional<std::string> finding_;
  std::string syntax_error_;
};

}  // namespace

Status CheckJsonEnumValues(std::string_view json_text, const Descriptor& message) {
  if (!HasEnumFields(message)) return Status::Ok();
  ShapeWalker walker(message, Mode::kEnums);
  json::sax_parse(json_text.data(), json_text.data() + json_text.size(), &walker);
  if (walker.finding()) return InvalidArgumentError(*walker.finding());
  if (!walker.syntax_error().empty()) {
    return InvalidArgumentError("malformed JSON request message: " + walker.syntax_error());
  }
  if (walker.too_deep()) {
    return InvalidArgumentError("malformed JSON request message: nested deeper than " +
                                std::to_string(kMaxDepth) + " levels");
  }
  return Status::Ok();
}

std::optional<std::string> ExplainJsonRejection(std::string_view json_text,
                                                const Descriptor& message) {
  ShapeWalker walker(message, Mode::kExplain);
  json::sax_parse(json_text.data(), json_text.data() + json_text.size(), &walker);
  if (!walker.syntax_error().empty() || walker.too_deep()) return std::nullopt;
  return walker.finding();
}

}  // namespace peat::rpc

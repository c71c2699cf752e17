#include "rpc/json_shape_check.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/json_string.h"
#include "rpc/enum_check.h"

namespace peat::rpc {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using json = nlohmann::json;
namespace dom = simdjson::dom;

// Deeper than this the walk stops (protobuf's JSON parser refuses more than 100 levels anyway).
// Also simdjson's depth limit, which bounds the recursion in Emit.
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

// Whether a value of `f` can hold an enum value that the JSON walk checks: `f` is an enum field,
// or a message or map field whose type has enum fields (well-known types have their own JSON
// form and are not walked).
bool LeadsToEnums(const FieldDescriptor& f) {
  if (f.cpp_type() == FieldDescriptor::CPPTYPE_ENUM) return true;
  return f.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !IsWellKnownType(*f.message_type()) &&
         HasEnumFields(*f.message_type());
}

// The keys (proto and JSON names) of the fields of one message type that LeadsToEnums.
struct EnumKey {
  std::string_view key;
  const FieldDescriptor* field;
};
using EnumKeys = std::vector<EnumKey>;

// EnumKeys of `d`, cached per thread; nullptr for descriptors outside the generated pool (built
// at run time, they may be freed and their address reused).
const EnumKeys* EnumKeysOf(const Descriptor& d) {
  if (d.file()->pool() != google::protobuf::DescriptorPool::generated_pool()) return nullptr;
  thread_local std::unordered_map<const Descriptor*, EnumKeys> tables;
  auto [it, inserted] = tables.try_emplace(&d);
  if (inserted) {
    for (int i = 0; i < d.field_count(); ++i) {
      const FieldDescriptor* f = d.field(i);
      if (!LeadsToEnums(*f)) continue;
      it->second.push_back({f->name(), f});
      if (f->json_name() != f->name()) it->second.push_back({f->json_name(), f});
    }
  }
  return &it->second;
}

std::string QuotedName(std::string_view name) {
  std::string out;
  if (name.size() <= kMaxShownName) {
    AppendJsonString(&out, name);
  } else {
    AppendJsonString(&out, name.substr(0, kMaxShownName));
    out += "...";
  }
  return out;
}

// A JSON number as the parser read it.
struct Number {
  enum Type { kInt, kUint, kFloat } type = kFloat;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;

  static Number Int(int64_t v) { return {kInt, v, 0, 0}; }
  static Number Uint(uint64_t v) { return {kUint, 0, v, 0}; }
  static Number Float(double v) { return {kFloat, 0, 0, v}; }

  // Whether it is an integer (4.0 is), and the value as an int32 if it fits one.
  bool Integral() const { return type != kFloat || f == std::floor(f); }
  std::optional<int32_t> AsInt32() const {
    constexpr double kMin = std::numeric_limits<int32_t>::min();
    constexpr double kMax = std::numeric_limits<int32_t>::max();
    switch (type) {
      case kInt:
        if (i >= kMin && i <= kMax) return static_cast<int32_t>(i);
        return std::nullopt;
      case kUint:
        if (u <= kMax) return static_cast<int32_t>(u);
        return std::nullopt;
      case kFloat:
        if (Integral() && f >= kMin && f <= kMax) return static_cast<int32_t>(f);
        return std::nullopt;
    }
    return std::nullopt;
  }
  std::string Text() const {
    if (type == kInt) return std::to_string(i);
    if (type == kUint) return std::to_string(u);
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, f);
    return std::string(buf, r.ptr);
  }
};

// What a walker answers when a container starts: stop the walk, go in (its content follows, then
// End()), or skip it (nothing of it follows, and no End()).
enum class Enter { kStop, kIn, kSkip };

// Follows a JSON value tree, event by event in document order, through the descriptor tree. In
// kEnums mode it stops at the first unknown enum value and ignores type mismatches (protobuf
// accepted the body); in kExplain mode it records the first finding of either kind and checks
// nothing after it. The events come from simdjson's document tree (Emit), or from nlohmann's
// SAX parser when simdjson refuses the text.
class ShapeWalker {
 public:
  ShapeWalker(const Descriptor& root, Mode mode) : root_(root), mode_(mode) {}

  Enter Start(Kind kind) {
    if (done_) return Enter::kSkip;
    if (frames_.empty()) {
      if (kind == Kind::kObject) return Push({Frame::kMessage, &root_});
      return Found(std::string("request message must be a JSON object; got ") + Got(kind))
                 ? Enter::kSkip
                 : Enter::kStop;
    }
    Slot slot = NextSlot();
    if (slot.field == nullptr) return Enter::kSkip;
    const FieldDescriptor& f = *slot.field;
    if (kind == Kind::kArray) {
      // A list, or a list inside a list (protobuf flattens nested lists of a repeated field).
      if (f.is_repeated() && !f.is_map()) return Push({Frame::kList, nullptr, &f});
      return Mismatch(slot, kind) ? Enter::kSkip : Enter::kStop;
    }
    if (f.is_map() && !slot.element) return Push({Frame::kMap, nullptr, &f});
    if (f.cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      return Mismatch(slot, kind) ? Enter::kSkip : Enter::kStop;
    }
    const Descriptor& type = *f.message_type();
    if (IsWellKnownType(type)) return Enter::kSkip;  // its own JSON form; protobuf checks it
    if (mode_ == Mode::kEnums && !HasEnumFields(type)) return Enter::kSkip;
    return Push({Frame::kMessage, &type});
  }

  void End() {
    if (!done_ && !frames_.empty()) frames_.pop_back();
  }

  void Key(std::string_view k) {
    if (done_) return;
    Frame& top = frames_.back();
    path_.resize(top.path_len);
    if (top.type == Frame::kMap) {
      path_ += '[';
      AppendJsonString(&path_, k);
      path_ += ']';
      return;
    }
    top.pending = nullptr;
    if (top.enum_keys != nullptr) {
      for (const EnumKey& e : *top.enum_keys) {
        if (e.key == k) top.pending = e.field;
      }
    } else if (const FieldDescriptor* f = FindJsonField(*top.message, std::string(k));
               f != nullptr && (mode_ == Mode::kExplain || LeadsToEnums(*f))) {
      top.pending = f;
    }
    if (top.pending != nullptr) {
      if (!path_.empty()) path_ += '.';
      path_ += top.pending->name();
    }
  }

  // A scalar: null, boolean, string `text`, or `number`. Returns false to stop the walk.
  bool Scalar(Kind kind, std::string_view text = {}, const Number& number = {}) {
    if (done_) return true;
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
      if (IsDeclaredEnumName(type, text)) return true;
      int n = 0;  // protobuf also takes a number in a string ("4")
      auto r = std::from_chars(text.data(), text.data() + text.size(), n);
      if (r.ec == std::errc() && r.ptr == text.data() + text.size() &&
          IsDeclaredEnumValue(type, n)) {
        return true;
      }
      shown = QuotedName(text);
    } else {
      if (!number.Integral()) return true;  // protobuf refuses it with its own message
      if (auto n = number.AsInt32(); n && IsDeclaredEnumValue(type, *n)) return true;
      shown = number.Text();
    }
    if (UnknownEnumValueTakesDefault(*slot.owner)) return true;
    return Found(UnknownEnumValueMessage(path_, type, shown));
  }

  const std::optional<std::string>& finding() const { return finding_; }
  bool too_deep() const { return too_deep_; }

 private:
  struct Frame {
    enum Type { kMessage, kList, kMap } type;
    const Descriptor* message = nullptr;       // kMessage
    const FieldDescriptor* field = nullptr;    // kList: the repeated field; kMap: the map field
    const FieldDescriptor* pending = nullptr;  // kMessage: field of the last key (null: unknown)
    // kMessage in kEnums mode: the only keys that matter (null: look keys up in the descriptor).
    const EnumKeys* enum_keys = nullptr;
    size_t path_len = 0;    // path_ of the container itself
    size_t next_index = 0;  // kList
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

  // A value of the wrong kind for `slot`: the finding in kExplain mode; ignored in kEnums mode
  // (protobuf took it). Returns whether the walk goes on.
  bool Mismatch(const Slot& slot, Kind got) {
    if (mode_ == Mode::kEnums) return true;
    const bool list = slot.field->is_repeated() && !slot.element;
    return Found(path_ + " must be " + Expected(*slot.field, list) + "; got " + Got(got));
  }

  // Records the first finding. kEnums stops the walk there; kExplain goes on without checking,
  // so that nlohmann can still tell whether the rest of the text is JSON.
  bool Found(std::string message) {
    finding_ = std::move(message);
    done_ = true;
    return mode_ == Mode::kExplain;
  }

  Enter Push(Frame frame) {
    if (frames_.size() >= kMaxDepth) {
      too_deep_ = true;
      return Enter::kStop;
    }
    frame.path_len = path_.size();
    if (frame.type == Frame::kMessage && mode_ == Mode::kEnums) {
      frame.enum_keys = EnumKeysOf(*frame.message);
    }
    frames_.push_back(frame);
    return Enter::kIn;
  }

  const Descriptor& root_;
  const Mode mode_;
  std::vector<Frame> frames_;
  std::string path_;
  bool done_ = false;  // a finding was made: nothing more is checked
  bool too_deep_ = false;
  std::optional<std::string> finding_;
};

// simdjson's document tree → walker events. Recursive: the parser's depth limit (kMaxDepth)
// bounds it. Returns false when the walker stopped.
bool Emit(dom::element e, ShapeWalker& w) {
  switch (e.type()) {
    case dom::element_type::OBJECT: {
      const Enter in = w.Start(Kind::kObject);
      if (in != Enter::kIn) return in == Enter::kSkip;
      const dom::object object = e.get_object().value_unsafe();
      for (dom::key_value_pair kv : object) {
        w.Key(kv.key);
        if (!Emit(kv.value, w)) return false;
      }
      w.End();
      return true;
    }
    case dom::element_type::ARRAY: {
      const Enter in = w.Start(Kind::kArray);
      if (in != Enter::kIn) return in == Enter::kSkip;
      const dom::array array = e.get_array().value_unsafe();
      for (dom::element item : array) {
        if (!Emit(item, w)) return false;
      }
      w.End();
      return true;
    }
    case dom::element_type::STRING:
      return w.Scalar(Kind::kString, e.get_string().value_unsafe());
    case dom::element_type::INT64:
      return w.Scalar(Kind::kNumber, {}, Number::Int(e.get_int64().value_unsafe()));
    case dom::element_type::UINT64:
      return w.Scalar(Kind::kNumber, {}, Number::Uint(e.get_uint64().value_unsafe()));
    case dom::element_type::DOUBLE:
      return w.Scalar(Kind::kNumber, {}, Number::Float(e.get_double().value_unsafe()));
    case dom::element_type::BOOL:
      return w.Scalar(Kind::kBoolean);
    case dom::element_type::NULL_VALUE:
      return w.Scalar(Kind::kNull);
  }
  return true;
}

// nlohmann SAX events → walker events, skipping what the walker skips. For the texts simdjson
// refuses: integers beyond 64 bits (read as doubles, as protobuf reads them), and text that is not
// JSON (parse_error records why).
class SaxEvents {
 public:
  explicit SaxEvents(ShapeWalker& w) : w_(w) {}

  bool null() { return skip_ > 0 || w_.Scalar(Kind::kNull); }
  bool boolean(bool) { return skip_ > 0 || w_.Scalar(Kind::kBoolean); }
  bool number_integer(json::number_integer_t v) {
    return skip_ > 0 || w_.Scalar(Kind::kNumber, {}, Number::Int(v));
  }
  bool number_unsigned(json::number_unsigned_t v) {
    return skip_ > 0 || w_.Scalar(Kind::kNumber, {}, Number::Uint(v));
  }
  bool number_float(json::number_float_t v, const json::string_t&) {
    return skip_ > 0 || w_.Scalar(Kind::kNumber, {}, Number::Float(v));
  }
  bool string(json::string_t& s) { return skip_ > 0 || w_.Scalar(Kind::kString, s); }
  bool binary(json::binary_t&) { return true; }  // not produced by the JSON parser
  bool start_object(std::size_t) { return Start(Kind::kObject); }
  bool start_array(std::size_t) { return Start(Kind::kArray); }
  bool end_object() { return End(); }
  bool end_array() { return End(); }
  bool key(json::string_t& k) {
    if (skip_ == 0) w_.Key(k);
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

  const std::string& syntax_error() const { return syntax_error_; }

 private:
  bool Start(Kind kind) {
    if (skip_ > 0) {
      ++skip_;
      return true;
    }
    switch (w_.Start(kind)) {
      case Enter::kStop:
        return false;
      case Enter::kSkip:
        skip_ = 1;
        return true;
      case Enter::kIn:
        return true;
    }
    return true;
  }

  bool End() {
    if (skip_ > 0) {
      --skip_;
    } else {
      w_.End();
    }
    return true;
  }

  ShapeWalker& w_;
  size_t skip_ = 0;  // > 0: inside a container the walker skips
  std::string syntax_error_;
};

// A simdjson parser limited to kMaxDepth, and a padded copy of the text (so simdjson never
// allocates one itself).
struct SimdjsonBuffers {
  dom::parser parser;
  std::string padded;

  SimdjsonBuffers() {
    if (parser.allocate(4096, kMaxDepth) != simdjson::SUCCESS) parser = dom::parser();
  }

  simdjson::simdjson_result<dom::element> Parse(std::string_view text) {
    if (padded.size() < text.size() + simdjson::SIMDJSON_PADDING) {
      padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
    }
    if (!text.empty()) std::memcpy(padded.data(), text.data(), text.size());
    return parser.parse(padded.data(), text.size(), /*realloc_if_needed=*/false);
  }
};

// simdjson's document tree takes ~14 bytes per byte of text, so only bodies up to this size are
// parsed with it (by a per-thread parser, whose memory stays bounded); bigger ones are streamed
// through nlohmann's SAX parser, which holds no tree.
constexpr size_t kSimdjsonLimit = 64 * 1024;

struct WalkResult {
  std::optional<std::string> finding;
  std::string syntax_error;  // non-empty: the text is not JSON
  bool too_deep = false;
};

// Walks `text` against `root`: through simdjson, or through nlohmann when the text is big or
// simdjson refuses it (nlohmann reads integers beyond 64 bits and says why a text is not JSON).
WalkResult Walk(std::string_view text, const Descriptor& root, Mode mode) {
  if (text.size() <= kSimdjsonLimit) {
    thread_local SimdjsonBuffers buffers;
    if (auto doc = buffers.Parse(text); doc.error() == simdjson::SUCCESS) {
      ShapeWalker walker(root, mode);
      Emit(doc.value_unsafe(), walker);
      return {walker.finding(), "", walker.too_deep()};
    }
  }
  ShapeWalker walker(root, mode);
  SaxEvents events(walker);
  json::sax_parse(text.data(), text.data() + text.size(), &events);
  return {walker.finding(), events.syntax_error(), walker.too_deep()};
}

}  // namespace

Status CheckJsonEnumValues(std::string_view json_text, const Descriptor& message) {
  if (!HasEnumFields(message)) return Status::Ok();
  WalkResult r = Walk(json_text, message, Mode::kEnums);
  if (r.finding) return InvalidArgumentError(*r.finding);
  if (!r.syntax_error.empty()) {
    return InvalidArgumentError("malformed JSON request message: " + r.syntax_error);
  }
  if (r.too_deep) {
    return InvalidArgumentError("malformed JSON request message: nested deeper than " +
                                std::to_string(kMaxDepth) + " levels");
  }
  return Status::Ok();
}

std::optional<std::string> ExplainJsonRejection(std::string_view json_text,
                                                const Descriptor& message) {
  WalkResult r = Walk(json_text, message, Mode::kExplain);
  if (!r.syntax_error.empty() || r.too_deep) return std::nullopt;
  return r.finding;
}

}  // namespace peat::rpc

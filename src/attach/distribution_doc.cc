#include "attach/distribution_doc.h"

#include <nlohmann/json.hpp>

#include <array>
#include <span>
#include <utility>

#include "blob/manifest.h"
#include "common/endpoint_id.h"
#include "common/hex.h"

namespace peat::attach {
namespace {

using json = nlohmann::json;

constexpr std::array<std::string_view, 5> kPriorityNames = {"bulk", "low", "routine", "priority",
                                                            "critical"};
constexpr std::array<std::string_view, 2> kScopeNames = {"all_nodes", "node_list"};
constexpr std::array<std::string_view, 3> kDocStatusNames = {"distributing", "cancelled",
                                                             "finished"};
constexpr std::array<DistributionDocStatus, 3> kDocStatuses = {DistributionDocStatus::kDistributing,
                                                               DistributionDocStatus::kCancelled,
                                                               DistributionDocStatus::kFinished};
constexpr std::array<TransferState, 5> kTargetStates = {
    TransferState::kPending, TransferState::kInProgress, TransferState::kCompleted,
    TransferState::kFailed, TransferState::kCancelled};

bool NoControlChars(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// Bundle ids, node ids, targets: 1..1024 bytes without control characters.
bool IsDocId(std::string_view s) {
  return !s.empty() && s.size() <= kMaxDocIdBytes && NoControlChars(s);
}
bool IsHash(std::string_view s) { return s.size() == 64 && IsLowerHex(s); }
// Any name (even "") is the receiver's to sanitize (§13); only its size is bounded here.
bool IsName(std::string_view s) { return s.size() <= kMaxDocNameBytes; }
bool IsText(std::string_view s) { return s.size() <= kMaxDocTextBytes; }

// A check on a string field and the words that describe what it must be.
struct StringRule {
  bool (*valid)(std::string_view);
  const char* must_be;
};
constexpr StringRule kDistributionIdRule{IsDistributionId,
                                         "a distribution id (1..128 of [A-Za-z0-9_-])"};
constexpr StringRule kDocIdRule{IsDocId, "1..1024 bytes without control characters"};
constexpr StringRule kEndpointIdRule{IsValidEndpointId, "64 lowercase hex digits"};
constexpr StringRule kHashRule{IsHash, "64 lowercase hex digits"};
constexpr StringRule kShortIdRule{IsShortId, "10 lowercase hex digits"};
constexpr StringRule kNameRule{IsName, "at most 65536 bytes"};
constexpr StringRule kTextRule{IsText, "at most 16384 bytes"};

// Reads the fields of one JSON object of a peer-written document. The first failure is kept (in
// a Status shared with nested readers) and every later read returns a default value, so a parser
// reads all fields straight through and checks that Status once at the end.
class FieldReader {
 public:
  FieldReader(std::string_view doc_kind, const json& object, Status* error, std::string prefix)
      : kind_(doc_kind), object_(object), error_(error), prefix_(std::move(prefix)) {}

  // A nested object ("sender", "blob"); on error a reader of an empty object.
  FieldReader Object(const char* key) {
    const json* v = Find(key);
    if (v != nullptr && !v->is_object()) v = Fail(key, "must be an object");
    return FieldReader(kind_, v != nullptr ? *v : Empty(), error_, prefix_ + key + ".");
  }

  std::string String(const char* key, const StringRule& rule) {
    const json* v = Find(key);
    return v != nullptr ? CheckString(key, *v, rule) : std::string();
  }

  // null → nullopt.
  std::optional<std::string> OptionalString(const char* key, const StringRule& rule) {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return CheckString(key, *v, rule);
  }

  uint64_t Integer(const char* key, uint64_t max = kMaxDocInteger) {
    const json* v = Find(key);
    return v != nullptr ? CheckInteger(key, *v, max) : 0;
  }

  // null → nullopt.
  std::optional<int64_t> OptionalTime(const char* key) {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return static_cast<int64_t>(CheckInteger(key, *v, kMaxDocInteger));
  }
  int64_t Time(const char* key) { return static_cast<int64_t>(Integer(key)); }

  // An array of strings, each following `rule`.
  std::vector<std::string> StringList(const char* key, const StringRule& rule) {
    std::vector<std::string> out;
    const json* v = Find(key);
    if (v == nullptr) return out;
    if (!v->is_array()) {
      Fail(key, "must be an array of strings");
      return out;
    }
    if (v->size() > kMaxDocListEntries) {
      Fail(key, "has more than " + std::to_string(kMaxDocListEntries) + " entries");
      return out;
    }
    out.reserve(v->size());
    for (size_t i = 0; i < v->size(); ++i) {
      const json& e = (*v)[i];
      if (!e.is_string() || !rule.valid(e.get_ref<const std::string&>())) {
        const std::string element = std::string(key) + "[" + std::to_string(i) + "]";
        CheckString(element.c_str(), e, rule);  // records why
        return {};
      }
      out.push_back(e.get_ref<const std::string&>());
    }
    return out;
  }

  // A string that must be one of `names`; returns its index (0 on error).
  size_t Enum(const char* key, std::span<const std::string_view> names) {
    const json* v = Find(key);
    if (v == nullptr) return 0;
    if (v->is_string()) {
      const auto& s = v->get_ref<const std::string&>();
      size_t i = 0;
      for (std::string_view name : names) {
        if (s == name) return i;
        ++i;
      }
    }
    std::string must = "must be one of";
    for (std::string_view name : names) must += std::string(" \"") + std::string(name) + "\"";
    Fail(key, must);
    return 0;
  }

  bool ok() const { return error_->ok(); }

  // Records a failure of a check that spans fields (at most the first one is kept).
  const json* Fail(const char* key, const std::string& what) {
    if (error_->ok()) {
      *error_ =
          InvalidArgumentError(std::string(kind_) + ": field `" + prefix_ + key + "` " + what);
    }
    return nullptr;
  }

 private:
  static const json& Empty() {
    static const json kEmpty = json::object();
    return kEmpty;
  }

  // The value of `key`, or nullptr (recording "missing") when absent or after an earlier error.
  const json* Find(const char* key) {
    if (!error_->ok()) return nullptr;
    auto it = object_.find(key);
    if (it == object_.end()) return Fail(key, "is missing");
    return &*it;
  }

  std::string CheckString(const char* key, const json& v, const StringRule& rule) {
    if (!error_->ok()) return {};
    if (!v.is_string()) {
      Fail(key, "must be a string");
      return {};
    }
    const auto& s = v.get_ref<const std::string&>();
    if (!rule.valid(s)) {
      Fail(key, std::string("must be ") + rule.must_be);
      return {};
    }
    return s;
  }

  uint64_t CheckInteger(const char* key, const json& v, uint64_t max) {
    if (!error_->ok()) return 0;
    if (v.is_number_unsigned()) {
      const uint64_t n = v.get<uint64_t>();
      if (n <= max) return n;
    } else if (v.is_number_integer()) {
      Fail(key, "must not be negative");
      return 0;
    } else if (!v.is_number()) {
      Fail(key, "must be an integer");
      return 0;
    }
    // A float (1.5, 1e30, or an integer beyond u64) or an integer above max.
    Fail(key, "must be an integer in 0.." + std::to_string(max));
    return 0;
  }

  std::string_view kind_;
  const json& object_;
  Status* error_;
  std::string prefix_;
};

// Parses `text` as one JSON object and checks "v": 1.
StatusOr<json> ParseObject(std::string_view kind, std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgumentError(std::string(kind) + ": not valid JSON");
  if (!j.is_object()) return InvalidArgumentError(std::string(kind) + ": not a JSON object");
  Status error;
  FieldReader(kind, j, &error, "").Integer("v", /*max=*/1);
  if (!error.ok() || j["v"].get<uint64_t>() != 1) {
    return InvalidArgumentError(std::string(kind) + ": field `v` must be 1");
  }
  return j;
}

// Parses one document: `fill` reads every field through the reader; the first failure wins.
template <typename Doc>
StatusOr<Doc> ParseDoc(std::string_view kind, std::string_view text,
                       void (*fill)(FieldReader&, Doc&)) {
  PEAT_ASSIGN_OR_RETURN(json j, ParseObject(kind, text));
  Status error;
  FieldReader reader(kind, j, &error, "");
  Doc doc;
  fill(reader, doc);
  PEAT_RETURN_IF_ERROR(error);
  return doc;
}

json Nullable(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
json Nullable(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }

// The encoders' strings come from clients and file names; an invalid UTF-8 byte is replaced
// (U+FFFD) rather than throwing.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

constexpr std::string_view kDistributionKind = "file_distributions doc";
constexpr std::string_view kStatusKind = "file_distribution_status doc";

}  // namespace

bool IsReservedAttachmentCollection(std::string_view collection) {
  return collection == kDistributionsCollection || collection == kStatusCollection;
}

std::string ShortId(std::string_view endpoint_id) { return ShortEndpointId(endpoint_id); }

bool IsShortId(std::string_view s) { return s.size() == 10 && IsLowerHex(s); }

bool IsDistributionId(std::string_view s) {
  if (s.empty() || s.size() > kMaxDistributionIdBytes) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string_view> PriorityName(int priority_class) {
  if (priority_class < 1 || priority_class > static_cast<int>(kPriorityNames.size())) {
    return std::nullopt;
  }
  return kPriorityNames[priority_class - 1];
}

std::optional<int> ParsePriorityName(std::string_view name) {
  for (size_t i = 0; i < kPriorityNames.size(); ++i) {
    if (kPriorityNames[i] == name) return static_cast<int>(i + 1);
  }
  return std::nullopt;
}

std::string EncodeDistributionDoc(const DistributionDoc& doc) {
  std::string_view status = kDocStatusNames[0];
  for (size_t i = 0; i < kDocStatuses.size(); ++i) {
    if (kDocStatuses[i] == doc.status) status = kDocStatusNames[i];
  }
  json j = {
      {"v", 1},
      {"distribution_id", doc.distribution_id},
      {"bundle_id", doc.bundle_id},
      {"file_index", doc.file_index},
      {"sender",
       {{"endpoint_id", doc.sender_endpoint_id},
        {"short_id", doc.sender_short_id},
        {"node_id", doc.sender_node_id}}},
      {"blob",
       {{"root", doc.blob_root},
        {"sha256", doc.blob_sha256},
        {"size", doc.blob_size},
        {"chunk_bytes", doc.chunk_bytes}}},
      {"name", doc.name},
      {"content_type", Nullable(doc.content_type)},
      {"scope", doc.all_nodes ? "all_nodes" : "node_list"},
      {"declared_node_ids", doc.declared_node_ids},
      {"targets", doc.targets},
      // An out-of-range class is a caller bug; it is written as the default class.
      {"priority", PriorityName(doc.priority_class).value_or("routine")},
      {"started_at_ms", doc.started_at_ms},
      {"deadline_at_ms", Nullable(doc.deadline_at_ms)},
      {"status", status},
      {"cancelled_at_ms", Nullable(doc.cancelled_at_ms)},
  };
  return Dump(j);
}

namespace {

void FillDistributionDoc(FieldReader& r, DistributionDoc& doc) {
  doc.distribution_id = r.String("distribution_id", kDistributionIdRule);
  doc.bundle_id = r.String("bundle_id", kDocIdRule);
  doc.file_index = static_cast<uint32_t>(r.Integer("file_index", UINT32_MAX));
  {
    FieldReader sender = r.Object("sender");
    doc.sender_endpoint_id = sender.String("endpoint_id", kEndpointIdRule);
    doc.sender_short_id = sender.String("short_id", kShortIdRule);
    doc.sender_node_id = sender.String("node_id", kDocIdRule);
    if (r.ok() && doc.sender_short_id != ShortId(doc.sender_endpoint_id)) {
      sender.Fail("short_id", "is not the prefix of sender.endpoint_id");
    }
  }
  {
    FieldReader blob = r.Object("blob");
    doc.blob_root = blob.String("root", kHashRule);
    doc.blob_sha256 = blob.String("sha256", kHashRule);
    doc.blob_size = blob.Integer("size");
    doc.chunk_bytes = static_cast<uint32_t>(blob.Integer("chunk_bytes", blob::kMaxChunkBytes));
    const uint32_t c = doc.chunk_bytes;
    if (r.ok() && (c < blob::kMinChunkBytes || (c & (c - 1)) != 0)) {
      blob.Fail("chunk_bytes", "must be a power of two in " + std::to_string(blob::kMinChunkBytes) +
                                   ".." + std::to_string(blob::kMaxChunkBytes));
    }
  }
  doc.name = r.String("name", kNameRule);
  doc.content_type = r.OptionalString("content_type", kTextRule);
  doc.all_nodes = r.Enum("scope", kScopeNames) == 0;
  doc.declared_node_ids = r.StringList("declared_node_ids", kDocIdRule);
  if (r.ok() && doc.all_nodes != doc.declared_node_ids.empty()) {
    r.Fail("declared_node_ids", doc.all_nodes ? "must be empty with scope \"all_nodes\""
                                              : "must not be empty with scope \"node_list\"");
  }
  doc.targets = r.StringList("targets", kDocIdRule);
  doc.priority_class = static_cast<int>(r.Enum("priority", kPriorityNames)) + 1;
  doc.started_at_ms = r.Time("started_at_ms");
  doc.deadline_at_ms = r.OptionalTime("deadline_at_ms");
  doc.status = kDocStatuses[r.Enum("status", kDocStatusNames)];
  doc.cancelled_at_ms = r.OptionalTime("cancelled_at_ms");
}

}  // namespace

StatusOr<DistributionDoc> ParseDistributionDoc(std::string_view text) {
  return ParseDoc(kDistributionKind, text, &FillDistributionDoc);
}

std::string StatusDocId(std::string_view distribution_id, std::string_view short_id) {
  std::string id(distribution_id);
  id += ':';
  id += short_id;
  return id;
}

std::string EncodeTargetStatusDoc(const TargetStatusDoc& doc) {
  json j = {
      {"v", 1},
      {"distribution_id", doc.distribution_id},
      {"node_id", doc.node_id},
      {"endpoint_id", doc.endpoint_id},
      {"status", StateName(doc.status)},
      {"progress_bytes", doc.progress_bytes},
      {"total_bytes", doc.total_bytes},
      {"sources", doc.sources},
      {"started_at_ms", doc.started_at_ms},
      {"completed_at_ms", Nullable(doc.completed_at_ms)},
      {"error", Nullable(doc.error)},
      {"updated_at_ms", doc.updated_at_ms},
  };
  return Dump(j);
}

namespace {

void FillTargetStatusDoc(FieldReader& r, TargetStatusDoc& doc) {
  doc.distribution_id = r.String("distribution_id", kDistributionIdRule);
  doc.node_id = r.String("node_id", kDocIdRule);
  doc.endpoint_id =
      r.String("endpoint_id", {[](std::string_view s) { return s.empty() || IsValidEndpointId(s); },
                               "\"\" or 64 lowercase hex digits"});
  if (r.ok() && !doc.endpoint_id.empty() && ShortId(doc.endpoint_id) != doc.node_id) {
    r.Fail("node_id", "is not the prefix of endpoint_id");
  }
  std::array<std::string_view, kTargetStates.size()> state_names;
  for (size_t i = 0; i < kTargetStates.size(); ++i) state_names[i] = StateName(kTargetStates[i]);
  doc.status = kTargetStates[r.Enum("status", state_names)];
  doc.progress_bytes = r.Integer("progress_bytes");
  doc.total_bytes = r.Integer("total_bytes");
  if (r.ok() && doc.progress_bytes > doc.total_bytes) {
    r.Fail("progress_bytes", "exceeds total_bytes");
  }
  doc.sources = r.StringList("sources", kShortIdRule);
  doc.started_at_ms = r.Time("started_at_ms");
  doc.completed_at_ms = r.OptionalTime("completed_at_ms");
  doc.error = r.OptionalString("error", kTextRule);
  doc.updated_at_ms = r.Time("updated_at_ms");
}

}  // namespace

StatusOr<TargetStatusDoc> ParseTargetStatusDoc(std::string_view text) {
  return ParseDoc(kStatusKind, text, &FillTargetStatusDoc);
}

}  // namespace peat::attach

#include "watcher/agent_mapping.h"

#include <type_traits>

#include <simdjson.h>

#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/identifier.h"
#include "common/json_string.h"
#include "common/utf8.h"
#include "crdt/canonical_json.h"
#include "crdt/json_flatten.h"
#include "crdt/path.h"

namespace peat::watcher {
namespace {

constexpr std::string_view kUnknown = "unknown";

// A JSON object whose members are rendered in canonical order (keys sorted bytewise) whatever
// order they were added in.
class CanonicalObject {
 public:
  void NullableString(std::string_view key, const std::optional<std::string>& v) {
    std::string& out = members_[std::string(key)];
    if (v) {
      AppendJsonString(&out, *v);
    } else {
      out = "null";
    }
  }
  void String(std::string_view key, std::string_view v) {
    AppendJsonString(&members_[std::string(key)], v);
  }
  void Int(std::string_view key, const std::optional<int64_t>& v) {
    std::string& out = members_[std::string(key)];
    if (v) {
      crdt::AppendInt64(&out, *v);
    } else {
      out = "null";
    }
  }
  // An enum: its number, or its name as a string (decision 1); `fallback` when absent.
  void Enum(std::string_view key, const std::optional<EnumValue>& v,
            const std::optional<int64_t>& fallback) {
    if (!v) return Int(key, fallback);
    if (const auto* name = std::get_if<std::string>(&*v)) return String(key, *name);
    Int(key, std::get<int64_t>(*v));
  }
  void StringMap(std::string_view key, const std::map<std::string, std::string>& m) {
    CanonicalObject o;
    for (const auto& [k, v] : m) o.String(k, v);
    members_[std::string(key)] = o.Render();
  }
  std::string Render() const {
    std::string out = "{";
    for (const auto& [k, v] : members_) {
      if (out.size() > 1) out += ',';
      AppendJsonString(&out, k);
      out += ':';
      out += v;
    }
    out += '}';
    return out;
  }

 private:
  std::map<std::string, std::string> members_;  // key → canonical value text; bytewise order
};

std::string_view OrUnknown(const std::optional<std::string>& v) { return v ? *v : kUnknown; }

// Collects the documents of one list call: skips bad ids, keeps one doc per id (the last).
class ListBuilder {
 public:
  explicit ListBuilder(std::string_view collection) : collection_(collection) {}

  void Add(std::string item, std::string doc_id, std::string json) {
    ++out_.listed;
    if (auto problem = DocIdProblem(doc_id)) {
      out_.skipped.push_back({std::move(item), *problem});
      return;
    }
    auto [it, inserted] = index_.try_emplace(doc_id, out_.docs.size());
    if (inserted) {
      out_.docs.push_back({std::string(collection_), std::move(doc_id), std::move(json)});
    } else {
      out_.docs[it->second].json = std::move(json);
    }
  }
  MappedList Take() { return std::move(out_); }

 private:
  std::string_view collection_;
  MappedList out_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace

std::string_view SkipReasonLabel(SkipReason reason) {
  switch (reason) {
    case SkipReason::kTooLong:
      return "too_long";
    case SkipReason::kNul:
      return "nul";
    case SkipReason::kInvalidUtf8:
      return "invalid_utf8";
  }
  return "unknown";
}

std::optional<SkipReason> DocIdProblem(std::string_view doc_id) {
  // The order of common/identifier.h (the ids built here are never empty).
  if (doc_id.size() > kMaxIdentifierBytes) return SkipReason::kTooLong;
  if (doc_id.find('\0') != std::string_view::npos) return SkipReason::kNul;
  if (!IsValidUtf8(doc_id)) return SkipReason::kInvalidUtf8;
  return std::nullopt;
}

MappedDoc MapAgentStatus(const AgentStatus& s, std::string_view node_id, int64_t last_seen) {
  // Document key ← the /status field it mirrors (camelCase there, snake_case here).
  static constexpr std::pair<std::string_view, std::optional<std::string> AgentStatus::*>
      kMirrored[] = {
          {"version", &AgentStatus::version},
          {"architecture", &AgentStatus::architecture},
          {"classification", &AgentStatus::classification},
          {"k8s_version", &AgentStatus::k8s_version},
          {"k8s_node_status", &AgentStatus::k8s_node_status},
          {"zarf_version", &AgentStatus::zarf_version},
          {"run_mode", &AgentStatus::run_mode},
      };
  CanonicalObject o;
  o.String("agent_id", node_id);
  o.String("node_type", kAgentNodeType);
  for (const auto& [key, field] : kMirrored) o.NullableString(key, s.*field);
  o.Int("last_seen", last_seen);
  return {std::string(kNodesCollection), std::string(node_id), o.Render()};
}

MappedList MapPackageList(const PackageList& list, std::string_view node_id, int64_t last_seen) {
  ListBuilder b(kDeploymentsCollection);
  for (size_t i = 0; i < list.packages.size(); ++i) {
    const DeployedPackage& p = list.packages[i];
    const std::string_view name = OrUnknown(p.name);
    CanonicalObject o;
    o.String("agent_id", node_id);
    o.String("package", name);
    o.NullableString("version", p.version);
    o.Enum("status", p.status, std::nullopt);
    o.NullableString("flavor", p.flavor);
    o.NullableString("namespace_override", p.namespace_override);
    o.StringMap("annotations", p.annotations);
    o.Int("last_seen", last_seen);
    std::string id(node_id);
    id += ':';
    id += name;
    b.Add("packages[" + std::to_string(i) + "]", std::move(id), o.Render());
  }
  return b.Take();
}

MappedList MapPulledList(const PulledList& list, std::string_view node_id, int64_t last_seen) {
  ListBuilder b(kPackagesCollection);
  for (size_t r = 0; r < list.registries.size(); ++r) {
    const Registry& reg = list.registries[r];
    for (size_t p = 0; p < reg.packages.size(); ++p) {
      const PulledPackage& pkg = reg.packages[p];
      for (size_t t = 0; t < pkg.tags.size(); ++t) {
        const PulledTag& tag = pkg.tags[t];
        CanonicalObject o;
        o.String("agent_id", node_id);
        o.NullableString("registry", reg.host);
        o.NullableString("package", pkg.package_name);
        o.NullableString("reference", tag.reference);
        o.NullableString("arch", tag.arch);
        o.NullableString("version", tag.version);
        o.Int("total_bytes", tag.total_bytes);
        o.Enum("pull_status", tag.pull_status, int64_t{0});
        o.Int("last_seen", last_seen);
        std::string id(node_id);
        id += ':';
        id += OrUnknown(tag.reference);
        id += '-';
        id += OrUnknown(tag.arch);
        b.Add("registries[" + std::to_string(r) + "].packages[" + std::to_string(p) + "].tags[" +
                  std::to_string(t) + "]",
              std::move(id), o.Render());
      }
    }
  }
  return b.Take();
}

bool SameExceptLastSeen(std::string_view a, std::string_view b) {
  // Flattened leaves come out sorted by path, one per path, with canonical values: comparing
  // them leaf by leaf ignores formatting and key order.
  crdt::FlatJson fa;
  crdt::FlatJson fb;
  constexpr int kDepth = 64;
  if (!crdt::FlattenJsonObject(a, kDepth, &fa).ok() ||
      !crdt::FlattenJsonObject(b, kDepth, &fb).ok()) {
    return false;
  }
  std::string last_seen;
  crdt::AppendPathSegment(&last_seen, "last_seen");
  size_t i = 0;
  size_t j = 0;
  while (true) {
    if (i < fa.size() && fa.path(i) == last_seen) ++i;
    if (j < fb.size() && fb.path(j) == last_seen) ++j;
    if (i == fa.size() || j == fb.size()) return i == fa.size() && j == fb.size();
    if (fa.path(i) != fb.path(j) || fa.kind(i) != fb.kind(j) || fa.value(i) != fb.value(j)) {
      return false;
    }
    ++i;
    ++j;
  }
}

bool NeedsWrite(const LastWrite* last, const MappedDoc& doc, int64_t now, int64_t refresh_secs) {
  if (last == nullptr) return true;
  if (now - last->written_at >= refresh_secs) return true;
  return !SameExceptLastSeen(last->json, doc.json);
}

namespace {

// The last occurrence of the top-level member `key` of the JSON object `json` (a duplicate key
// resolves as JSON.parse does), or nullopt when there is none or `json` is not an object.
template <typename Fn>
auto LastMember(std::string_view json, std::string_view key, Fn&& read)
    -> std::invoke_result_t<Fn, simdjson::dom::element> {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  simdjson::dom::object root;
  if (parser.parse(padded).get_object().get(root) != simdjson::SUCCESS) return std::nullopt;
  std::invoke_result_t<Fn, simdjson::dom::element> value;
  for (simdjson::dom::key_value_pair kv : root) {
    if (std::string_view(kv.key) == key) value = read(kv.value);
  }
  return value;
}

}  // namespace

std::optional<std::string> AgentIdOf(std::string_view json) {
  return LastMember(json, "agent_id", [](simdjson::dom::element v) -> std::optional<std::string> {
    std::string_view s;
    if (v.get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
    return std::string(s);
  });
}

std::optional<LastWrite> LastWriteOf(std::string_view stored_json, int64_t now) {
  auto last_seen =
      LastMember(stored_json, "last_seen", [](simdjson::dom::element v) -> std::optional<int64_t> {
        int64_t n = 0;
        if (v.get_int64().get(n) != simdjson::SUCCESS) return std::nullopt;
        return n;
      });
  if (!last_seen || *last_seen > now) return std::nullopt;
  return LastWrite{std::string(stored_json), *last_seen};
}

std::vector<std::string> SelectStale(const std::vector<PresentDoc>& present,
                                     std::string_view node_id, const MappedList& response) {
  std::unordered_set<std::string_view> listed;
  for (const MappedDoc& d : response.docs) listed.insert(d.doc_id);
  std::string prefix(node_id);
  prefix += ':';
  std::vector<std::string> stale;
  for (const PresentDoc& d : present) {
    if (!d.doc_id.starts_with(prefix)) continue;
    if (d.agent_id != node_id) continue;
    if (listed.contains(d.doc_id)) continue;
    stale.push_back(d.doc_id);
  }
  return stale;
}

bool EmptyListGuard::AllowDeletes(size_t listed) {
  if (listed > 0) {
    empty_streak_ = 0;
    return true;
  }
  if (empty_streak_ < 2) ++empty_streak_;
  return empty_streak_ >= 2;
}

}  // namespace peat::watcher

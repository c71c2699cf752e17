// The documents the watcher writes from the agent's responses (WATCHER.md §4), the change-only
// write rule (§4 "R write behaviour") and the selection of stale documents to delete (§6).
//
// Documents are canonical JSON as the store renders them (keys sorted bytewise, compact, strings
// escaped by common/json_string.h), so a document written and read back compares equal:
//   nodes/<node_id>               agent_id, architecture, classification, k8s_node_status,
//                                 k8s_version, last_seen, node_type = "uds-remote-agent", run_mode,
//                                 version, zarf_version (only the watcher's own keys: a patch)
//   deployments/<node_id>:<name>  agent_id, annotations ({} by default), flavor, last_seen,
//                                 namespace_override, package (<name or "unknown">), status,
//                                 version
//   packages/<node_id>:<ref>-<arch>  agent_id, arch, last_seen, package, pull_status (0 by
//                                 default), reference, registry, total_bytes, version
// An absent string is null; `status`, `total_bytes` are null when absent; an enum sent as a name
// is that string (decision 1). A missing name / reference / arch is "unknown" in the doc id.
// An item whose doc id breaks the identifier rule (common/identifier.h: over 1024 bytes, NUL,
// invalid UTF-8) is skipped with its reason; the other items are still mapped. Two items with
// the same doc id: the later one wins (one document per id).
//
// Pure functions and a small value type (EmptyListGuard, not thread-safe: one per list call).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "watcher/agent_responses.h"

namespace peat::watcher {

inline constexpr std::string_view kNodesCollection = "nodes";
inline constexpr std::string_view kDeploymentsCollection = "deployments";
inline constexpr std::string_view kPackagesCollection = "packages";
inline constexpr std::string_view kAgentNodeType = "uds-remote-agent";

struct MappedDoc {
  std::string collection;
  std::string doc_id;
  std::string json;  // canonical JSON
  bool operator==(const MappedDoc&) const = default;
};

// Why an item was skipped; the label is the `reason` of peat_agent_items_skipped_total.
enum class SkipReason { kTooLong, kNul, kInvalidUtf8 };
std::string_view SkipReasonLabel(SkipReason reason);  // "too_long", "nul", "invalid_utf8"

struct SkippedItem {
  std::string item;  // where in the response: "packages[3]", "registries[0].packages[1].tags[2]"
  SkipReason reason;
  bool operator==(const SkippedItem&) const = default;
};

// The documents of one list call.
struct MappedList {
  std::vector<MappedDoc> docs;  // in response order, one per doc id
  std::vector<SkippedItem> skipped;
  size_t listed = 0;  // items in the response, skipped ones included (EmptyListGuard)
};

// `node_id` must be a valid identifier (it is the node's own id).
MappedDoc MapAgentStatus(const AgentStatus& status, std::string_view node_id, int64_t last_seen);
MappedList MapPackageList(const PackageList& list, std::string_view node_id, int64_t last_seen);
MappedList MapPulledList(const PulledList& list, std::string_view node_id, int64_t last_seen);

// The reason `doc_id` cannot be a document id (the identifier rule's order), or nullopt.
std::optional<SkipReason> DocIdProblem(std::string_view doc_id);

// True when the two documents (JSON objects) have the same content apart from the top-level
// `last_seen`. False when either is not a JSON object.
bool SameExceptLastSeen(std::string_view a, std::string_view b);

// The watcher's memory of its last write of one document.
struct LastWrite {
  std::string json;
  int64_t written_at = 0;  // Unix seconds
};

// The last write as the stored document shows it: the document and its integer `last_seen`.
// nullopt when it has none, or one later than `now` (the clock moved back: rewrite to correct it).
std::optional<LastWrite> LastWriteOf(std::string_view stored_json, int64_t now);

// Change-only writes for deployments/packages: write when there is no last write, when a field
// other than last_seen changed, or when the last write is `refresh_secs` or more old.
bool NeedsWrite(const LastWrite* last, const MappedDoc& doc, int64_t now, int64_t refresh_secs);

// A document present in our collection: its id and its `agent_id` (nullopt when the document has
// none or it is not a string: AgentIdOf).
struct PresentDoc {
  std::string doc_id;
  std::optional<std::string> agent_id;
};

// The string `agent_id` of a stored document, or nullopt.
std::optional<std::string> AgentIdOf(std::string_view json);

// §6: after a SUCCESSFUL list call mapped into `response`, the ids of `present` to delete: those
// starting with "<node_id>:", whose agent_id is `node_id`, and that are not in the response.
// Ids come out in the order of `present`. The caller applies EmptyListGuard first.
std::vector<std::string> SelectStale(const std::vector<PresentDoc>& present,
                                     std::string_view node_id, const MappedList& response);

// §6 empty-list guard, one per list call. An empty list deletes only once two consecutive
// successful polls came back empty; a failed poll in between breaks the streak (conservative:
// they were not consecutive polls). The first empty list after a start counts as the first.
class EmptyListGuard {
 public:
  // A successful poll listed `listed` items: may its deletes run?
  bool AllowDeletes(size_t listed);
  // A failed poll (no deletes for it anyway).
  void OnFailure() { empty_streak_ = 0; }

 private:
  int empty_streak_ = 0;
};

}  // namespace peat::watcher

// The three responses of the UDS Remote Agent the watcher reads (WATCHER.md §3), parsed into plain
// structs. Connect JSON, read leniently (§3 "R parsing"):
// - unknown fields are ignored; a missing field, or a JSON null, is an empty optional (an empty
//   list / map for lists and `annotations`);
// - integers are accepted as JSON numbers (integral doubles too) or numeric strings ("-12");
// - the enum fields (`packages[].status`, `pullInfo.status`, the unused `systemTime`) keep a
//   non-numeric string as that string (decision 1: "DEPLOYED" stays "DEPLOYED");
// - a duplicate key: the last occurrence wins (as JSON.parse);
// - text inside a string that is not valid UTF-8 (a raw bad byte, or a \u escape of a lone
//   surrogate, which JSON.stringify emits) does not fail the call, so the mapping can skip just
//   that item (§3): each bad byte / escape becomes the byte 0xFF in the parsed string (rendered
//   U+FFFD in a document; an annotation key gets U+FFFD at once). In such a body, U+FDD0 (a
//   noncharacter, the marker used for this) is read as bad text too;
// - a body over kMaxAgentResponseBytes (4 MiB) is an error, as is text that is not JSON, a top
//   level that is not an object, and a value of the wrong JSON type. Errors are INVALID_ARGUMENT
//   and name the response and the field: "ListPackages: packages[1].status must be an integer, a
//   numeric string or an enum name; got a boolean".
// Parsing is all or nothing: one bad field fails the whole call (nothing is written or deleted
// for it). Whether an item can form a valid doc id is the mapping's concern (agent_mapping.h).
// Pure functions; thread-safe (each call uses its own parser).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace peat::watcher {

inline constexpr size_t kMaxAgentResponseBytes = size_t{4} << 20;

// An enum field: its number, or its name when the agent sent a non-numeric string.
using EnumValue = std::variant<int64_t, std::string>;

// GET /status.
struct AgentStatus {
  std::optional<std::string> version;
  std::optional<std::string> architecture;
  std::optional<std::string> classification;
  std::optional<std::string> k8s_version;
  std::optional<std::string> k8s_node_status;
  std::optional<std::string> zarf_version;
  std::optional<std::string> run_mode;
  std::optional<EnumValue> system_time;  // read, unused (an int64 or a timestamp string)
  bool operator==(const AgentStatus&) const = default;
};

// ListPackages: packages[].
struct DeployedPackage {
  std::optional<std::string> name;
  std::optional<std::string> version;
  std::optional<EnumValue> status;
  std::optional<std::string> flavor;
  std::optional<std::string> namespace_override;
  std::map<std::string, std::string> annotations;
  bool operator==(const DeployedPackage&) const = default;
};

struct PackageList {
  std::vector<DeployedPackage> packages;
  bool operator==(const PackageList&) const = default;
};

// ListPulledPackages: registries[].packages[].tags[].
struct PulledTag {
  std::optional<std::string> reference;
  std::optional<std::string> arch;
  std::optional<std::string> version;
  std::optional<int64_t> total_bytes;
  std::optional<EnumValue> pull_status;  // pullInfo.status
  bool operator==(const PulledTag&) const = default;
};

struct PulledPackage {
  std::optional<std::string> package_name;
  std::vector<PulledTag> tags;
  bool operator==(const PulledPackage&) const = default;
};

struct Registry {
  std::optional<std::string> host;
  std::vector<PulledPackage> packages;
  bool operator==(const Registry&) const = default;
};

struct PulledList {
  std::vector<Registry> registries;
  // Number of tags over all registries and packages (one `packages` doc each).
  size_t TagCount() const;
  bool operator==(const PulledList&) const = default;
};

StatusOr<AgentStatus> ParseAgentStatus(std::string_view body);
StatusOr<PackageList> ParsePackageList(std::string_view body);
StatusOr<PulledList> ParsePulledList(std::string_view body);

}  // namespace peat::watcher

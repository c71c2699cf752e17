// SendRequest: a SendAttachments call as the attachment layer sees it (plain values, no protobuf;
// the service converts). Field names follow sidecar.proto so validation messages can name the
// request's field paths (`files[i].sha256`, `scope.node_list.node_ids`, …).
// Value types; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace peat::attach {

struct FileSpec {
  std::string root_name;
  std::string relative_path;
  uint64_t size_bytes = 0;
  std::string sha256;  // raw bytes as sent (valid: exactly 32)
  std::optional<std::string> content_type;
  std::optional<std::string> display_name;
};

enum class ScopeKind { kNone, kAllNodes, kNodeList, kFormation, kCapable };

// Priority classes: the wire enum's values 1..5 (AttachmentPriority) equal the mesh classes
// (bulk 1 … critical 5); 0 and unknown values mean "the node's default priority".
inline constexpr int kPriorityBulk = 1;
inline constexpr int kPriorityCritical = 5;

struct SendRequest {
  std::vector<FileSpec> files;
  ScopeKind scope = ScopeKind::kNone;
  std::vector<std::string> node_ids;  // kNodeList only
  int priority = 0;                   // raw enum value from the wire
  std::optional<std::string> bundle_id;
};

}  // namespace peat::attach

// The two replicated document kinds of attachment distribution (docs/spec/ATTACHMENTS.md §6) and
// their JSON codecs:
//   file_distributions/<distribution_id>                 DistributionDoc, written by the sender
//   file_distribution_status/<distribution_id>:<short>   TargetStatusDoc, written by that target
//                                                        (by the sender only for grace/deadline
//                                                        failures of a target that wrote none)
// Both collections are reserved: clients may read and subscribe, never write.
//
// Encode* produce one JSON object in the §6 shape (keys as in the spec; null for absent optional
// values). Parse* read documents that came from peers, so they are strict and total: any missing
// or mistyped field, a wrong "v", an unknown status, a bad hex id, or a size beyond limits →
// INVALID_ARGUMENT naming the field; never a crash (fuzzed). Unknown extra fields are ignored
// (add-only evolution). Limits on peer input: every integer in 0..kMaxDocInteger (2^53 - 1, exact
// in every JSON reader); distribution ids IsDistributionId (they name inbox files, §13); bundle and
// node ids 1..1024 bytes without control characters; at most kMaxDocListEntries entries per list;
// chunk_bytes a power of two within the blob store's range; progress_bytes <= total_bytes; a
// sender's / target's short id must be the prefix of its endpoint id (a status doc without an
// endpoint id may name its target by any target string).
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attach/status_model.h"
#include "common/status.h"

namespace peat::attach {

inline constexpr std::string_view kDistributionsCollection = "file_distributions";
inline constexpr std::string_view kStatusCollection = "file_distribution_status";

inline constexpr uint64_t kMaxDocInteger = (uint64_t{1} << 53) - 1;
inline constexpr size_t kMaxDocListEntries = 4096;
inline constexpr size_t kMaxDocIdBytes = 1024;  // bundle ids, node ids, targets
inline constexpr size_t kMaxDistributionIdBytes = 128;
inline constexpr size_t kMaxDocNameBytes = 65536;  // name (sanitized by the receiver, §13)
inline constexpr size_t kMaxDocTextBytes = 16384;  // content_type, error

// True for the two reserved collections.
bool IsReservedAttachmentCollection(std::string_view collection);

// A node's short id: the first 10 hex digits of its 64-hex endpoint id.
std::string ShortId(std::string_view endpoint_id);
// True for exactly 10 lowercase hex digits.
bool IsShortId(std::string_view s);

// 1..kMaxDistributionIdBytes characters of [A-Za-z0-9_-] (a UUIDv4 fits).
bool IsDistributionId(std::string_view s);

// "bulk", "low", "routine", "priority", "critical" for classes 1..5; nullopt otherwise.
std::optional<std::string_view> PriorityName(int priority_class);
std::optional<int> ParsePriorityName(std::string_view name);

enum class DistributionDocStatus { kDistributing, kCancelled, kFinished };

struct DistributionDoc {
  std::string distribution_id;
  std::string bundle_id;
  uint32_t file_index = 0;
  // sender
  std::string sender_endpoint_id;  // 64 hex
  std::string sender_short_id;     // 10 hex
  std::string sender_node_id;
  // blob
  std::string blob_root;    // 64 hex (the blob token)
  std::string blob_sha256;  // 64 hex, whole-file SHA-256
  uint64_t blob_size = 0;
  uint32_t chunk_bytes = 262144;
  std::string name;  // display_name, else the relative path
  std::optional<std::string> content_type;
  bool all_nodes = true;                       // scope: "all_nodes" | "node_list"
  std::vector<std::string> declared_node_ids;  // as the client gave them
  std::vector<std::string> targets;            // short ids, or names kept verbatim
  int priority_class = 3;                      // 1..5, encoded by name
  int64_t started_at_ms = 0;
  std::optional<int64_t> deadline_at_ms;  // null: no deadline
  DistributionDocStatus status = DistributionDocStatus::kDistributing;
  std::optional<int64_t> cancelled_at_ms;

  friend bool operator==(const DistributionDoc&, const DistributionDoc&) = default;
};

std::string EncodeDistributionDoc(const DistributionDoc& doc);
StatusOr<DistributionDoc> ParseDistributionDoc(std::string_view json);

struct TargetStatusDoc {
  std::string distribution_id;
  // The target as listed in `targets`: its short id (10 hex), or, only in a FAILED doc the sender
  // writes for a target it never resolved (endpoint_id ""), the name kept verbatim.
  std::string node_id;
  std::string endpoint_id;  // 64 hex; "" when the sender writes it for a target it never met
  TransferState status = TransferState::kPending;  // never kPartial
  uint64_t progress_bytes = 0;
  uint64_t total_bytes = 0;
  std::vector<std::string> sources;  // short ids that served verified chunks
  int64_t started_at_ms = 0;
  std::optional<int64_t> completed_at_ms;
  std::optional<std::string> error;
  int64_t updated_at_ms = 0;

  friend bool operator==(const TargetStatusDoc&, const TargetStatusDoc&) = default;
};

// "<distribution_id>:<short_id>"
std::string StatusDocId(std::string_view distribution_id, std::string_view short_id);
std::string EncodeTargetStatusDoc(const TargetStatusDoc& doc);
StatusOr<TargetStatusDoc> ParseTargetStatusDoc(std::string_view json);

}  // namespace peat::attach

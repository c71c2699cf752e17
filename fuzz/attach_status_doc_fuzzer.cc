// ParseDistributionDoc and ParseTargetStatusDoc on arbitrary bytes: both document kinds are
// written by peers and replicated to us (docs/spec/ATTACHMENTS.md §6, §16 row 39), so whatever
// arrives must be refused cleanly or be a sound document.
//
// Invariants (a violation traps):
// - A failure is INVALID_ARGUMENT with a message naming the document kind.
// - A parsed document keeps the limits the parser promises (ids, hex, list sizes, integers within
//   2^53 - 1, progress <= total, short ids that prefix their endpoint ids), and round-trips:
//   Parse(Encode(doc)) == doc, and encoding that again gives the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "attach/distribution_doc.h"
#include "common/status.h"
#include "fuzz_check.h"

namespace {

using peat::StatusCode;
namespace attach = peat::attach;

bool WithinLimit(int64_t v) { return v >= 0 && static_cast<uint64_t>(v) <= attach::kMaxDocInteger; }

// The limits ParseDistributionDoc promises.
void CheckLimits(const attach::DistributionDoc& d) {
  FUZZ_CHECK(attach::IsDistributionId(d.distribution_id));
  FUZZ_CHECK(attach::IsShortId(d.sender_short_id));
  FUZZ_CHECK(attach::ShortId(d.sender_endpoint_id) == d.sender_short_id);
  FUZZ_CHECK(d.blob_root.size() == 64 && d.blob_sha256.size() == 64);
  FUZZ_CHECK(d.blob_size <= attach::kMaxDocInteger);
  FUZZ_CHECK(d.chunk_bytes != 0 && (d.chunk_bytes & (d.chunk_bytes - 1)) == 0);
  FUZZ_CHECK(attach::PriorityName(d.priority_class).has_value());
  FUZZ_CHECK(d.all_nodes == d.declared_node_ids.empty());
  FUZZ_CHECK(d.targets.size() <= attach::kMaxDocListEntries);
  FUZZ_CHECK(WithinLimit(d.started_at_ms));
  FUZZ_CHECK(!d.deadline_at_ms || WithinLimit(*d.deadline_at_ms));
  FUZZ_CHECK(!d.cancelled_at_ms || WithinLimit(*d.cancelled_at_ms));
}

// The limits ParseTargetStatusDoc promises.
void CheckLimits(const attach::TargetStatusDoc& t) {
  FUZZ_CHECK(attach::IsDistributionId(t.distribution_id));
  FUZZ_CHECK(!t.node_id.empty() && t.node_id.size() <= attach::kMaxDocIdBytes);
  FUZZ_CHECK(t.endpoint_id.empty() ||
             (attach::ShortId(t.endpoint_id) == t.node_id && attach::IsShortId(t.node_id)));
  FUZZ_CHECK(t.status != attach::TransferState::kPartial);
  FUZZ_CHECK(t.progress_bytes <= t.total_bytes && t.total_bytes <= attach::kMaxDocInteger);
  FUZZ_CHECK(t.sources.size() <= attach::kMaxDocListEntries);
  for (const std::string& s : t.sources) FUZZ_CHECK(attach::IsShortId(s));
  FUZZ_CHECK(WithinLimit(t.started_at_ms) && WithinLimit(t.updated_at_ms));
  FUZZ_CHECK(!t.completed_at_ms || WithinLimit(*t.completed_at_ms));
}

template <typename Doc>
void Check(std::string_view bytes, std::string_view kind,
           peat::StatusOr<Doc> (*parse)(std::string_view), std::string (*encode)(const Doc&)) {
  auto doc = parse(bytes);
  if (!doc.ok()) {
    FUZZ_CHECK(doc.status().code() == StatusCode::kInvalidArgument);
    FUZZ_CHECK(doc.status().message().find(kind) != std::string::npos);
    return;
  }
  CheckLimits(*doc);
  const std::string encoded = encode(*doc);
  auto again = parse(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *doc);
  FUZZ_CHECK(encode(*again) == encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Check(bytes, "file_distributions doc", &attach::ParseDistributionDoc,
        &attach::EncodeDistributionDoc);
  Check(bytes, "file_distribution_status doc", &attach::ParseTargetStatusDoc,
        &attach::EncodeTargetStatusDoc);
  return 0;
}

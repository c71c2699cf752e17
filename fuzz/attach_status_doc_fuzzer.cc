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

void CheckRefusal(const peat::Status& s, std::string_view kind) {
  FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument);
  FUZZ_CHECK(s.message().find(kind) != std::string::npos);
}

bool WithinLimit(int64_t v) { return v >= 0 && static_cast<uint64_t>(v) <= attach::kMaxDocInteger; }

void CheckDistributionDoc(std::string_view bytes) {
  auto doc = attach::ParseDistributionDoc(bytes);
  if (!doc.ok()) {
    CheckRefusal(doc.status(), "file_distributions doc");
    return;
  }
  const attach::DistributionDoc& d = *doc;
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
  const std::string encoded = attach::EncodeDistributionDoc(d);
  auto again = attach::ParseDistributionDoc(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == d);
  FUZZ_CHECK(attach::EncodeDistributionDoc(*again) == encoded);
}

void CheckTargetStatusDoc(std::string_view bytes) {
  auto doc = attach::ParseTargetStatusDoc(bytes);
  if (!doc.ok()) {
    CheckRefusal(doc.status(), "file_distribution_status doc");
    return;
  }
  const attach::TargetStatusDoc& t = *doc;
  FUZZ_CHECK(attach::IsDistributionId(t.distribution_id));
  FUZZ_CHECK(attach::IsShortId(t.node_id));
  FUZZ_CHECK(t.endpoint_id.empty() || attach::ShortId(t.endpoint_id) == t.node_id);
  FUZZ_CHECK(t.status != attach::TransferState::kPartial);
  FUZZ_CHECK(t.progress_bytes <= t.total_bytes && t.total_bytes <= attach::kMaxDocInteger);
  FUZZ_CHECK(t.sources.size() <= attach::kMaxDocListEntries);
  for (const std::string& s : t.sources) FUZZ_CHECK(attach::IsShortId(s));
  FUZZ_CHECK(WithinLimit(t.started_at_ms) && WithinLimit(t.updated_at_ms));
  FUZZ_CHECK(!t.completed_at_ms || WithinLimit(*t.completed_at_ms));
  const std::string encoded = attach::EncodeTargetStatusDoc(t);
  auto again = attach::ParseTargetStatusDoc(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == t);
  FUZZ_CHECK(attach::EncodeTargetStatusDoc(*again) == encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckDistributionDoc(bytes);
  CheckTargetStatusDoc(bytes);
  return 0;
}

// crdt::Document::Decode on arbitrary bytes: remote replicas send encoded document states over the
// mesh (Change.state), so whatever arrives must be either rejected cleanly or a sound state.
//
// Invariants (a violation traps):
// - A failure is INVALID_ARGUMENT (exactly when the version byte is not 1 or 2) or DATA_LOSS, with
// a
//   message. A decode with a smaller max_depth (2) succeeds only if the default one does, with an
//   equal state.
// - A decoded state round-trips: Decode(Encode()) is equal (operator==) and encodes to the same
//   bytes.
// - Render() does not crash; it is "" unless the document is live. A live document's JSON is
//   accepted by Put (at the decoding max_depth): on a fresh Document it renders back exactly, and
//   on a copy of the state at a higher timestamp it changes nothing (same content).
// - Merging a copy into itself reports no change and keeps the state; merging the state into an
//   empty Document gives an equal state (reported as a change unless the state is empty too).
// - PurgeOlderThan (GC of tombstones, and of a deleted document's covered registers) does not
//   change what renders, removes nothing else, and the result still round-trips.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "common/status.h"
#include "crdt/document.h"
#include "crdt/hlc.h"
#include "fuzz_check.h"

namespace {

using peat::StatusCode;
using peat::crdt::Document;
using peat::crdt::RegisterKind;
using peat::crdt::Timestamp;

constexpr int kMaxDepth = 64;  // Document's default, as the store uses
constexpr int kSmallMaxDepth = 2;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

void CheckRoundTrip(const Document& doc) {
  const std::string bytes = doc.Encode();
  auto again = Document::Decode(bytes, kMaxDepth);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == doc);
  FUZZ_CHECK(again->Encode() == bytes);
}

// A timestamp above everything in `doc` (saturating).
Timestamp Above(const Document& doc) {
  const Timestamp max = doc.MaxTimestamp();
  if (max.hlc == kMax) return Timestamp{kMax, kMax};
  return Timestamp{max.hlc + 1, 1};
}

void CheckRender(const Document& doc, int max_depth) {
  const std::string json = doc.Render();
  if (!doc.IsLive()) {
    FUZZ_CHECK(json.empty());
    return;
  }
  FUZZ_CHECK(!json.empty() && json.front() == '{' && json.back() == '}');

  Document fresh;
  auto put = fresh.Put(json, Above(doc), max_depth);
  FUZZ_CHECK(put.ok());
  FUZZ_CHECK(put->changed);
  FUZZ_CHECK(fresh.Render() == json);

  Document same = doc;
  auto reput = same.Put(json, Above(doc), max_depth);
  FUZZ_CHECK(reput.ok());
  FUZZ_CHECK(!reput->changed);
  FUZZ_CHECK(same == doc);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Copy so ASan catches any read past the input.
  const std::string bytes(reinterpret_cast<const char*>(data), size);

  auto decoded = Document::Decode(bytes, kMaxDepth);
  auto shallow = Document::Decode(bytes, kSmallMaxDepth);
  if (shallow.ok()) {
    FUZZ_CHECK(decoded.ok());
    FUZZ_CHECK(*shallow == *decoded);
    CheckRender(*shallow, kSmallMaxDepth);
  }
  if (!decoded.ok()) {
    const StatusCode code = decoded.status().code();
    FUZZ_CHECK(code == StatusCode::kDataLoss || code == StatusCode::kInvalidArgument);
    FUZZ_CHECK((code == StatusCode::kInvalidArgument) ==
               (size > 0 && data[0] != 1 && data[0] != 2));
    FUZZ_CHECK(!decoded.status().message().empty());
    return 0;
  }
  const Document& doc = *decoded;

  CheckRoundTrip(doc);
  CheckRender(doc, kMaxDepth);

  // Merge with a copy of itself: no change.
  Document copy = doc;
  FUZZ_CHECK(!copy.Merge(doc).changed);
  FUZZ_CHECK(copy == doc);

  // Merge into an empty replica: the same state.
  Document empty;
  const bool changed = empty.Merge(doc).changed;
  FUZZ_CHECK(empty == doc);
  if (!(doc == Document())) FUZZ_CHECK(changed);
  FUZZ_CHECK(!empty.Merge(doc).changed);

  // GC of every tombstone (and covered register of a deleted document): nothing visible changes.
  Document purged = doc;
  const size_t removed = purged.PurgeOlderThan(Timestamp{kMax, kMax});
  FUZZ_CHECK(removed == doc.registers().size() - purged.registers().size());
  for (const auto& [path, reg] : doc.registers()) {
    if (purged.registers().contains(path)) continue;
    FUZZ_CHECK(reg.kind == RegisterKind::kTombstone ||
               (!doc.IsLive() && doc.deletes().Covers(reg.ts)));
  }
  FUZZ_CHECK(purged.delete_ts() == doc.delete_ts());
  FUZZ_CHECK(purged.IsLive() == doc.IsLive());
  FUZZ_CHECK(purged.Render() == doc.Render());
  CheckRoundTrip(purged);
  return 0;
}

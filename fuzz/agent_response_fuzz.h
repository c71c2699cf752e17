// Shared invariants of the agent response fuzzers (agent_*_fuzzer.cc): the watcher parses
// whatever the co-located agent sends (WATCHER.md §3) and maps it into documents (§4), so any
// bytes must be refused cleanly or give documents the store accepts as they are.
//
// Invariants (a violation traps):
// - A failure is INVALID_ARGUMENT and its message starts with the call's name.
// - Parsing is deterministic: the same bytes parse to the same value.
// - Every mapped document is canonical JSON (the store renders it back byte for byte), has a
//   valid doc id with the node id prefix of its collection, and two polls that differ only in
//   last_seen compare equal (SameExceptLastSeen); docs + skipped == listed; a response selects
//   none of its own documents as stale.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/identifier.h"
#include "common/status.h"
#include "crdt/document.h"
#include "fuzz_check.h"
#include "watcher/agent_mapping.h"
#include "watcher/agent_responses.h"

namespace peat::watcher::fuzz {

inline constexpr std::string_view kNodeId = "fuzz-node";

inline void CheckDoc(const MappedDoc& d) {
  FUZZ_CHECK(ValidateIdentifier("doc_id", d.doc_id).ok());
  FUZZ_CHECK(d.doc_id == kNodeId || d.doc_id.starts_with(std::string(kNodeId) + ":"));
  FUZZ_CHECK(AgentIdOf(d.json) == kNodeId);
  crdt::Document doc;
  auto put = doc.Put(d.json, crdt::Timestamp{uint64_t{1} << 16, 1});
  FUZZ_CHECK(put.ok());
  FUZZ_CHECK(doc.Render() == d.json);
}

inline void CheckList(const MappedList& first, const MappedList& second) {
  FUZZ_CHECK(first.docs.size() + first.skipped.size() <= first.listed);
  FUZZ_CHECK(first.docs.size() == second.docs.size() && first.listed == second.listed);
  std::vector<PresentDoc> present;
  for (size_t i = 0; i < first.docs.size(); ++i) {
    CheckDoc(first.docs[i]);
    FUZZ_CHECK(first.docs[i].doc_id == second.docs[i].doc_id);
    FUZZ_CHECK(SameExceptLastSeen(first.docs[i].json, second.docs[i].json));
    present.push_back({first.docs[i].doc_id, std::string(kNodeId)});
  }
  FUZZ_CHECK(SelectStale(present, kNodeId, first).empty());
}

// Parses `bytes` twice with `parse`; on success hands both results to `check`.
template <typename T, typename Check>
void Run(std::string_view bytes, std::string_view call, StatusOr<T> (*parse)(std::string_view),
         Check&& check) {
  auto parsed = parse(bytes);
  auto again = parse(bytes);
  FUZZ_CHECK(parsed.ok() == again.ok());
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == StatusCode::kInvalidArgument);
    FUZZ_CHECK(parsed.status().message().starts_with(std::string(call) + ": "));
    FUZZ_CHECK(parsed.status().message() == again.status().message());
    return;
  }
  FUZZ_CHECK(*parsed == *again);
  check(*parsed);
}

}  // namespace peat::watcher::fuzz

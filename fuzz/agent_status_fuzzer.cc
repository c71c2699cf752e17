// ParseAgentStatus + MapAgentStatus on arbitrary bytes (invariants: agent_response_fuzz.h).
#include "agent_response_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace w = peat::watcher;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  w::fuzz::Run(bytes, "GET /status", &w::ParseAgentStatus, [](const w::AgentStatus& s) {
    const w::MappedDoc first = w::MapAgentStatus(s, w::fuzz::kNodeId, 1);
    const w::MappedDoc second = w::MapAgentStatus(s, w::fuzz::kNodeId, 2);
    FUZZ_CHECK(first.collection == w::kNodesCollection && first.doc_id == w::fuzz::kNodeId);
    w::fuzz::CheckDoc(first);
    FUZZ_CHECK(w::SameExceptLastSeen(first.json, second.json));
  });
  return 0;
}

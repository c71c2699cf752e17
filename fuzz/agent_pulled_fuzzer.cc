// ParsePulledList + MapPulledList on arbitrary bytes (invariants: agent_response_fuzz.h).
#include "agent_response_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace w = peat::watcher;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  w::fuzz::Run(bytes, "ListPulledPackages", &w::ParsePulledList, [](const w::PulledList& l) {
    const w::MappedList first = w::MapPulledList(l, w::fuzz::kNodeId, 1);
    FUZZ_CHECK(first.listed == l.TagCount());
    w::fuzz::CheckList(first, w::MapPulledList(l, w::fuzz::kNodeId, 2));
  });
  return 0;
}

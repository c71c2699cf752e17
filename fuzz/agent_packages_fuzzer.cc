// ParsePackageList + MapPackageList on arbitrary bytes (invariants: agent_response_fuzz.h).
#include "agent_response_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace w = peat::watcher;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  w::fuzz::Run(bytes, "ListPackages", &w::ParsePackageList, [](const w::PackageList& l) {
    const w::MappedList first = w::MapPackageList(l, w::fuzz::kNodeId, 1);
    FUZZ_CHECK(first.listed == l.packages.size());
    w::fuzz::CheckList(first, w::MapPackageList(l, w::fuzz::kNodeId, 2));
  });
  return 0;
}

#include "mesh/peer_address.h"

#include <algorithm>

#include "common/host_port.h"

namespace peat::mesh {

std::vector<std::string> OrderAddresses(const std::vector<std::string>& addresses) {
  std::vector<std::string> ips, names;
  for (const auto& a : addresses) {
    StatusOr<HostPort> parsed = ParseHostPort(a);
    if (!parsed.ok()) continue;
    if (std::find(ips.begin(), ips.end(), a) != ips.end() ||
        std::find(names.begin(), names.end(), a) != names.end()) {
      continue;
    }
    (parsed->kind == HostKind::kName ? names : ips).push_back(a);
  }
  ips.insert(ips.end(), names.begin(), names.end());
  return ips;
}

}  // namespace peat::mesh

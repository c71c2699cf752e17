#include "mesh/peer_address.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>

#include "mesh/dial_address.h"

namespace peat::mesh {

std::vector<std::string> OrderAddresses(const std::vector<std::string>& addresses) {
  std::vector<std::string> ips, names;
  for (const auto& a : addresses) {
    auto parsed = ParseDialAddress(a);
    if (!parsed.ok()) continue;
    if (std::find(ips.begin(), ips.end(), a) != ips.end() ||
        std::find(names.begin(), names.end(), a) != names.end()) {
      continue;
    }
    boost::system::error_code not_ip;
    boost::asio::ip::make_address(parsed->host, not_ip);
    (not_ip ? names : ips).push_back(a);
  }
  ips.insert(ips.end(), names.begin(), names.end());
  return ips;
}

}  // namespace peat::mesh

#include "common/endpoint_id.h"

namespace peat {

bool IsValidEndpointId(std::string_view id) {
  if (id.size() != kEndpointIdChars) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string ShortEndpointId(std::string_view endpoint_id) {
  return std::string(endpoint_id.substr(0, 10));
}

}  // namespace peat

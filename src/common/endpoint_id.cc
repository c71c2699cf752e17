#include "common/endpoint_id.h"

#include "common/hex.h"

namespace peat {

bool IsValidEndpointId(std::string_view id) {
  return id.size() == kEndpointIdChars && IsLowerHex(id);
}

std::string ShortEndpointId(std::string_view endpoint_id) {
  return std::string(endpoint_id.substr(0, 10));
}

}  // namespace peat

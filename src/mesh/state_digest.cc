#include "mesh/state_digest.h"

#include "crypto/sha256.h"

namespace peat::mesh {

std::string StateDigest(std::string_view state) {
  auto digest = Sha256Of(state);
  if (!digest.ok()) return {};
  return std::string(reinterpret_cast<const char*>(digest->data()), kStateDigestBytes);
}

}  // namespace peat::mesh

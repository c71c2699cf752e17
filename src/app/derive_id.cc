#include "app/derive_id.h"

#include "node/node_identity.h"

namespace peat {

int RunDeriveId(const std::string& shared_key_b64, const std::string& node_id, std::ostream& out,
                std::ostream& err, std::string_view program) {
  if (shared_key_b64.empty()) {
    err << program << ": --shared-key is required\n";
    return 2;
  }
  auto identity = DeriveIdentity(shared_key_b64, node_id);
  if (!identity.ok()) {
    err << program << ": " << identity.status().message() << "\n";
    return 2;
  }
  out << identity->EndpointId() << "\n";
  out.flush();
  return 0;
}

}  // namespace peat

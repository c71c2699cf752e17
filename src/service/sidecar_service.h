// The peat.sidecar.v1.PeatSidecar service: registers one handler per RPC in a MethodTable.
// RPCs whose feature has not been built yet answer UNIMPLEMENTED with a message saying so; the
// list is derived from the service descriptor, so every RPC of the contract is routed.
#pragma once

#include <string>
#include <string_view>

#include "rpc/method_table.h"
#include "service/status_source.h"

namespace peat::service {

inline constexpr const char* kSidecarServicePath = "/peat.sidecar.v1.PeatSidecar/";

// The HTTP path of one RPC of the service, e.g. "/peat.sidecar.v1.PeatSidecar/GetDocument".
inline std::string SidecarMethodPath(std::string_view method) {
  return std::string(kSidecarServicePath) + std::string(method);
}

// `status` must outlive the table.
void RegisterSidecarService(rpc::MethodTable& table, const StatusSource& status);

}  // namespace peat::service

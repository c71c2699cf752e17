// The peat.sidecar.v1.PeatSidecar service: registers one handler per RPC in a MethodTable.
// RPCs whose feature has not been built yet answer UNIMPLEMENTED with a message saying so; the
// list is derived from the service descriptor, so every RPC of the contract is routed.
#pragma once

#include "rpc/method_table.h"
#include "service/status_source.h"

namespace peat::service {

inline constexpr const char* kSidecarServicePath = "/peat.sidecar.v1.PeatSidecar/";

// `status` must outlive the table.
void RegisterSidecarService(rpc::MethodTable& table, const StatusSource& status);

}  // namespace peat::service

// Peer and sync RPCs of peat.sidecar.v1.PeatSidecar: ConnectPeer, DisconnectPeer, ListPeers,
// StartSync, StopSync, GetSyncStats. Validation and status codes per BEHAVIOR.md "Peers, sync,
// status"; the work is done by the mesh (MeshControl).
#pragma once

#include "mesh/mesh_control.h"
#include "rpc/method_table.h"

namespace peat::service {

// `mesh` must outlive the table.
void RegisterPeerService(rpc::MethodTable& table, mesh::MeshControl& mesh);

}  // namespace peat::service

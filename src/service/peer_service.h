// Peer and sync RPCs of peat.sidecar.v1.PeatSidecar: ConnectPeer, DisconnectPeer, ListPeers,
// StartSync, StopSync, GetSyncStats. Validation and status codes per BEHAVIOR.md "Peers, sync,
// status"; the work is done by the mesh, through the PeerControl interface
// (common/peer_control.h, implemented by mesh::Mesh), so this layer includes no mesh header.
#pragma once

#include "common/peer_control.h"
#include "rpc/method_table.h"

namespace peat::service {

// `mesh` must outlive the table.
void RegisterPeerService(rpc::MethodTable& table, PeerControl& mesh);

}  // namespace peat::service

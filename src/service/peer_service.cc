#include "service/peer_service.h"

#include "common/endpoint_id.h"
#include "peat/sidecar/v1/sidecar.pb.h"
#include "service/reply_when_done.h"
#include "service/sidecar_service.h"

namespace peat::service {

namespace pb = peat::sidecar::v1;
using rpc::MethodKind;
using rpc::ServerCall;

namespace {

Status ValidateEndpointId(const std::string& id) {
  if (!IsValidEndpointId(id)) {
    return InvalidArgumentError("endpoint_id must be 64 lowercase hex characters (got " +
                                std::to_string(id.size()) + " characters)");
  }
  return Status::Ok();
}

}  // namespace

void RegisterPeerService(rpc::MethodTable& table, PeerControl& mesh) {
  table.AddAsync<pb::ConnectPeerRequest>(
      SidecarMethodPath("ConnectPeer"), MethodKind::kUnary,
      [&mesh](const std::shared_ptr<ServerCall>& call, const pb::ConnectPeerRequest& req) {
        if (Status st = ValidateEndpointId(req.endpoint_id()); !st.ok()) return call->Finish(st);
        std::vector<std::string> addresses(req.addresses().begin(), req.addresses().end());
        if (addresses.empty()) {
          if (!req.relay_url().empty()) {
            return call->Finish(UnavailableError(
                "relay_url is not supported by this node's mesh transport (direct TCP); give "
                "the peer's addresses (host:port)"));
          }
          return call->Finish(
              InvalidArgumentError("addresses: at least one host:port is required"));
        }
        mesh.ConnectPeer(req.endpoint_id(), std::move(addresses),
                         ReplyWhenDone<pb::ConnectPeerResponse>(call));
      });

  table.AddAsync<pb::DisconnectPeerRequest>(
      SidecarMethodPath("DisconnectPeer"), MethodKind::kUnary,
      [&mesh](const std::shared_ptr<ServerCall>& call, const pb::DisconnectPeerRequest& req) {
        if (Status st = ValidateEndpointId(req.endpoint_id()); !st.ok()) return call->Finish(st);
        mesh.DisconnectPeer(req.endpoint_id(), ReplyWhenDone<pb::DisconnectPeerResponse>(call));
      });

  table.AddAsync<pb::ListPeersRequest>(
      SidecarMethodPath("ListPeers"), MethodKind::kUnary,
      [&mesh](const std::shared_ptr<ServerCall>& call, const pb::ListPeersRequest&) {
        mesh.ListPeers([call](std::vector<PeerView> peers) {
          auto resp = std::make_unique<pb::ListPeersResponse>();
          for (auto& p : peers) {
            auto* info = resp->add_peers();
            info->set_endpoint_id(std::move(p.endpoint_id));
            for (auto& a : p.addresses) info->add_addresses(std::move(a));
            info->set_connected(p.connected);
          }
          call->Reply(std::move(resp));
        });
      });

  table.AddUnary<pb::StartSyncRequest, pb::StartSyncResponse>(
      SidecarMethodPath("StartSync"), [&mesh](const pb::StartSyncRequest&, pb::StartSyncResponse*) {
        mesh.SetSyncActive(true);
        return Status::Ok();
      });
  table.AddUnary<pb::StopSyncRequest, pb::StopSyncResponse>(
      SidecarMethodPath("StopSync"), [&mesh](const pb::StopSyncRequest&, pb::StopSyncResponse*) {
        mesh.SetSyncActive(false);
        return Status::Ok();
      });
  table.AddAsync<pb::GetSyncStatsRequest>(
      SidecarMethodPath("GetSyncStats"), MethodKind::kUnary,
      [&mesh](const std::shared_ptr<ServerCall>& call, const pb::GetSyncStatsRequest&) {
        mesh.GetSyncStats([call](SyncStats s) {
          auto resp = std::make_unique<pb::GetSyncStatsResponse>();
          resp->set_sync_active(s.sync_active);
          resp->set_connected_peers(s.connected_peers);
          resp->set_bytes_sent(s.bytes_sent);
          resp->set_bytes_received(s.bytes_received);
          call->Reply(std::move(resp));
        });
      });
}

}  // namespace peat::service

#include "service/sidecar_service.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "peat/sidecar/v1/sidecar.pb.h"

namespace peat::service {

namespace pb = peat::sidecar::v1;

namespace {

pb::NodePhase ToProto(NodePhase phase) {
  switch (phase) {
    case NodePhase::kInitializing:
      return pb::NODE_PHASE_INITIALIZING;
    case NodePhase::kReady:
      return pb::NODE_PHASE_READY;
    case NodePhase::kSyncing:
      return pb::NODE_PHASE_SYNCING;
    case NodePhase::kShuttingDown:
      return pb::NODE_PHASE_SHUTTING_DOWN;
  }
  return pb::NODE_PHASE_UNSPECIFIED;
}

// Registers every RPC of the service that has no handler yet as UNIMPLEMENTED.
void RegisterUnimplemented(rpc::MethodTable& table) {
  const auto* service =
      pb::GetStatusRequest::descriptor()->file()->FindServiceByName("PeatSidecar");
  auto* factory = google::protobuf::MessageFactory::generated_factory();
  for (int i = 0; i < service->method_count(); ++i) {
    const auto* m = service->method(i);
    std::string path = SidecarMethodPath(m->name());
    if (table.Find(path)) continue;
    std::string message = m->name() + " is not implemented in this peat-node build yet";
    table.Add(rpc::MethodSpec{
        path, m->server_streaming() ? rpc::MethodKind::kServerStreaming : rpc::MethodKind::kUnary,
        factory->GetPrototype(m->input_type()),
        [message](const std::shared_ptr<rpc::ServerCall>& call,
                  std::unique_ptr<google::protobuf::Message>) {
          call->Finish(UnimplementedError(message));
        }});
  }
}

}  // namespace

void RegisterSidecarService(rpc::MethodTable& table, const StatusSource& status) {
  table.AddUnary<pb::GetStatusRequest, pb::GetStatusResponse>(
      SidecarMethodPath("GetStatus"),
      [&status](const pb::GetStatusRequest&, pb::GetStatusResponse* resp) {
        NodeStatusSnapshot s = status.Snapshot();
        resp->set_node_id(s.node_id);
        resp->set_endpoint_addr(s.endpoint_id);
        resp->set_sync_active(s.sync_active);
        resp->set_connected_peers(s.connected_peers);
        resp->set_phase(ToProto(s.phase));
        return Status::Ok();
      });
  RegisterUnimplemented(table);
}

}  // namespace peat::service

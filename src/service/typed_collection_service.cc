#include "service/typed_collection_service.h"

#include <boost/asio/post.hpp>

#include "common/identifier.h"
#include "peat/sidecar/v1/sidecar.pb.h"
#include "service/sidecar_service.h"
#include "service/typed_json.h"

namespace peat::service {

namespace pb = peat::sidecar::v1;
using rpc::MethodKind;
using rpc::ServerCall;

namespace {

// One typed collection: how its Put request carries the message and how the message maps to JSON.
template <typename PutReq, typename PutResp, typename GetReq, typename GetResp, typename Msg>
struct TypedCollection {
  const char* collection;    // "nodes"
  const char* message_name;  // "node" (the request field, named in errors)
  const char* put_method;
  const char* get_method;
  bool (PutReq::*has)() const;
  const Msg& (PutReq::*get)() const;
  std::string (*to_json)(const Msg&);
  Msg (*from_json)(std::string_view, std::string_view);
  Msg* (GetResp::*add)();
};

template <typename PutReq, typename PutResp, typename GetReq, typename GetResp, typename Msg>
void Register(rpc::MethodTable& table, store::DocumentStore& store,
              boost::asio::thread_pool& blocking,
              TypedCollection<PutReq, PutResp, GetReq, GetResp, Msg> t) {
  table.AddAsync<PutReq>(
      SidecarMethodPath(t.put_method), MethodKind::kUnary,
      [&store, t](const std::shared_ptr<ServerCall>& call, const PutReq& req) {
        if (!(req.*t.has)()) {
          return call->Finish(InvalidArgumentError(std::string(t.message_name) + " is required"));
        }
        const Msg& msg = (req.*t.get)();
        if (Status st = ValidateIdentifier(std::string(t.message_name) + ".id", msg.id());
            !st.ok()) {
          return call->Finish(st);
        }
        store.Put(t.collection, msg.id(), t.to_json(msg), [call](Status st) {
          if (st.ok()) {
            call->Reply(std::make_unique<PutResp>());
          } else {
            call->Finish(std::move(st));
          }
        });
      });

  table.AddAsync<GetReq>(
      SidecarMethodPath(t.get_method), MethodKind::kUnary,
      [&store, &blocking, t](const std::shared_ptr<ServerCall>& call, const GetReq&) {
        boost::asio::post(blocking, [&store, t, call] {
          auto resp = std::make_unique<GetResp>();
          Status st = store.Scan({t.collection}, [&](const store::ChangeEvent& e) {
            *((*resp).*t.add)() = t.from_json(e.json, e.doc_id);
            return true;
          });
          if (!st.ok()) return call->Finish(st);
          call->Reply(std::move(resp));
        });
      });
}

}  // namespace

void RegisterTypedCollectionService(rpc::MethodTable& table, store::DocumentStore& store,
                                    boost::asio::thread_pool& blocking) {
  Register(
      table, store, blocking,
      TypedCollection<pb::PutNodeRequest, pb::PutNodeResponse, pb::GetNodesRequest,
                      pb::GetNodesResponse, pb::Node>{
          "nodes", "node", "PutNode", "GetNodes", &pb::PutNodeRequest::has_node,
          &pb::PutNodeRequest::node, &NodeToJson, &NodeFromJson, &pb::GetNodesResponse::add_nodes});
  Register(
      table, store, blocking,
      TypedCollection<pb::PutCellRequest, pb::PutCellResponse, pb::GetCellsRequest,
                      pb::GetCellsResponse, pb::Cell>{
          "cells", "cell", "PutCell", "GetCells", &pb::PutCellRequest::has_cell,
          &pb::PutCellRequest::cell, &CellToJson, &CellFromJson, &pb::GetCellsResponse::add_cells});
  Register(table, store, blocking,
           TypedCollection<pb::PutTrackRequest, pb::PutTrackResponse, pb::GetTracksRequest,
                           pb::GetTracksResponse, pb::Track>{
               "tracks", "track", "PutTrack", "GetTracks", &pb::PutTrackRequest::has_track,
               &pb::PutTrackRequest::track, &TrackToJson, &TrackFromJson,
               &pb::GetTracksResponse::add_tracks});
  Register(table, store, blocking,
           TypedCollection<pb::PutCommandRequest, pb::PutCommandResponse, pb::GetCommandsRequest,
                           pb::GetCommandsResponse, pb::Command>{
               "commands", "command", "PutCommand", "GetCommands",
               &pb::PutCommandRequest::has_command, &pb::PutCommandRequest::command, &CommandToJson,
               &CommandFromJson, &pb::GetCommandsResponse::add_commands});
}

}  // namespace peat::service

#include "service/document_service.h"

#include <boost/asio/post.hpp>

#include "attach/distribution_doc.h"
#include "common/identifier.h"
#include "peat/sidecar/v1/sidecar.pb.h"
#include "service/reply_when_done.h"
#include "service/sidecar_service.h"

namespace peat::service {

namespace pb = peat::sidecar::v1;
using rpc::MethodKind;
using rpc::ServerCall;

namespace {

store::DeletionPolicy FromProto(pb::DeletionPolicy p) {
  switch (p) {
    case pb::DELETION_POLICY_TOMBSTONE:
      return store::DeletionPolicy::kTombstone;
    case pb::DELETION_POLICY_IMPLICIT_TTL:
      return store::DeletionPolicy::kImplicitTtl;
    case pb::DELETION_POLICY_IMMUTABLE:
      return store::DeletionPolicy::kImmutable;
    default:
      return store::DeletionPolicy::kSoftDelete;  // UNSPECIFIED is stored as SOFT_DELETE
  }
}

pb::DeletionPolicy ToProto(store::DeletionPolicy p) {
  switch (p) {
    case store::DeletionPolicy::kTombstone:
      return pb::DELETION_POLICY_TOMBSTONE;
    case store::DeletionPolicy::kImplicitTtl:
      return pb::DELETION_POLICY_IMPLICIT_TTL;
    case store::DeletionPolicy::kImmutable:
      return pb::DELETION_POLICY_IMMUTABLE;
    case store::DeletionPolicy::kSoftDelete:
      break;
  }
  return pb::DELETION_POLICY_SOFT_DELETE;
}

void ToProto(const store::CollectionConfig& c, pb::CollectionConfig* out) {
  out->set_collection(c.collection);
  out->set_deletion_policy(ToProto(c.deletion_policy));
  if (c.soft_delete_ttl_secs) out->set_soft_delete_ttl_secs(*c.soft_delete_ttl_secs);
  if (c.tombstone_ttl_secs) out->set_tombstone_ttl_secs(*c.tombstone_ttl_secs);
}

Status ValidateDocKey(const std::string& collection, const std::string& doc_id) {
  PEAT_RETURN_IF_ERROR(ValidateIdentifier("collection", collection));
  return ValidateIdentifier("doc_id", doc_id);
}

// Writes also stay out of the collections the attachment layer owns (ATTACHMENTS.md §6): their
// documents are written by the sender and the targets of a distribution, never by clients.
Status ValidateWritableDocKey(const std::string& collection, const std::string& doc_id) {
  PEAT_RETURN_IF_ERROR(ValidateDocKey(collection, doc_id));
  if (attach::IsReservedAttachmentCollection(collection)) {
    return InvalidArgumentError("collection: `" + collection +
                                "` is reserved for attachment distribution (read-only for "
                                "clients; use the attachment RPCs)");
  }
  return Status::Ok();
}

}  // namespace

void RegisterDocumentService(rpc::MethodTable& table, store::DocumentStore& store,
                             boost::asio::thread_pool& blocking) {
  table.AddAsync<pb::PutDocumentRequest>(
      SidecarMethodPath("PutDocument"), MethodKind::kUnary,
      [&store](const std::shared_ptr<ServerCall>& call, const pb::PutDocumentRequest& req) {
        if (Status st = ValidateWritableDocKey(req.collection(), req.doc_id()); !st.ok()) {
          return call->Finish(st);
        }
        store.Put(req.collection(), req.doc_id(), req.json_data(),
                  ReplyWhenDone<pb::PutDocumentResponse>(call));
      });

  table.AddUnary<pb::GetDocumentRequest, pb::GetDocumentResponse>(
      SidecarMethodPath("GetDocument"),
      [&store](const pb::GetDocumentRequest& req, pb::GetDocumentResponse* resp) {
        PEAT_RETURN_IF_ERROR(ValidateDocKey(req.collection(), req.doc_id()));
        auto doc = store.Get(req.collection(), req.doc_id());
        if (!doc.ok()) return doc.status();
        if (*doc) resp->set_json_data(std::move(**doc));  // missing/deleted: json_data absent
        return Status::Ok();
      });

  table.AddAsync<pb::DeleteDocumentRequest>(
      SidecarMethodPath("DeleteDocument"), MethodKind::kUnary,
      [&store](const std::shared_ptr<ServerCall>& call, const pb::DeleteDocumentRequest& req) {
        if (Status st = ValidateWritableDocKey(req.collection(), req.doc_id()); !st.ok()) {
          return call->Finish(st);
        }
        store.Delete(req.collection(), req.doc_id(),
                     ReplyWhenDone<pb::DeleteDocumentResponse>(call));
      });

  table.AddAsync<pb::ListDocumentsRequest>(
      SidecarMethodPath("ListDocuments"), MethodKind::kUnary,
      [&store, &blocking](const std::shared_ptr<ServerCall>& call,
                          const pb::ListDocumentsRequest& req) {
        if (Status st = ValidateIdentifier("collection", req.collection()); !st.ok()) {
          return call->Finish(st);
        }
        boost::asio::post(blocking, [&store, call, collection = req.collection()] {
          auto ids = store.List(collection);
          if (!ids.ok()) return call->Finish(ids.status());
          auto resp = std::make_unique<pb::ListDocumentsResponse>();
          for (auto& id : *ids) resp->add_doc_ids(std::move(id));
          call->Reply(std::move(resp));
        });
      });

  table.AddAsync<pb::SetCollectionConfigRequest>(
      SidecarMethodPath("SetCollectionConfig"), MethodKind::kUnary,
      [&store](const std::shared_ptr<ServerCall>& call, const pb::SetCollectionConfigRequest& req) {
        if (!req.has_config()) return call->Finish(InvalidArgumentError("config is required"));
        const auto& c = req.config();
        if (Status st = ValidateIdentifier("config.collection", c.collection()); !st.ok()) {
          return call->Finish(st);
        }
        store::CollectionConfig config;
        config.collection = c.collection();
        config.deletion_policy = FromProto(c.deletion_policy());
        if (c.has_soft_delete_ttl_secs()) config.soft_delete_ttl_secs = c.soft_delete_ttl_secs();
        if (c.has_tombstone_ttl_secs()) config.tombstone_ttl_secs = c.tombstone_ttl_secs();
        store.SetCollectionConfig(std::move(config),
                                  ReplyWhenDone<pb::SetCollectionConfigResponse>(call));
      });

  table.AddUnary<pb::GetCollectionConfigRequest, pb::GetCollectionConfigResponse>(
      SidecarMethodPath("GetCollectionConfig"),
      [&store](const pb::GetCollectionConfigRequest& req, pb::GetCollectionConfigResponse* resp) {
        PEAT_RETURN_IF_ERROR(ValidateIdentifier("collection", req.collection()));
        auto config = store.GetCollectionConfig(req.collection());
        if (!config.ok()) return config.status();
        if (*config) ToProto(**config, resp->mutable_config());  // unconfigured: config absent
        return Status::Ok();
      });

  table.AddUnary<pb::ListCollectionConfigsRequest, pb::ListCollectionConfigsResponse>(
      SidecarMethodPath("ListCollectionConfigs"),
      [&store](const pb::ListCollectionConfigsRequest&, pb::ListCollectionConfigsResponse* resp) {
        auto configs = store.ListCollectionConfigs();
        if (!configs.ok()) return configs.status();
        for (const auto& c : *configs) ToProto(c, resp->add_configs());
        return Status::Ok();
      });
}

}  // namespace peat::service

#include "service/attachment_service.h"

#include "peat/sidecar/v1/sidecar.pb.h"
#include "service/sidecar_service.h"

namespace peat::service {

namespace pb = peat::sidecar::v1;
using rpc::MethodKind;
using rpc::ServerCall;

namespace {

// Bytes a bundle subscriber may have queued on its connection before it is ended (≈ 1,024
// frames of a few hundred bytes each).
constexpr size_t kMaxLagBytes = 256 * 1024;

Status Gate(const attach::AttachmentManager* manager, const std::string& unavailable,
            const char* rpc) {
  if (manager && manager->sending_enabled()) return Status::Ok();
  if (!unavailable.empty()) return FailedPreconditionError(unavailable);
  return UnimplementedError(std::string(rpc) + " requires --attachment-root to be configured");
}

attach::SendRequest FromProto(const pb::SendAttachmentsRequest& req) {
  attach::SendRequest out;
  for (const auto& f : req.files()) {
    attach::FileSpec spec;
    spec.root_name = f.root_name();
    spec.relative_path = f.relative_path();
    spec.size_bytes = f.size_bytes();
    spec.sha256 = f.sha256();
    if (f.has_content_type()) spec.content_type = f.content_type();
    if (f.has_display_name()) spec.display_name = f.display_name();
    out.files.push_back(std::move(spec));
  }
  if (req.has_scope()) {
    switch (req.scope().scope_case()) {
      case pb::DistributionScopeSpec::kAllNodes:
        out.scope = attach::ScopeKind::kAllNodes;
        break;
      case pb::DistributionScopeSpec::kNodeList:
        out.scope = attach::ScopeKind::kNodeList;
        out.node_ids.assign(req.scope().node_list().node_ids().begin(),
                            req.scope().node_list().node_ids().end());
        break;
      case pb::DistributionScopeSpec::kFormation:
        out.scope = attach::ScopeKind::kFormation;
        break;
      case pb::DistributionScopeSpec::kCapable:
        out.scope = attach::ScopeKind::kCapable;
        break;
      default:
        break;
    }
  }
  out.priority = static_cast<int>(req.priority());
  if (req.has_bundle_id()) out.bundle_id = req.bundle_id();
  return out;
}

pb::DistributionStatus ToProto(attach::TransferState s) {
  return static_cast<pb::DistributionStatus>(static_cast<int>(s));
}

void FillNode(const attach::NodeTransferView& n, pb::NodeTransferState* out) {
  out->set_node_id(n.node_id);
  out->set_status(ToProto(n.status));
  out->set_bytes_transferred(n.bytes_transferred);
}

// Streams one bundle's frames to a SubscribeAttachmentBundle call.
class CallSink : public attach::BundleSink {
 public:
  explicit CallSink(std::shared_ptr<ServerCall> call) : call_(std::move(call)) {}

  bool OnFrame(const attach::ProgressFrame& frame) override {
    if (ended_) return false;
    if (call_->PendingBytes() > kMaxLagBytes) {
      ended_ = true;
      call_->Finish(ResourceExhaustedError("subscriber lagged; resubscribe"));
      return false;
    }
    auto msg = std::make_unique<pb::AttachmentProgress>();
    msg->set_distribution_id(frame.view.distribution_id);
    msg->set_blob_token(frame.view.blob_token);
    msg->set_status(ToProto(frame.view.status));
    msg->set_bytes_transferred(frame.view.bytes_transferred);
    msg->set_bytes_total(frame.view.bytes_total);
    if (frame.changed_node) FillNode(*frame.changed_node, msg->mutable_changed_node());
    if (frame.view.error) msg->set_error(*frame.view.error);
    call_->Write(std::move(msg));
    return true;
  }
  void OnEnd(const Status& status) override {
    if (ended_) return;
    ended_ = true;
    call_->Finish(status);
  }

 private:
  std::shared_ptr<ServerCall> call_;
  bool ended_ = false;  // manager loop only
};

}  // namespace

void RegisterAttachmentService(rpc::MethodTable& table, attach::AttachmentManager* manager,
                               std::string unavailable) {
  table.AddAsync<pb::SendAttachmentsRequest>(
      SidecarMethodPath("SendAttachments"), MethodKind::kUnary,
      [manager, unavailable](const std::shared_ptr<ServerCall>& call,
                             const pb::SendAttachmentsRequest& req) {
        if (Status st = Gate(manager, unavailable, "SendAttachments"); !st.ok())
          return call->Finish(st);
        manager->Send(FromProto(req), [call](StatusOr<attach::SendResult> result) {
          if (!result.ok()) return call->Finish(result.status());
          auto resp = std::make_unique<pb::SendAttachmentsResponse>();
          resp->set_bundle_id(result->bundle_id);
          for (const auto& h : result->handles) {
            auto* out = resp->add_handles();
            out->set_file_index(h.file_index);
            out->set_blob_token(h.blob_token);
            out->set_distribution_id(h.distribution_id);
          }
          call->Reply(std::move(resp));
        });
      });

  table.AddAsync<pb::GetAttachmentDistributionRequest>(
      SidecarMethodPath("GetAttachmentDistribution"), MethodKind::kUnary,
      [manager, unavailable](const std::shared_ptr<ServerCall>& call,
                             const pb::GetAttachmentDistributionRequest& req) {
        if (Status st = Gate(manager, unavailable, "GetAttachmentDistribution"); !st.ok()) {
          return call->Finish(st);
        }
        manager->Get(req.distribution_id(), [call](StatusOr<attach::DistributionView> view) {
          if (!view.ok()) return call->Finish(view.status());
          auto resp = std::make_unique<pb::GetAttachmentDistributionResponse>();
          resp->set_status(ToProto(view->status));
          resp->set_bytes_transferred(view->bytes_transferred);
          resp->set_bytes_total(view->bytes_total);
          for (const auto& n : view->per_node) FillNode(n, resp->add_per_node());
          if (view->error) resp->set_error(*view->error);
          call->Reply(std::move(resp));
        });
      });

  table.AddAsync<pb::SubscribeAttachmentBundleRequest>(
      SidecarMethodPath("SubscribeAttachmentBundle"), MethodKind::kServerStreaming,
      [manager, unavailable](const std::shared_ptr<ServerCall>& call,
                             const pb::SubscribeAttachmentBundleRequest& req) {
        if (Status st = Gate(manager, unavailable, "SubscribeAttachmentBundle"); !st.ok()) {
          return call->Finish(st);
        }
        const uint64_t id = manager->Subscribe(req.bundle_id(), std::make_shared<CallSink>(call));
        call->SetCancelHook([manager, id] { manager->Unsubscribe(id); });
      });

  table.AddAsync<pb::CancelAttachmentDistributionRequest>(
      SidecarMethodPath("CancelAttachmentDistribution"), MethodKind::kUnary,
      [manager, unavailable](const std::shared_ptr<ServerCall>& call,
                             const pb::CancelAttachmentDistributionRequest& req) {
        if (Status st = Gate(manager, unavailable, "CancelAttachmentDistribution"); !st.ok()) {
          return call->Finish(st);
        }
        manager->Cancel(req.distribution_id(), [call](StatusOr<bool> cancelled) {
          if (!cancelled.ok()) return call->Finish(cancelled.status());
          auto resp = std::make_unique<pb::CancelAttachmentDistributionResponse>();
          resp->set_was_cancelled(*cancelled);
          call->Reply(std::move(resp));
        });
      });
}

}  // namespace peat::service

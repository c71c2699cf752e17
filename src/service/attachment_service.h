// The four attachment RPCs (SendAttachments, GetAttachmentDistribution,
// SubscribeAttachmentBundle, CancelAttachmentDistribution): each converts between the wire
// messages and attach::AttachmentManager. Without an attachment root (or with no manager at
// all) every one answers UNIMPLEMENTED "<Rpc> requires --attachment-root to be configured",
// before looking at the request (docs/spec/ATTACHMENTS.md §1).
// A bundle subscriber more than kMaxLagBytes behind on its connection is ended
// RESOURCE_EXHAUSTED "subscriber lagged; resubscribe" (§9): terminal frames are never dropped.
#pragma once

#include <cstddef>
#include <string>

#include "attach/attachment_manager.h"
#include "rpc/method_table.h"

namespace peat::service {

// `manager` may be null (attachments off); it must outlive the table. A non-empty `unavailable`
// (the blob store cannot open, e.g. under another --encryption-key) makes every attachment RPC
// answer FAILED_PRECONDITION with that text.
void RegisterAttachmentService(rpc::MethodTable& table, attach::AttachmentManager* manager,
                               std::string unavailable = "");

}  // namespace peat::service

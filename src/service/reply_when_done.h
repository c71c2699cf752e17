// ReplyWhenDone: a completion callback (Status) that answers an RPC whose response message is
// empty: the empty `Resp` on OK, the status otherwise. Used for store writes and mesh commands.
#pragma once

#include <functional>
#include <memory>

#include "common/status.h"
#include "rpc/server_call.h"

namespace peat::service {

template <typename Resp>
std::function<void(Status)> ReplyWhenDone(std::shared_ptr<rpc::ServerCall> call) {
  return [call = std::move(call)](Status st) {
    if (st.ok()) {
      call->Reply(std::make_unique<Resp>());
    } else {
      call->Finish(std::move(st));
    }
  };
}

}  // namespace peat::service

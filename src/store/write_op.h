// WriteOp: one queued store write — a variant of the per-operation structs (each carrying only
// its own fields, declared beside its applier: document_writes.h, config_writes.h,
// remote_merge.h, peer_state_writes.h) plus what every op has: a precheck result and `done`.
// GroupCommitWriter dispatches `op` to the matching Apply overload (std::visit); a new kind of
// write is a new struct + Apply, not a new field here.
//
// A value type; moved into the writer's queue, used on the writer thread.
#pragma once

#include <variant>

#include "common/status.h"
#include "store/config_writes.h"
#include "store/document_writes.h"
#include "store/peer_state_writes.h"
#include "store/remote_merge.h"
#include "store/write_done.h"

namespace peat::store {

struct WriteOp {
  using Op = std::variant<PutOp, MergePutOp, DeleteOp, ExpireOp, PurgeOp, SetConfigOp,
                          MergeRemoteOp, SavePeerOp, RemovePeerOp, SaveMemberAckOp, RemoveMemberOp>;

  WriteOp() = default;
  WriteOp(Op op, Status precheck, WriteDone done)
      : op(std::move(op)), precheck(std::move(precheck)), done(std::move(done)) {}

  Op op;
  Status precheck;  // non-OK: fail with it without touching the database
  WriteDone done;
};

}  // namespace peat::store

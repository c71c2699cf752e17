#include "store/peer_state_writes.h"

#include <vector>

namespace peat::store {
namespace {

std::string JoinAddresses(const std::vector<std::string>& addresses) {
  std::string out;
  for (const std::string& a : addresses) {
    if (!out.empty()) out.push_back('\n');
    out += a;
  }
  return out;
}

}  // namespace

OpResult Apply(SavePeerOp& op, WriteContext& ctx) {
  SqliteStatement& upsert = ctx.stmts.upsert_peer;
  upsert.BindText(1, op.peer.endpoint_id);
  upsert.BindText(2, JoinAddresses(op.peer.addresses));
  upsert.BindInt64(3, op.peer.is_static ? 1 : 0);
  return RunWrite(upsert, "write peer", ctx.group);
}

OpResult Apply(RemovePeerOp& op, WriteContext& ctx) {
  ctx.stmts.delete_peer.BindText(1, op.endpoint_id);
  return RunWrite(ctx.stmts.delete_peer, "remove peer", ctx.group);
}

OpResult Apply(SaveMemberAckOp& op, WriteContext& ctx) {
  SqliteStatement& upsert = ctx.stmts.upsert_member_ack;
  upsert.BindText(1, op.peer_id);
  upsert.BindInt64(2, static_cast<int64_t>(op.seq));
  return RunWrite(upsert, "write member ack", ctx.group);
}

OpResult Apply(RemoveMemberOp& op, WriteContext& ctx) {
  ctx.stmts.delete_member.BindText(1, op.peer_id);
  return RunWrite(ctx.stmts.delete_member, "remove member", ctx.group);
}

}  // namespace peat::store

// Peer state writes: the appliers of the PeerStateStore writes (peer registry and formation
// member acks). Plain row upserts/deletes; ids and addresses were validated before queueing.
//
// Writer thread only. Errors as OpResult (write_context.h): a statement failure is fatal.
#pragma once

#include <cstdint>
#include <string>

#include "store/peer_state_store.h"
#include "store/write_context.h"

namespace peat::store {

struct SavePeerOp {
  PeerRecord peer;
};

struct RemovePeerOp {
  std::string endpoint_id;
};

// Raises the member's acknowledged seq (never lowers it).
struct SaveMemberAckOp {
  std::string peer_id;
  uint64_t seq = 0;
};

struct RemoveMemberOp {
  std::string peer_id;
};

OpResult Apply(SavePeerOp& op, WriteContext& ctx);
OpResult Apply(RemovePeerOp& op, WriteContext& ctx);
OpResult Apply(SaveMemberAckOp& op, WriteContext& ctx);
OpResult Apply(RemoveMemberOp& op, WriteContext& ctx);

}  // namespace peat::store

// MemberAckTracker: the mesh's TombstoneAckTracker (LESSONS.md 11: purging a tombstone before
// an offline member saw the delete resurrects the document when it comes back).
//
// Members are the peers that ever completed a session with this node; for each, the position of
// our change feed it has acknowledged (persisted in the store's member_acks, loaded at start). A
// tombstone whose row has feed position `seq` may be purged once every member acknowledged
// `seq`: each then holds the delete (directly, or relays it onward before purging it itself).
// With no members every delete counts as acknowledged. DisconnectPeer removes a member. A member
// that never comes back holds purges until the store's upper bound (--tombstone-ttl-hours),
// which then purges anyway and counts it.
//
// Thread-safe (the store's writer asks; the mesh loop updates).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/status.h"
#include "store/peer_state_store.h"
#include "store/tombstone_ack_tracker.h"

namespace peat::mesh {

class MemberAckTracker : public store::TombstoneAckTracker {
 public:
  // Replaces the in-memory state with the store's persisted members.
  Status Load(store::PeerStateStore& store);

  bool AllMembersAcknowledged(const std::string& collection, const std::string& doc_id,
                              const crdt::Timestamp& delete_ts, uint64_t seq) override;

  // Makes `peer` a member (acknowledged 0 if new). True if it was not one.
  bool AddMember(const std::string& peer);
  // Raises a member's acknowledged position. True if it moved; false also for a non-member (a
  // late ack of a peer removed by DisconnectPeer does not bring it back).
  bool Acknowledge(const std::string& peer, uint64_t seq);
  void RemoveMember(const std::string& peer);

  std::map<std::string, uint64_t> members() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> acked_;
};

}  // namespace peat::mesh

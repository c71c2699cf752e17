#include "mesh/member_ack_tracker.h"

namespace peat::mesh {

Status MemberAckTracker::Load(store::PeerStateStore& store) {
  auto acks = store.ListMemberAcks();
  if (!acks.ok()) return acks.status();
  std::lock_guard lock(mu_);
  acked_.clear();
  for (auto& [peer, seq] : *acks) acked_[peer] = seq;
  return Status::Ok();
}

bool MemberAckTracker::AllMembersAcknowledged(const std::string&, const std::string&,
                                              const crdt::Timestamp&, uint64_t seq) {
  std::lock_guard lock(mu_);
  for (const auto& [peer, acked] : acked_) {
    if (acked < seq) return false;
  }
  return true;
}

bool MemberAckTracker::AddMember(const std::string& peer) {
  std::lock_guard lock(mu_);
  return acked_.try_emplace(peer, 0).second;
}

bool MemberAckTracker::Acknowledge(const std::string& peer, uint64_t seq) {
  std::lock_guard lock(mu_);
  auto it = acked_.find(peer);
  if (it == acked_.end() || seq <= it->second) return false;
  it->second = seq;
  return true;
}

void MemberAckTracker::RemoveMember(const std::string& peer) {
  std::lock_guard lock(mu_);
  acked_.erase(peer);
}

std::map<std::string, uint64_t> MemberAckTracker::members() const {
  std::lock_guard lock(mu_);
  return acked_;
}

}  // namespace peat::mesh

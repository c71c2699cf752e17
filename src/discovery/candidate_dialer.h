// CandidateDialer: turns PeerCandidates (peer_candidate.h) from any discovery source into
// PeerControl::ConnectPeer calls, with the skip rules every source shares, and counts both in
// peat_discovery_* metrics. Source-specific rules (mDNS: self and other formations by the TXT
// advert, mdns_txt.h) are applied by the source, which reports them through CountSkip.
//
// Skip rules, in order: the candidate is this node (`self`); a dial to it is in flight
// (`dialing`); its last dial failed less than the hold-off ago (`recent_failure`: a refused
// handshake holds it off for `refused_holdoff`, an unreachable address for `failure_holdoff`);
// it was dialed successfully less than `success_holdoff` ago (`recent_success`: the mesh owns
// the peer now and redials it itself); the mesh lists it as connected (`connected`). Otherwise it
// is dialed once through ConnectPeer, and the result is counted.
//
// Time through the injected Clock (the hold-offs are tested with a fake one). Thread-safe:
// Propose may be called from any thread; PeerControl callbacks run on the mesh thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/peer_control.h"
#include "discovery/peer_candidate.h"

namespace peat::discovery {

// peat_discovery_dials_total{source,result} and peat_discovery_skipped_total{source,reason}.
class DiscoveryMetrics {
 public:
  void CountDial(CandidateSource source, std::string_view result);
  void CountSkip(CandidateSource source, std::string_view reason);
  uint64_t dials(CandidateSource source, std::string_view result) const;
  uint64_t skips(CandidateSource source, std::string_view reason) const;
  // Both families (headers always, one sample per label set seen).
  void Append(std::string& out) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> dials_, skips_;
};

struct CandidateDialerOptions {
  std::string self_endpoint_id;
  Clock::Duration refused_holdoff = std::chrono::minutes(10);
  Clock::Duration failure_holdoff = std::chrono::seconds(30);
  Clock::Duration success_holdoff = std::chrono::seconds(30);
};

class CandidateDialer : public std::enable_shared_from_this<CandidateDialer> {
 public:
  // `peers` and `clock` must outlive every callback of the dialer (the node stops discovery
  // before the mesh).
  CandidateDialer(CandidateDialerOptions options, PeerControl& peers, Clock& clock,
                  DiscoveryMetrics& metrics);

  // Applies the skip rules and dials at most once per call. `done` (optional, tests) runs with
  // the skip reason or the dial result label once decided.
  void Propose(PeerCandidate candidate,
               std::function<void(std::string_view outcome)> done = nullptr);

  // The result label of a ConnectPeer status: "ok", "refused" (PERMISSION_DENIED: the formation
  // handshake said no), "unreachable" (UNAVAILABLE) or "error".
  static std::string_view ResultLabel(const Status& status);

 private:
  struct PeerState {
    bool dialing = false;
    std::optional<Clock::TimePoint> blocked_until;
    std::string_view blocked_reason;
  };
  // The reason `id` is skipped before asking the mesh, or "" (and marks it dialing). Locked.
  std::string_view PreCheck(const std::string& id);
  void Finish(const std::string& id, const Status& status);

  const CandidateDialerOptions options_;
  PeerControl& peers_;
  Clock& clock_;
  DiscoveryMetrics& metrics_;
  std::mutex mu_;
  std::map<std::string, PeerState> state_;  // by endpoint id; guarded by mu_
};

}  // namespace peat::discovery

// PeerCandidate: a peer some discovery source (mDNS on the LAN, Kubernetes EndpointSlices)
// proposes to dial. A candidate is only a proposal: the formation handshake still decides
// (docs/spec/BEHAVIOR.md), so nothing in it is trusted beyond "worth one dial".
//
// Shared by every source in src/discovery/ (mdns_*, k8s_*): each produces candidates and hands
// them to a CandidateSink; the node's sink (CandidateDialer, candidate_dialer.h) applies the shared
// skip rules and dials through PeerControl::ConnectPeer (common/peer_control.h). Pure value types,
// no I/O.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace peat::discovery {

// Where a candidate came from; also the `source` label of peat_discovery_* metrics.
enum class CandidateSource { kMdns, kKubernetes };

inline std::string_view SourceLabel(CandidateSource source) {
  return source == CandidateSource::kMdns ? "mdns" : "kubernetes";
}

struct PeerCandidate {
  std::string endpoint_id;             // 64 lowercase hex (common/endpoint_id.h)
  std::vector<std::string> addresses;  // "ip:port" (IPv6 as "[ip]:port"), most preferred first
  CandidateSource source = CandidateSource::kMdns;
};

// Receives candidates; called on the source's own thread, must not block.
using CandidateSink = std::function<void(PeerCandidate)>;

}  // namespace peat::discovery

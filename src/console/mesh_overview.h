// MeshOverviewJson: the body of GET /console/api/mesh, the figures the console shows that the
// wire contract has no RPC for: each peer's link (lag both ways, last contact, RTT, bytes) and
// the live documents per collection. Pure; the shape is documented in docs/CONSOLE.md:
//   {"node_id", "feed_seq", "peers": [{"endpoint_id", "addresses", "connected", "lag_changes",
//    "behind_changes", "last_contact_ms", "rtt_ms", "bytes_sent", "bytes_received"}],
//    "collections": [{"name", "documents"}]}
// Link fields are null for a peer that is not connected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/peer_control.h"
#include "store/document_store.h"

namespace peat::console {

std::string MeshOverviewJson(const std::string& node_id, uint64_t feed_seq,
                             const std::vector<PeerView>& peers,
                             const std::vector<store::CollectionCount>& collections);

}  // namespace peat::console

#include "console/mesh_overview.h"

#include <nlohmann/json.hpp>

namespace peat::console {

std::string MeshOverviewJson(const std::string& node_id, uint64_t feed_seq,
                             const std::vector<PeerView>& peers,
                             const std::vector<store::CollectionCount>& collections) {
  nlohmann::ordered_json out;
  out["node_id"] = node_id;
  out["feed_seq"] = feed_seq;
  out["peers"] = nlohmann::ordered_json::array();
  for (const PeerView& p : peers) {
    nlohmann::ordered_json j;
    j["endpoint_id"] = p.endpoint_id;
    j["addresses"] = p.addresses;
    j["connected"] = p.connected;
    const PeerLink* link = p.link ? &*p.link : nullptr;
    j["lag_changes"] = link ? nlohmann::ordered_json(link->unacked_changes) : nullptr;
    j["behind_changes"] = link ? nlohmann::ordered_json(link->unmerged_changes) : nullptr;
    j["last_contact_ms"] =
        link && link->last_contact_ms ? nlohmann::ordered_json(*link->last_contact_ms) : nullptr;
    j["rtt_ms"] = link && link->rtt_ms ? nlohmann::ordered_json(*link->rtt_ms) : nullptr;
    j["bytes_sent"] = link ? nlohmann::ordered_json(link->bytes_sent) : nullptr;
    j["bytes_received"] = link ? nlohmann::ordered_json(link->bytes_received) : nullptr;
    out["peers"].push_back(std::move(j));
  }
  out["collections"] = nlohmann::ordered_json::array();
  for (const auto& c : collections) {
    out["collections"].push_back({{"name", c.collection}, {"documents", c.documents}});
  }
  // Names and ids come from peers and users: invalid UTF-8 is replaced, never thrown on.
  return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace peat::console

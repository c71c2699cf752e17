// StatusSource: what the service layer needs to know about the running node to answer GetStatus.
// Implemented by the Node (composition root); must be thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace peat::service {

enum class NodePhase { kInitializing, kReady, kSyncing, kShuttingDown };

struct NodeStatusSnapshot {
  std::string node_id;
  std::string endpoint_id;  // 64 lowercase hex
  NodePhase phase = NodePhase::kInitializing;
  bool sync_active = false;
  uint32_t connected_peers = 0;
};

class StatusSource {
 public:
  virtual ~StatusSource() = default;
  virtual NodeStatusSnapshot Snapshot() const = 0;
};

}  // namespace peat::service

// AttachmentOptions: what the node tells the attachment layer (the --attachment-* flags of
// docs/CONFIGURATION.md, resolved, plus the node's identity). Value type.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "attach/send_validation.h"

namespace peat::attach {

struct AttachmentOptions {
  std::map<std::string, std::string> roots;  // name → path (validated and opened at Start)
  std::string inbox;                         // "" = this node receives nothing
  std::string registry_path;                 // <data-dir>/attachments.db
  AttachmentLimits limits;
  uint64_t max_concurrent_distributions = 4;
  bool queue_when_full = false;
  int default_priority = 3;
  std::chrono::seconds discovery_grace{30};
  std::chrono::seconds handle_retention{86400};  // 0 = never expire
  uint64_t max_known_bundles = 4096;
  std::chrono::seconds delivery_timeout{86400};  // 0 = no deadline
  std::chrono::seconds blob_retention{86400};
  std::chrono::seconds inbox_poll{1};  // receiver retry / rescan period
  bool outbox_watch = false;
  std::chrono::seconds outbox_poll{2};
  uint64_t max_active_fetches = 4;
  // This node.
  std::string endpoint_id;  // 64 hex
  std::string node_id;
};

}  // namespace peat::attach

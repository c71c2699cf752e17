// MeshCounters: node-wide mesh counters shared by the sessions and exported on /metrics
// (handshake failures by reason, frames and changes moved, bad frames).
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/metrics.h"

namespace peat::mesh {

class MeshCounters {
 public:
  // Reasons are short snake_case words (app_id_mismatch, bad_proof, identity_mismatch, protocol,
  // tls, timeout, ...): a small, bounded label set.
  void HandshakeFailed(std::string_view reason) {
    std::lock_guard lock(mu_);
    ++handshake_failures_[std::string(reason)];
  }
  std::map<std::string, uint64_t> handshake_failures() const {
    std::lock_guard lock(mu_);
    return handshake_failures_;
  }

  Counter sessions_established;
  Counter bad_frames;  // undecodable or out-of-protocol frames (connection closed)
  Counter batches_sent;
  Counter batches_received;
  Counter changes_sent;
  Counter changes_received;  // whole states (in batches and want replies)
  Counter offers_sent;       // relayed states offered by digest (relay once)
  Counter offers_received;
  Counter states_sent_ahead;     // relayed whole to tree children before our merge (cut-through)
  Counter states_wanted;         // offered states this node asked for (it lacked them)
  Counter checkpoints_deferred;  // batches acknowledged without a checkpoint write of their own
  Counter merge_failures;        // a batch the store could not commit (session restarted)
  Counter stalls;                // inbound streams restarted by the watchdog
  Counter dead_links;            // sessions ended because the peer fell silent (link_liveness.h)
  Counter blob_bad_frames;       // blob frames with a bad field (dropped; the session stays up)

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> handshake_failures_;
};

}  // namespace peat::mesh

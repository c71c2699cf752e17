// SessionOptions: the knobs of one replication session (batch sizes, credit window, liveness).
// Defaults are what the node runs with; tests shrink the timeouts.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "mesh/link_liveness.h"
#include "mesh/send_window.h"

namespace peat::mesh {

struct SessionOptions {
  // A ChangeBatch holds at most this many documents / this many bytes of state (the first
  // document of a batch is always sent, however large).
  size_t batch_max_entries = 512;
  size_t batch_max_bytes = 256 * 1024;
  // Unacknowledged batches a sender may have in flight (asked for by the receiver), counted apart
  // for the feed's batches and for relay-tree cut-through batches (SendAhead); the bytes in
  // flight are bounded by the send window (its max_batch_bytes is batch_max_bytes). 8: with 32
  // for both kinds together, B7a's goodput over a lossy 1 Mbit/s link fell below 0.5 × the link.
  uint32_t window_batches = 8;
  SendWindowOptions send_window;
  // Hello must arrive within this.
  std::chrono::milliseconds handshake_timeout{10'000};
  // Pings and the dead-link detector (link_liveness.h): a Ping after `ping_interval` of send
  // silence; a link silent (nothing received) for the adaptive bound is closed.
  LivenessOptions liveness;
  // Watchdog (LESSONS.md 1): connected, the peer's feed ahead of our checkpoint, nothing merged
  // and nothing being merged for this long → ask for the stream again from the checkpoint.
  std::chrono::milliseconds stall_timeout{30'000};
  // Relay once (protocol 3): states merged from a peer go to the other peers as offers (digest
  // only), fetched by those that lack them. false: every change is pushed whole (--mesh-relay
  // push), as protocol 2 did.
  bool relay_offers = true;
  // Relay trees (protocol 4, with relay_offers): a relayed state goes whole to a peer that named
  // us its parent toward the state's writer (mesh/relay_routes.h), offered to the others. false:
  // offers only (protocol 3's behaviour; the unit tests of the offer machinery use it).
  bool relay_trees = true;
};

}  // namespace peat::mesh

// SessionOptions: the knobs of one replication session (batch sizes, credit window, keepalive).
// Defaults are what the node runs with; tests shrink the timeouts.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "mesh/send_window.h"

namespace peat::mesh {

struct SessionOptions {
  // A ChangeBatch holds at most this many documents / this many bytes of state (the first
  // document of a batch is always sent, however large).
  size_t batch_max_entries = 512;
  size_t batch_max_bytes = 256 * 1024;
  // Unacknowledged batches a sender may have in flight (asked for by the receiver); the bytes in
  // flight are bounded by the send window (its max_batch_bytes is batch_max_bytes).
  uint32_t window_batches = 8;
  SendWindowOptions send_window;
  // Hello must arrive within this.
  std::chrono::milliseconds handshake_timeout{10'000};
  // A Ping goes out after this much send silence; a link silent (nothing received) for
  // `keepalive_timeout` is dead. Peers ping every interval, so a live link is never silent that
  // long; a dead one is noticed within interval + timeout < 30 s.
  std::chrono::milliseconds ping_interval{5'000};
  std::chrono::milliseconds keepalive_timeout{15'000};
  // Watchdog (LESSONS.md 1): connected, the peer's feed ahead of our checkpoint, nothing merged
  // and nothing being merged for this long → ask for the stream again from the checkpoint.
  std::chrono::milliseconds stall_timeout{30'000};
};

}  // namespace peat::mesh

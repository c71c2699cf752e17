// Backoff: jittered exponential delays for redialing a peer (BEHAVIOR.md "Auto-reconnect": from
// 1 s to 60 s with jitter, reset on success, forever). Each Next() doubles the base delay up to
// the maximum and returns a delay drawn uniformly from [base/2, base] ("equal jitter"), so a
// fleet that lost a link at the same moment does not redial in lockstep.
//
// Pure value type; not thread-safe (owned by the mesh loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace peat::mesh {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed);

  // The delay before the next attempt; grows until Reset().
  std::chrono::milliseconds Next();
  // After a success: the next delay starts from `initial` again.
  void Reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int attempts_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace peat::mesh

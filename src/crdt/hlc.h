// Hybrid logical clock (HLC) and register timestamps.
//
// An HLC value packs 48 bits of wall-clock milliseconds and a 16-bit logical counter into a
// uint64 (ms << 16 | logical), so comparing the integers compares the clocks. A Timestamp adds
// the writer's 64-bit node tag (derived from its endpoint id) to break ties, so every replica
// orders any two writes the same way. HlcClock is not thread-safe (the store's writer owns one).
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace peat::crdt {

struct Timestamp {
  uint64_t hlc = 0;       // (wall ms << 16) | logical
  uint64_t node_tag = 0;  // writer identity; 0 only in the zero timestamp

  bool IsZero() const { return hlc == 0 && node_tag == 0; }
  uint64_t wall_ms() const { return hlc >> 16; }
  friend auto operator<=>(const Timestamp&, const Timestamp&) = default;
};

class HlcClock {
 public:
  // `now_ms` supplies wall-clock milliseconds (injectable for tests); `max_skew_ms` bounds how far
  // a remote clock may pull ours ahead of wall time.
  HlcClock(uint64_t node_tag, std::function<uint64_t()> now_ms, uint64_t max_skew_ms = 60'000);

  // A new timestamp, strictly greater than every timestamp issued or observed so far.
  Timestamp Now();
  // Advances the clock past a remote timestamp. A remote clock more than max_skew_ms ahead of our
  // wall clock is clamped (we advance only to wall + max_skew) and counted; returns false then.
  bool Observe(const Timestamp& remote);
  // Restores the clock after a restart (persisted last value) so it never goes backwards.
  void Restore(uint64_t hlc);
  uint64_t last() const { return last_; }
  uint64_t clamped_count() const { return clamped_; }

 private:
  uint64_t node_tag_;
  std::function<uint64_t()> now_ms_;
  uint64_t max_skew_ms_;
  uint64_t last_ = 0;
  uint64_t clamped_ = 0;
};

}  // namespace peat::crdt

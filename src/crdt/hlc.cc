#include "crdt/hlc.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace peat::crdt {
namespace {

constexpr uint64_t kMaxWallMs = (uint64_t{1} << 48) - 1;

// The HLC value at the start of wall-clock millisecond `ms` (logical counter 0).
uint64_t AtMs(uint64_t ms) { return std::min(ms, kMaxWallMs) << 16; }

}  // namespace

HlcClock::HlcClock(uint64_t node_tag, std::function<uint64_t()> now_ms, uint64_t max_skew_ms)
    : node_tag_(node_tag), now_ms_(std::move(now_ms)), max_skew_ms_(max_skew_ms) {}

Timestamp HlcClock::Now() {
  const uint64_t wall = AtMs(now_ms_());
  if (wall > last_) {
    last_ = wall;
  } else if (last_ != std::numeric_limits<uint64_t>::max()) {
    // Same or earlier millisecond: bump the logical counter. A full counter carries into the
    // millisecond bits by plain integer addition, so the clock still moves strictly forward.
    ++last_;
  }
  return Timestamp{last_, node_tag_};
}

bool HlcClock::Observe(const Timestamp& remote) {
  const uint64_t wall_ms = std::min(now_ms_(), kMaxWallMs);
  const uint64_t limit_ms = std::min(wall_ms + std::min(max_skew_ms_, kMaxWallMs), kMaxWallMs);
  if (remote.wall_ms() > limit_ms) {
    ++clamped_;
    last_ = std::max(last_, AtMs(limit_ms));
    return false;
  }
  last_ = std::max(last_, remote.hlc);
  return true;
}

void HlcClock::Restore(uint64_t hlc) { last_ = std::max(last_, hlc); }

}  // namespace peat::crdt

#include "mesh/backoff.h"

#include <algorithm>

namespace peat::mesh {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : initial_(initial), max_(std::max(initial, max)), rng_(seed) {}

std::chrono::milliseconds Backoff::Next() {
  int64_t base = initial_.count();
  for (int i = 0; i < attempts_ && base < max_.count(); ++i) base *= 2;
  base = std::min<int64_t>(base, max_.count());
  if (attempts_ < 64) ++attempts_;
  std::uniform_int_distribution<int64_t> jitter(base / 2, base);
  return std::chrono::milliseconds(jitter(rng_));
}

}  // namespace peat::mesh

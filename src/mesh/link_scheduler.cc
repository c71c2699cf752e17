#include "mesh/link_scheduler.h"

#include <algorithm>

#include "mesh/blob_frames.h"

namespace peat::mesh {

std::vector<SendUnit> LinkScheduler::Order(const std::vector<SendUnit>& ready) {
  std::vector<SendUnit> order;
  for (const auto& u : ready) {
    if (std::find(order.begin(), order.end(), u) == order.end()) order.push_back(u);
  }
  std::sort(order.begin(), order.end(),
            [](const SendUnit& a, const SendUnit& b) { return a.Before(b); });
  // Forget waits of units that no longer have data.
  std::erase_if(waiting_since_, [&order](const auto& w) {
    return std::none_of(order.begin(), order.end(),
                        [&w](const SendUnit& u) { return Key(u) == w.first; });
  });
  if (waiting_since_.empty()) consecutive_above_ = 0;
  last_ready_ = order;
  if (consecutive_above_ >= kStarvationLimit && order.size() > 1) {
    // One unit of the longest-waiting class first.
    auto oldest = std::min_element(
        order.begin() + 1, order.end(), [this](const SendUnit& a, const SendUnit& b) {
          auto wa = waiting_since_.find(Key(a));
          auto wb = waiting_since_.find(Key(b));
          const uint64_t ta = wa == waiting_since_.end() ? UINT64_MAX : wa->second;
          const uint64_t tb = wb == waiting_since_.end() ? UINT64_MAX : wb->second;
          return ta < tb;
        });
    if (waiting_since_.count(Key(*oldest))) std::rotate(order.begin(), oldest, oldest + 1);
  }
  return order;
}

void LinkScheduler::OnSent(const SendUnit& unit) {
  ++tick_;
  bool lower_waits = false;
  bool higher_waits = false;
  for (const auto& u : last_ready_) {
    if (u == unit) continue;
    waiting_since_.try_emplace(Key(u), tick_);
    (unit.Before(u) ? lower_waits : higher_waits) = true;
  }
  waiting_since_.erase(Key(unit));
  // A unit sent while a higher one had data was the anti-starvation pick (or the higher one had
  // no room): the debt is paid.
  if (higher_waits || !lower_waits) {
    consecutive_above_ = 0;
  } else {
    ++consecutive_above_;
  }
}

size_t LinkScheduler::PieceBytes(size_t window_bytes) {
  return std::clamp(window_bytes / 4, kMinBlobPieceBytes, kMaxBlobPieceBytes);
}

}  // namespace peat::mesh

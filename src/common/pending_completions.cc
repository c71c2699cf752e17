#include "common/pending_completions.h"

#include <utility>

namespace peat {

std::function<void(Status)> PendingCompletions::Track(std::function<void(Status)> fn) {
  {
    std::lock_guard lock(mu_);
    ++pending_;
  }
  return [this, fn = std::move(fn)](Status st) {
    fn(std::move(st));
    std::lock_guard lock(mu_);
    if (--pending_ == 0) idle_.notify_all();
  };
}

void PendingCompletions::WaitIdle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return pending_ == 0; });
}

uint64_t PendingCompletions::pending() const {
  std::lock_guard lock(mu_);
  return pending_;
}

}  // namespace peat

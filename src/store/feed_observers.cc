#include "store/feed_observers.h"

#include <utility>

namespace peat::store {

uint64_t FeedObservers::Add(FeedObserver observer) {
  std::lock_guard lock(mu_);
  const uint64_t id = next_id_++;
  observers_.emplace(id, std::move(observer));
  return id;
}

void FeedObservers::Remove(uint64_t id) {
  FeedObserver removed;  // destroyed outside the lock
  std::lock_guard lock(mu_);
  auto it = observers_.find(id);
  if (it == observers_.end()) return;
  removed = std::move(it->second);
  observers_.erase(it);
}

void FeedObservers::Notify(uint64_t last_seq) {
  std::lock_guard lock(mu_);
  for (auto& [id, observer] : observers_) observer(last_seq);
}

}  // namespace peat::store

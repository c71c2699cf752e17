#include "store/listener_registry.h"

#include <algorithm>

namespace peat::store {

uint64_t ListenerRegistry::Add(std::shared_ptr<ChangeListener> listener) {
  std::lock_guard lock(mu_);
  auto slot = std::make_shared<Slot>();
  slot->id = next_id_++;
  slot->listener = std::move(listener);
  slots_.push_back(slot);
  return slot->id;
}

void ListenerRegistry::Remove(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(slots_.begin(), slots_.end(), [&](const auto& s) { return s->id == id; });
  if (it == slots_.end()) return;
  (*it)->active.store(false);
  slots_.erase(it);
}

void ListenerRegistry::Dispatch(const std::vector<ChangeEvent>& events) {
  if (events.empty()) return;
  std::lock_guard lock(mu_);
  // Recorded under the lock, so a listener that registers afterwards and reads it knows that no
  // event at or below it is still on its way.
  dispatched_seq_.store(std::max(dispatched_seq_.load(), events.back().seq),
                        std::memory_order_release);
  if (slots_.empty()) return;
  // A snapshot, so listeners may add/remove listeners while we iterate.
  const std::vector<std::shared_ptr<Slot>> snapshot = slots_;
  for (const ChangeEvent& e : events) {
    for (const auto& slot : snapshot) {
      if (slot->active.load()) slot->listener->OnChange(e);
    }
  }
}

void ListenerRegistry::PublishAndDispatch(const std::function<void(bool has_listeners)>& publish,
                                          const std::vector<ChangeEvent>& events) {
  std::lock_guard lock(mu_);  // recursive: Dispatch takes it again
  publish(!slots_.empty());
  Dispatch(events);
}

size_t ListenerRegistry::size() const {
  std::lock_guard lock(mu_);
  return slots_.size();
}

}  // namespace peat::store

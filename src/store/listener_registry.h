// ListenerRegistry: the store's change listeners and their dispatch.
//
// Dispatch runs on the writer thread with the registry lock held (a recursive mutex), so once
// Remove() returns on another thread the listener is never called again; a listener may call
// Add()/Remove() from inside OnChange (the same thread re-enters the lock; a listener removed
// mid-dispatch is skipped for the rest of it). Listeners must not block.
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "store/document_store.h"

namespace peat::store {

class ListenerRegistry {
 public:
  uint64_t Add(std::shared_ptr<ChangeListener> listener);
  void Remove(uint64_t id);
  // Calls every registered listener with every event, events in order.
  void Dispatch(const std::vector<ChangeEvent>& events);
  // The writer's publish step and dispatch as one, under the registry lock: first
  // `publish(has_listeners)` (has_listeners false: nobody will read the events, so their
  // contents may be moved away), then Dispatch(events). A listener registered before this call
  // gets every event, and finds their states published; one registered after it reads a
  // dispatched_seq() that covers them.
  void PublishAndDispatch(const std::function<void(bool has_listeners)>& publish,
                          const std::vector<ChangeEvent>& events);
  size_t size() const;
  // Largest event seq dispatched so far (see DocumentStore::NotifiedSeq).
  uint64_t dispatched_seq() const { return dispatched_seq_.load(std::memory_order_acquire); }

 private:
  struct Slot {
    uint64_t id;
    std::shared_ptr<ChangeListener> listener;
    std::atomic<bool> active{true};
  };
  mutable std::recursive_mutex mu_;
  std::vector<std::shared_ptr<Slot>> slots_;
  uint64_t next_id_ = 1;
  std::atomic<uint64_t> dispatched_seq_{0};
};

}  // namespace peat::store

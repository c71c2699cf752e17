// FeedObservers: the registered ReplicationLog feed observers and their notification.
//
// Notify runs on the writer thread (once per committed group that advanced the feed) with the
// registry lock held, so once Remove() returns on another thread the observer is never called
// again. An observer must not block and must not call Add()/Remove() (the lock is not
// recursive). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

#include "store/replication_log.h"

namespace peat::store {

class FeedObservers {
 public:
  uint64_t Add(FeedObserver observer);
  void Remove(uint64_t id);
  // Calls every observer with `last_seq`, in registration order.
  void Notify(uint64_t last_seq);

 private:
  std::mutex mu_;
  std::map<uint64_t, FeedObserver> observers_;
  uint64_t next_id_ = 1;
};

}  // namespace peat::store

// PendingCompletions: counts completions handed to another thread that have not run yet, so their
// owner can wait for every one of them before it destroys what they touch. The typical use: a
// component gives the store a write completion that posts back onto the component's io_context;
// the store runs it on its writer thread, possibly after the component's loop ran its last
// handler. Stop() calls WaitIdle() before the io_context goes away, so no completion posts to a
// destroyed loop.
//
// Track(fn) returns a completion that runs `fn` and then counts itself done. Every completion
// Track returns must run exactly once (the store's WriteDone contract), or WaitIdle never returns.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

#include "common/status.h"

namespace peat {

class PendingCompletions {
 public:
  std::function<void(Status)> Track(std::function<void(Status)> fn);
  // Blocks until every tracked completion has run.
  void WaitIdle();
  uint64_t pending() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable idle_;
  uint64_t pending_ = 0;
};

}  // namespace peat

// StreamRegistry: the server-streaming calls in progress, so a draining server can end each one
// cleanly. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>

#include "common/metrics.h"

namespace peat::rpc {

class ServerCall;

class StreamRegistry {
 public:
  explicit StreamRegistry(Gauge* open_streams) : open_streams_(open_streams) {}
  void Add(const std::shared_ptr<ServerCall>& call);
  void Remove(const ServerCall* call);
  // Ends every registered stream with OK (each on its own executor) and refuses new ones.
  void EndAll();
  bool draining() const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<const ServerCall*, std::weak_ptr<ServerCall>> calls_;
  bool draining_ = false;
  Gauge* open_streams_;
};

}  // namespace peat::rpc

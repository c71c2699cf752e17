// grpc.health.v1.Health: Check and Watch over the node's serving state.
//
// HealthState holds the serving status of "" (the whole server) and of each registered service
// name. Watch streams the current status at once and every change after it; when the server
// drains, watchers see NOT_SERVING and then their stream ends cleanly. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "rpc/method_table.h"

namespace peat::service {

enum class ServingStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

class HealthState {
 public:
  // Sets the status of `service` ("" = overall) and notifies its watchers.
  void Set(const std::string& service, ServingStatus status);
  // nullopt-like kServiceUnknown when the service was never registered.
  ServingStatus Get(const std::string& service) const;

  using Watcher = std::function<void(ServingStatus)>;
  // Calls `w` with the current status now and on every change; returns an id for Unwatch.
  uint64_t Watch(const std::string& service, Watcher w);
  void Unwatch(uint64_t id);

 private:
  mutable std::mutex mu_;
  std::map<std::string, ServingStatus> status_;
  struct Entry {
    std::string service;
    Watcher fn;
  };
  std::map<uint64_t, Entry> watchers_;
  uint64_t next_id_ = 1;
};

// `state` must outlive the table.
void RegisterHealthService(rpc::MethodTable& table, HealthState& state);

}  // namespace peat::service

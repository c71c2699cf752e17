#include "rpc/stream_registry.h"

#include <boost/asio/dispatch.hpp>
#include <vector>

#include "rpc/server_call.h"

namespace peat::rpc {

void StreamRegistry::Add(const std::shared_ptr<ServerCall>& call) {
  bool draining;
  {
    std::lock_guard lock(mu_);
    draining = draining_;
    if (!draining) {
      calls_.emplace(call.get(), call);
      open_streams_->Add(1);
    }
  }
  // A stream that starts while the server drains ends at once, cleanly.
  if (draining) call->Terminate(Status::Ok());
}

void StreamRegistry::Remove(const ServerCall* call) {
  std::lock_guard lock(mu_);
  if (calls_.erase(call)) open_streams_->Add(-1);
}

void StreamRegistry::EndAll() {
  std::vector<std::shared_ptr<ServerCall>> live;
  {
    std::lock_guard lock(mu_);
    draining_ = true;
    for (auto& [ptr, weak] : calls_) {
      if (auto call = weak.lock()) live.push_back(std::move(call));
    }
  }
  for (auto& call : live) {
    auto executor = call->executor();
    boost::asio::dispatch(executor, [call = std::move(call)] { call->Terminate(Status::Ok()); });
  }
}

bool StreamRegistry::draining() const {
  std::lock_guard lock(mu_);
  return draining_;
}

size_t StreamRegistry::size() const {
  std::lock_guard lock(mu_);
  return calls_.size();
}

}  // namespace peat::rpc

#include "service/health_service.h"

#include <vector>

#include "grpc/health/v1/health.pb.h"

namespace peat::service {

namespace hpb = grpc::health::v1;

void HealthState::Set(const std::string& service, ServingStatus status) {
  std::vector<Watcher> notify;
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] = status_.try_emplace(service, status);
    if (!inserted && it->second == status) return;  // unchanged: watchers already know
    it->second = status;
    for (auto& [id, e] : watchers_) {
      if (e.service == service) notify.push_back(e.fn);
    }
  }
  for (auto& fn : notify) fn(status);
}

ServingStatus HealthState::Get(const std::string& service) const {
  std::lock_guard lock(mu_);
  auto it = status_.find(service);
  return it == status_.end() ? ServingStatus::kServiceUnknown : it->second;
}

uint64_t HealthState::Watch(const std::string& service, Watcher w) {
  ServingStatus current;
  uint64_t id;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    auto it = status_.find(service);
    current = it == status_.end() ? ServingStatus::kServiceUnknown : it->second;
    watchers_.emplace(id, Entry{service, w});
  }
  w(current);
  return id;
}

void HealthState::Unwatch(uint64_t id) {
  std::lock_guard lock(mu_);
  watchers_.erase(id);
}

namespace {
std::unique_ptr<hpb::HealthCheckResponse> Response(ServingStatus s) {
  auto r = std::make_unique<hpb::HealthCheckResponse>();
  r->set_status(static_cast<hpb::HealthCheckResponse::ServingStatus>(static_cast<int>(s)));
  return r;
}
}  // namespace

void RegisterHealthService(rpc::MethodTable& table, HealthState& state) {
  table.AddUnary<hpb::HealthCheckRequest, hpb::HealthCheckResponse>(
      "/grpc.health.v1.Health/Check",
      [&state](const hpb::HealthCheckRequest& req, hpb::HealthCheckResponse* resp) {
        ServingStatus s = state.Get(req.service());
        if (s == ServingStatus::kServiceUnknown) {
          return NotFoundError("unknown service \"" + req.service() + "\"");
        }
        resp->set_status(static_cast<hpb::HealthCheckResponse::ServingStatus>(static_cast<int>(s)));
        return Status::Ok();
      });

  table.AddAsync<hpb::HealthCheckRequest>(
      "/grpc.health.v1.Health/Watch", rpc::MethodKind::kServerStreaming,
      [&state](const std::shared_ptr<rpc::ServerCall>& call, const hpb::HealthCheckRequest& req) {
        // The watcher owns the call until the stream ends (deadline, client gone, drain); the
        // cancel hook then unregisters it, which releases the call.
        uint64_t id =
            state.Watch(req.service(), [call](ServingStatus s) { call->Write(Response(s)); });
        call->SetCancelHook([&state, id] { state.Unwatch(id); });
      });
}

}  // namespace peat::service

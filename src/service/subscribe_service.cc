#include "service/subscribe_service.h"

#include "common/identifier.h"
#include "peat/sidecar/v1/sidecar.pb.h"
#include "service/sidecar_service.h"

namespace peat::service {

namespace pb = peat::sidecar::v1;

void RegisterSubscribeService(rpc::MethodTable& table, store::DocumentStore& store,
                              boost::asio::thread_pool& blocking, SubscriberMetrics* metrics,
                              SubscriberLimits limits) {
  table.AddAsync<pb::SubscribeRequest>(
      SidecarMethodPath("Subscribe"), rpc::MethodKind::kServerStreaming,
      [&store, &blocking, metrics, limits](const std::shared_ptr<rpc::ServerCall>& call,
                                           const pb::SubscribeRequest& req) {
        std::set<std::string> collections;
        for (const auto& c : req.collections()) {
          if (Status st = ValidateIdentifier("collections[]", c); !st.ok()) {
            return call->Finish(st);
          }
          collections.insert(c);
        }
        auto filter = SubscriptionFilter::MatchAll();
        if (req.has_query()) {
          auto compiled = SubscriptionFilter::Compile(req.query());
          if (!compiled.ok()) return call->Finish(compiled.status());
          filter = std::move(*compiled);
        }
        auto subscriber = std::make_shared<Subscriber>(call, store, std::move(collections),
                                                       std::move(filter), limits, metrics);
        subscriber->Start(blocking);
      });
}

}  // namespace peat::service

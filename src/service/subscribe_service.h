// The Subscribe RPC (server stream of DocumentChange): validates the request and starts a
// Subscriber (subscriber.h) for it.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include "rpc/method_table.h"
#include "service/subscriber.h"
#include "store/document_store.h"

namespace peat::service {

// `store`, `blocking` and `metrics` (may be null) must outlive the table.
void RegisterSubscribeService(rpc::MethodTable& table, store::DocumentStore& store,
                              boost::asio::thread_pool& blocking, SubscriberMetrics* metrics,
                              SubscriberLimits limits = {});

}  // namespace peat::service

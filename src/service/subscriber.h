// Subscriber: one Subscribe stream. Registers as a store ChangeListener, sends the snapshot (one
// UPSERT per matching live document), then live changes, with no gap between the two.
//
// Delivery rules (BEHAVIOR.md "Change streams"): every committed change produces an event;
// DELETE events pass every filter; per document, events arrive in commit order; a subscriber that
// cannot keep up has its pending events coalesced per document (latest state wins), and if more
// than `max_pending_docs` distinct documents are waiting, its stream ends with
// RESOURCE_EXHAUSTED ("subscriber lagged; resubscribe"), never a silent drop.
//
// Threading: OnChange runs on the store's writer thread and only queues; sending runs on the
// call's executor; the snapshot scan runs on a blocking-pool thread. Internal state is guarded
// by one mutex, which is never held while calling into the store (the writer thread holds the
// store's listener lock when it calls OnChange).
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "common/metrics.h"
#include "rpc/server_call.h"
#include "service/subscription_query.h"
#include "store/document_store.h"

namespace peat::service {

struct SubscriberLimits {
  size_t max_pending_docs = 10'000;       // distinct documents waiting before "lagged"
  size_t transport_high_water = 1 << 20;  // bytes queued in the connection before pausing
  size_t max_events_per_turn = 256;       // then yield the connection thread
  // A snapshot whose client reads nothing for this long ends as lagged (it holds a pool thread).
  std::chrono::milliseconds snapshot_stall_limit{30'000};
};

// Shared by every subscriber of a node; exported on /metrics.
struct SubscriberMetrics {
  Gauge active;         // Subscribe streams in progress
  Counter events_sent;  // DocumentChange messages written
  Counter coalesced;    // live events replaced by a newer state of the same document
  Counter lagged;       // streams ended with RESOURCE_EXHAUSTED
};

class Subscriber : public store::ChangeListener, public std::enable_shared_from_this<Subscriber> {
 public:
  Subscriber(std::shared_ptr<rpc::ServerCall> call, store::DocumentStore& store,
             std::set<std::string> collections, SubscriptionFilter filter, SubscriberLimits limits,
             SubscriberMetrics* metrics);
  ~Subscriber() override;

  // Registers with the store, then scans the snapshot on `blocking`.
  void Start(boost::asio::thread_pool& blocking);
  void OnChange(const store::ChangeEvent& event) override;

 private:
  struct Pending {
    store::ChangeEvent event;
    std::list<std::string>::iterator order;
  };
  static std::string Key(const std::string& collection, const std::string& doc_id);
  bool Wants(const std::string& collection) const;
  void RunSnapshot();
  void ScheduleDrain();  // caller holds mu_
  void Drain();
  void Send(const store::ChangeEvent& event);
  void Stop();

  std::shared_ptr<rpc::ServerCall> call_;
  store::DocumentStore& store_;
  const std::set<std::string> collections_;  // empty = all
  const SubscriptionFilter filter_;
  const SubscriberLimits limits_;
  SubscriberMetrics* metrics_;  // may be null
  boost::asio::steady_timer retry_timer_;

  std::mutex mu_;
  std::unordered_map<std::string, Pending> pending_;  // key → latest event for that document
  std::list<std::string> order_;                      // keys in first-arrival order
  bool snapshot_done_ = false;
  bool drain_scheduled_ = false;
  bool lagged_ = false;
  // Highest seq the listener has delivered (starts at the store's NotifiedSeq at registration).
  uint64_t listener_seq_ = 0;
  // Documents the snapshot sent at a seq the listener had not delivered yet: their older events
  // are still on the way and must be dropped (never an older state after a newer one).
  std::unordered_map<std::string, uint64_t> snapshot_guard_;
  bool stopped_ = false;
  uint64_t listener_id_ = 0;
};

}  // namespace peat::service

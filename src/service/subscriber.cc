#include "service/subscriber.h"

#include <boost/asio/post.hpp>
#include <chrono>
#include <thread>

#include "peat/sidecar/v1/sidecar.pb.h"

namespace peat::service {

namespace pb = peat::sidecar::v1;

Subscriber::Subscriber(std::shared_ptr<rpc::ServerCall> call, store::DocumentStore& store,
                       std::set<std::string> collections, SubscriptionFilter filter,
                       SubscriberLimits limits, SubscriberMetrics* metrics)
    : call_(std::move(call)),
      store_(store),
      collections_(std::move(collections)),
      filter_(std::move(filter)),
      limits_(limits),
      metrics_(metrics),
      retry_timer_(call_->executor()) {
  if (metrics_) metrics_->active.Add(1);
}

Subscriber::~Subscriber() {
  if (metrics_) metrics_->active.Add(-1);
}

std::string Subscriber::Key(const std::string& collection, const std::string& doc_id) {
  std::string k;
  k.reserve(collection.size() + doc_id.size() + 1);
  k.append(collection).push_back('\0');
  k.append(doc_id);
  return k;
}

bool Subscriber::Wants(const std::string& collection) const {
  return collections_.empty() || collections_.count(collection) > 0;
}

void Subscriber::Start(boost::asio::thread_pool& blocking) {
  // Register first, then read: a change committed after this point is either in the snapshot or
  // in pending_ (or both), never in neither.
  listener_id_ = store_.AddListener(shared_from_this());
  {
    std::lock_guard lock(mu_);
    listener_seq_ = std::max(listener_seq_, store_.NotifiedSeq());
  }
  std::weak_ptr<Subscriber> weak = weak_from_this();
  call_->SetCancelHook([weak] {
    if (auto self = weak.lock()) self->Stop();
  });
  boost::asio::post(blocking, [self = shared_from_this()] { self->RunSnapshot(); });
}

void Subscriber::OnChange(const store::ChangeEvent& event) {
  std::lock_guard lock(mu_);
  listener_seq_ = std::max(listener_seq_, event.seq);
  if (!Wants(event.collection) || stopped_ || lagged_) return;
  std::string key = Key(event.collection, event.doc_id);
  if (!snapshot_guard_.empty()) {
    auto guard = snapshot_guard_.find(key);
    bool older = guard != snapshot_guard_.end() && event.seq <= guard->second;
    std::erase_if(snapshot_guard_, [this](const auto& g) { return g.second <= listener_seq_; });
    if (older) return;  // the snapshot already sent this document's newer state
  }
  auto it = pending_.find(key);
  if (it != pending_.end()) {
    it->second.event = event;  // coalesce: the latest state of the document wins
    if (metrics_) metrics_->coalesced.Inc();
  } else {
    if (pending_.size() >= limits_.max_pending_docs) {
      lagged_ = true;
      if (metrics_) metrics_->lagged.Inc();
      pending_.clear();
      order_.clear();
      ScheduleDrain();
      return;
    }
    order_.push_back(key);
    pending_.emplace(key, Pending{event, std::prev(order_.end())});
  }
  if (snapshot_done_) ScheduleDrain();
}

void Subscriber::RunSnapshot() {
  Status st = store_.Scan(
      std::vector<std::string>(collections_.begin(), collections_.end()),
      [this](const store::ChangeEvent& event) {
        if (call_->IsDone()) return false;
        {
          std::lock_guard lock(mu_);
          if (event.seq > listener_seq_) {
            snapshot_guard_[Key(event.collection, event.doc_id)] = event.seq;
          }
          auto it = pending_.find(Key(event.collection, event.doc_id));
          if (it != pending_.end()) {
            // A live event for this document is already queued. If it is not newer than what
            // we just read, the snapshot carries it: drop the queued one. If it is newer, skip
            // the snapshot copy and let the queued (newer) state go out in order.
            if (it->second.event.seq <= event.seq) {
              order_.erase(it->second.order);
              pending_.erase(it);
            } else {
              return true;
            }
          }
        }
        // Backpressure: let the connection drain before queueing more of a large snapshot. A
        // client that reads nothing for snapshot_stall_limit is treated as lagged.
        auto stalled_since = std::chrono::steady_clock::now();
        while (call_->PendingBytes() > limits_.transport_high_water && !call_->IsDone()) {
          if (std::chrono::steady_clock::now() - stalled_since > limits_.snapshot_stall_limit) {
            std::lock_guard lock(mu_);
            lagged_ = true;
            return false;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        Send(event);
        return true;
      });
  if (!st.ok()) {
    Stop();
    call_->Finish(st);
    return;
  }
  std::lock_guard lock(mu_);
  snapshot_done_ = true;
  ScheduleDrain();
}

void Subscriber::ScheduleDrain() {
  if (drain_scheduled_ || stopped_) return;
  drain_scheduled_ = true;
  boost::asio::post(call_->executor(), [self = shared_from_this()] { self->Drain(); });
}

void Subscriber::Drain() {
  size_t sent = 0;
  for (;;) {
    if (call_->IsDone()) return Stop();
    store::ChangeEvent event;
    {
      std::unique_lock lock(mu_);
      if (lagged_) {
        drain_scheduled_ = false;
        lock.unlock();
        Stop();  // store calls never happen under mu_ (the writer holds its lock into OnChange)
        call_->Finish(ResourceExhaustedError("subscriber lagged; resubscribe"));
        return;
      }
      if (order_.empty()) {
        drain_scheduled_ = false;
        return;
      }
      if (call_->PendingBytes() > limits_.transport_high_water ||
          sent >= limits_.max_events_per_turn) {
        // Give the connection (and others on this thread) a turn, then continue. Pending
        // events keep coalescing meanwhile.
        auto delay = sent >= limits_.max_events_per_turn ? std::chrono::milliseconds(0)
                                                         : std::chrono::milliseconds(5);
        retry_timer_.expires_after(delay);
        retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
          if (!ec) self->Drain();
        });
        return;
      }
      auto it = pending_.find(order_.front());
      event = std::move(it->second.event);
      pending_.erase(it);
      order_.pop_front();
    }
    Send(event);
    ++sent;
  }
}

void Subscriber::Send(const store::ChangeEvent& event) {
  auto change = std::make_unique<pb::DocumentChange>();
  change->set_collection(event.collection);
  change->set_doc_id(event.doc_id);
  if (event.deleted) {
    change->set_change_type(pb::CHANGE_TYPE_DELETE);  // passes every filter
  } else {
    nlohmann::json doc = nlohmann::json::parse(event.json, nullptr, false);
    if (doc.is_discarded() || !filter_.Matches(doc)) return;
    change->set_change_type(pb::CHANGE_TYPE_UPSERT);
    change->set_json_data(event.json);
  }
  call_->Write(std::move(change));
  if (metrics_) metrics_->events_sent.Inc();
}

void Subscriber::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    pending_.clear();
    order_.clear();
  }
  store_.RemoveListener(listener_id_);
  retry_timer_.cancel();
}

}  // namespace peat::service

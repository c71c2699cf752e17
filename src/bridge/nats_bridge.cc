#include "bridge/nats_bridge.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <condition_variable>
#include <future>

#include "crypto/random.h"

namespace peat::bridge {

struct NatsBridge::Subscription {
  NatsBridge* bridge = nullptr;
  size_t mapping = 0;
  natsSubscription* sub = nullptr;
};

namespace {

const char* kDropNames[] = {"too_large",  "not_utf8",   "not_json",    "too_deep",
                            "queue_full", "own_origin", "store_failed"};
const char* kSkipNames[] = {"local", "delivered", "not_envelope", "subject_mismatch", "own_source"};

// Waits for the store's write on the calling thread (Create only).
Status WaitWrite(const std::function<void(store::WriteDone)>& write) {
  std::promise<Status> done;
  auto f = done.get_future();
  write([&done](Status st) { done.set_value(std::move(st)); });
  return f.get();
}

}  // namespace

StatusOr<std::unique_ptr<NatsBridge>> NatsBridge::Create(NatsBridgeOptions options,
                                                         Dependencies deps) {
  if (options.mappings.empty()) return InvalidArgumentError("nats bridge: no mapping");
  if (!deps.clock) deps.clock = &RealClock();
  PEAT_ASSIGN_OR_RETURN(auto ledger, NatsLedger::Open(options.ledger_path));
  for (const auto& m : options.mappings) {
    PEAT_ASSIGN_OR_RETURN(auto config, deps.store->GetCollectionConfig(m.collection));
    if (config.has_value()) {
      if (config->deletion_policy != store::DeletionPolicy::kImmutable) {
        spdlog::warn("nats bridge: collection {} has a deletion policy other than IMMUTABLE",
                     m.collection);
      }
      continue;
    }
    store::CollectionConfig c;
    c.collection = m.collection;
    c.deletion_policy = store::DeletionPolicy::kImmutable;
    PEAT_RETURN_IF_ERROR(WaitWrite(
        [&](store::WriteDone done) { deps.store->SetCollectionConfig(c, std::move(done)); }));
  }
  return std::unique_ptr<NatsBridge>(new NatsBridge(std::move(options), deps, std::move(ledger)));
}

NatsBridge::NatsBridge(NatsBridgeOptions options, Dependencies deps,
                       std::unique_ptr<NatsLedger> ledger)
    : options_(std::move(options)),
      deps_(deps),
      ledger_(std::move(ledger)),
      redacted_url_(options_.url.Redacted()) {
  for (const auto& m : options_.mappings) collections_.push_back(m.collection);
}

NatsBridge::~NatsBridge() { Stop(std::chrono::steady_clock::now()); }

Status NatsBridge::Start() {
  if (started_) return Status::Ok();
  started_ = true;
  auto cursor = ledger_->Cursor(deps_.log->Epoch());
  if (!cursor.ok()) return cursor.status();
  cursor_ = *cursor;
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] { io_.run(); });
  readiness_timer_ = deps_.clock->MakeTimer(io_);
  pump_retry_timer_ = deps_.clock->MakeTimer(io_);
  pump_timer_ = deps_.clock->MakeTimer(io_);
  tick_timer_ = deps_.clock->MakeTimer(io_);
  boost::asio::post(io_, [this] { Tick(); });
  feed_observer_ = deps_.log->AddFeedObserver([this](uint64_t) { PostPump(); });
  boost::asio::post(io_, [this] { Connect(); });
  spdlog::info("nats bridge: {} mapping(s) to {}, egress from feed seq {}",
               options_.mappings.size(), redacted_url_, cursor_);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Connection

int64_t NatsBridge::ReconnectDelay(natsConnection*, int attempts, void* closure) {
  auto* self = static_cast<NatsBridge*>(closure);
  const int64_t min_ms = self->options_.reconnect_min.count() * 1000;
  const int64_t max_ms = self->options_.reconnect_max.count() * 1000;
  int64_t delay = min_ms;
  for (int i = 1; i < attempts && delay < max_ms; ++i) delay *= 2;
  return std::min(delay, max_ms);
}

void NatsBridge::OnConnected(natsConnection*, void* closure) {
  auto* self = static_cast<NatsBridge*>(closure);
  self->connected_ = true;
  boost::asio::post(self->io_, [self] { self->SetConnected(true); });
}

void NatsBridge::OnDisconnected(natsConnection*, void* closure) {
  auto* self = static_cast<NatsBridge*>(closure);
  self->connected_ = false;
  self->ready_ = false;
  boost::asio::post(self->io_, [self] { self->SetConnected(false); });
}

void NatsBridge::Connect() {
  auto fail = [this](const char* what, natsStatus s) {
    spdlog::error("nats bridge: {}: {}", what, options_.url.Scrub(natsStatus_GetText(s)));
  };
  natsStatus s = natsOptions_Create(&nats_options_);
  if (s != NATS_OK) return fail("options", s);
  const std::string url = options_.url.ToClientUrl();
  const std::string name = "peat-node " + options_.node_id;
  s = natsOptions_SetURL(nats_options_, url.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(nats_options_, name.c_str());
  if (s == NATS_OK) s = natsOptions_SetNoEcho(nats_options_, true);
  if (s == NATS_OK) s = natsOptions_SetTimeout(nats_options_, 2000);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(nats_options_, -1);
  if (s == NATS_OK) s = natsOptions_SetCustomReconnectDelay(nats_options_, ReconnectDelay, this);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(nats_options_, OnDisconnected, this);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(nats_options_, OnConnected, this);
  if (s == NATS_OK) {
    s = natsOptions_SetRetryOnFailedConnect(nats_options_, true, OnConnected, this);
  }
  if (s != NATS_OK) return fail("options", s);
  s = natsConnection_Connect(&conn_, nats_options_);
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) return fail("connect", s);
  if (s == NATS_NOT_YET_CONNECTED) {
    spdlog::warn("nats bridge: {} not reachable yet; retrying in the background", redacted_url_);
  }
  for (size_t i = 0; i < options_.mappings.size(); ++i) {
    auto sub = std::make_unique<Subscription>();
    sub->bridge = this;
    sub->mapping = i;
    natsStatus ss = natsConnection_Subscribe(&sub->sub, conn_, options_.mappings[i].subject.c_str(),
                                             OnMessage, sub.get());
    if (ss != NATS_OK) {
      fail("subscribe", ss);
      continue;
    }
    subs_.push_back(std::move(sub));
  }
  if (s == NATS_OK) OnConnected(conn_, this);
}

void NatsBridge::SetConnected(bool connected) {
  if (stopped_) return;
  if (connected == loop_connected_ && !connected) return;
  loop_connected_ = connected;
  if (connected) {
    connects_.Inc();
    spdlog::info("nats bridge: connected to {}", redacted_url_);
    CheckReadiness();
  } else {
    disconnects_.Inc();
    readiness_timer_->Cancel();
    spdlog::warn("nats bridge: disconnected from {}; reconnecting with backoff", redacted_url_);
  }
}

void NatsBridge::CheckReadiness() {
  if (stopped_ || !loop_connected_ || !conn_) return;
  natsMsg* reply = nullptr;
  const natsStatus s =
      natsConnection_RequestString(&reply, conn_, std::string(kReadinessSubject).c_str(), "",
                                   static_cast<int64_t>(options_.readiness_timeout.count()));
  if (reply) natsMsg_Destroy(reply);
  if (s == NATS_OK || s == NATS_NO_RESPONDERS) {
    if (!ready_.exchange(true)) spdlog::info("nats bridge: ready ({})", redacted_url_);
    Pump();
    return;
  }
  readiness_failures_.Inc();
  spdlog::warn("nats bridge: readiness request failed: {}",
               options_.url.Scrub(natsStatus_GetText(s)));
  readiness_timer_->Arm(options_.reconnect_min, [this](bool expired) {
    if (expired) CheckReadiness();
  });
}

// ---------------------------------------------------------------------------------------------
// Ingress

void NatsBridge::OnMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* sub = static_cast<Subscription*>(closure);
  sub->bridge->Accept(sub->mapping, msg);
  natsMsg_Destroy(msg);
}

void NatsBridge::Accept(size_t mapping, natsMsg* msg) {
  if (!accepting_) return;
  received_.Inc();
  const char* origin = nullptr;
  if (natsMsgHeader_Get(msg, std::string(kOriginHeader).c_str(), &origin) == NATS_OK && origin &&
      options_.node_id == origin) {
    dropped_[kOwnOrigin].Inc();
    return;
  }
  const char* data = natsMsg_GetData(msg);
  const int len = natsMsg_GetDataLength(msg);
  std::string_view payload(data ? data : "", data ? static_cast<size_t>(len) : 0);
  const PayloadCheck check = CheckNatsPayload(payload);
  if (check != PayloadCheck::kOk) {
    // PayloadCheck's failures are the first four drop reasons, in the same order.
    dropped_[static_cast<size_t>(check) - 1].Inc();
    return;
  }
  bool first = false;  // decided under the lock the drain swaps under: no wakeup is lost
  {
    std::lock_guard lock(queue_mu_);
    if (pending_.load() >= options_.queue_capacity) {
      dropped_[kQueueFull].Inc();
      return;
    }
    pending_.fetch_add(1);
    first = queue_.empty();
    queue_.push_back({mapping, std::string(payload)});
  }
  if (first) boost::asio::post(io_, [this] { DrainInbound(); });
}

void NatsBridge::DrainInbound() {
  std::deque<Inbound> batch;
  {
    std::lock_guard lock(queue_mu_);
    batch.swap(queue_);
  }
  if (batch.empty()) return;
  // Ids first, then the whole batch in the local ledger in one transaction, then the writes.
  std::vector<std::shared_ptr<Write>> writes;
  std::vector<LedgerDoc> local;
  Status st = Status::Ok();
  for (auto& in : batch) {
    auto w = std::make_shared<Write>();
    w->mapping = in.mapping;
    const auto& m = options_.mappings[in.mapping];
    auto id = RandomUuidV4();
    if (!id.ok()) {
      st = id.status();
      break;
    }
    w->doc_id = std::move(*id);
    w->envelope = MakeNatsEnvelope(m.subject, options_.node_id, in.payload);
    local.push_back({m.collection, w->doc_id});
    writes.push_back(std::move(w));
  }
  if (st.ok()) st = ledger_->AddLocalBatch(local);
  if (!st.ok()) {
    // Nothing is written before its id is in the ledger: the batch is dropped (store_failed).
    for (size_t i = 0; i < batch.size(); ++i) {
      auto w = std::make_shared<Write>();
      w->mapping = batch[i].mapping;
      OnWritten(std::move(w), st);
    }
    return;
  }
  for (auto& w : writes) IssueWrite(std::move(w));
}

void NatsBridge::IssueWrite(std::shared_ptr<Write> w) {
  ++w->attempt;
  const auto& m = options_.mappings[w->mapping];
  deps_.store->Put(m.collection, w->doc_id, w->envelope, [this, w](Status st) mutable {
    if (st.ok()) ReleaseSlot();  // the FIFO bound follows the store, not the loop's backlog
    boost::asio::post(io_, [this, w = std::move(w), st = std::move(st)]() mutable {
      OnWritten(std::move(w), std::move(st));
    });
  });
}

void NatsBridge::ReleaseSlot() {
  std::lock_guard lock(queue_mu_);
  pending_.fetch_sub(1);
}

void NatsBridge::OnWritten(std::shared_ptr<Write> w, Status st) {
  if (st.ok()) {
    stored_.Inc();
    warned_store_ = false;
    return;  // its slot was released on the writer thread
  } else if (!w->envelope.empty() && st.code() != StatusCode::kInvalidArgument &&
             w->attempt <= options_.store_retry_delays.size()) {
    store_retries_.Inc();
    w->retry_timer = deps_.clock->MakeTimer(io_);
    Write* key = w.get();
    retrying_[key] = w;
    w->retry_timer->Arm(options_.store_retry_delays[w->attempt - 1], [this, key](bool) {
      auto it = retrying_.find(key);
      if (it == retrying_.end()) return;
      auto again = std::move(it->second);
      retrying_.erase(it);
      IssueWrite(std::move(again));
    });
    return;
  } else {
    dropped_[kStoreFailed].Inc();
    if (!warned_store_) {
      warned_store_ = true;
      spdlog::warn("nats bridge: a message on {} was dropped: {}",
                   options_.mappings[w->mapping].subject, st.message());
    }
  }
  ReleaseSlot();
}

// ---------------------------------------------------------------------------------------------
// Egress

void NatsBridge::Tick() {
  // A backstop: a pass every kTick whatever the notifications said, so a wake-up that went
  // missing (seen under load, cause not found yet) delays a message by at most kTick.
  if (stopped_) return;
  bool queued = false;
  {
    std::lock_guard lock(queue_mu_);
    queued = !queue_.empty();
  }
  if (queued) DrainInbound();
  if (ready_) Pump();
  tick_timer_->Arm(kTick, [this](bool expired) {
    if (expired) Tick();
  });
}

void NatsBridge::PostPump() {
  // Feed advances within kPumpDelay share one pass (a pass costs a feed read and a ledger
  // transaction, however few entries it finds).
  if (pump_posted_.exchange(true)) return;
  boost::asio::post(io_, [this] {
    pump_timer_->Arm(kPumpDelay, [this](bool expired) {
      if (expired) Pump();
    });
  });
}

void NatsBridge::Pump() {
  pump_posted_ = false;
  if (stopped_ || !ready_) return;
  store::FeedQuery q;
  q.after_seq = cursor_;
  q.max_entries = options_.egress_batch;
  q.max_bytes = 4u << 20;
  // The whole feed, filtered here: the store answers a collection filter through its collection
  // index and a sort (a cost that grows with the collection), the whole feed through its seq index.
  auto page = deps_.log->ReadFeed(q);
  auto retry_later = [this](const Status& st) {
    spdlog::warn("nats bridge: egress paused for 1 s: {}", st.message());
    pump_retry_timer_->Arm(std::chrono::seconds(1), [this](bool expired) {
      if (expired) Pump();
    });
  };
  if (!page.ok()) return retry_later(page.status());
  if (page->scanned_through <= cursor_) return;
  std::vector<LedgerDoc> reserve;
  std::vector<NatsEnvelope> publish;
  for (const auto& e : page->entries) {
    if (e.src_peer.empty()) continue;  // written here (our ingress or an application)
    if (std::find(collections_.begin(), collections_.end(), e.collection) == collections_.end()) {
      continue;
    }
    LedgerDoc d{e.collection, e.doc_id};
    auto local = ledger_->IsLocal(d);
    if (!local.ok()) return retry_later(local.status());
    if (*local) {
      skipped_[kSkipLocal].Inc();
      continue;
    }
    auto delivered = ledger_->IsDelivered(d);
    if (!delivered.ok()) return retry_later(delivered.status());
    if (*delivered) {
      skipped_[kSkipDelivered].Inc();
      continue;
    }
    auto json = deps_.store->Get(e.collection, e.doc_id);
    if (!json.ok() || !json->has_value()) continue;
    auto env = ParseNatsEnvelope(**json);
    if (!env) {
      skipped_[kSkipNotEnvelope].Inc();
      continue;
    }
    const auto it = std::find(collections_.begin(), collections_.end(), e.collection);
    if (it == collections_.end() ||
        options_.mappings[static_cast<size_t>(it - collections_.begin())].subject != env->subject) {
      skipped_[kSkipSubject].Inc();
      continue;
    }
    if (env->source_node_id == options_.node_id) {
      skipped_[kSkipOwnSource].Inc();
      continue;
    }
    reserve.push_back(std::move(d));
    publish.push_back(std::move(*env));
  }
  // Nothing to publish (e.g. only our own documents): the cursor is saved at most once a second;
  // after a crash the pass from the older cursor finds them all delivered or local again.
  const auto now = deps_.clock->Now();
  if (!reserve.empty() || now - cursor_saved_at_ >= std::chrono::seconds(1)) {
    Status st = ledger_->Reserve(reserve, deps_.log->Epoch(), page->scanned_through);
    if (!st.ok()) return retry_later(st);
    cursor_saved_at_ = now;
  }
  cursor_ = page->scanned_through;
  for (const auto& env : publish) Publish(env);
  // Out of the client's buffer and acknowledged by the server before the next pass.
  if (!publish.empty() && conn_) {
    const natsStatus fs = natsConnection_FlushTimeout(conn_, 2000);
    if (fs != NATS_OK) {
      spdlog::warn("nats bridge: flush after publishing failed: {}",
                   options_.url.Scrub(natsStatus_GetText(fs)));
    }
  }
  PostPump();  // the next page, after whatever else the loop has queued
}

void NatsBridge::Publish(const NatsEnvelope& env) {
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, env.subject.c_str(), nullptr, env.payload.data(),
                                static_cast<int>(env.payload.size()));
  if (s == NATS_OK) {
    s = natsMsgHeader_Set(msg, std::string(kOriginHeader).c_str(), env.source_node_id.c_str());
  }
  if (s == NATS_OK) s = natsConnection_PublishMsg(conn_, msg);
  if (msg) natsMsg_Destroy(msg);
  if (s == NATS_OK) {
    published_.Inc();
  } else {
    publish_errors_.Inc();
    spdlog::warn("nats bridge: publish on {} failed (message lost): {}", env.subject,
                 options_.url.Scrub(natsStatus_GetText(s)));
  }
}

// ---------------------------------------------------------------------------------------------
// Stop

void NatsBridge::Stop(std::chrono::steady_clock::time_point deadline) {
  if (!started_ || stopped_) return;
  accepting_ = false;
  // No new messages; the queued ones get until the deadline to be stored.
  std::promise<void> unsubscribed;
  boost::asio::post(io_, [this, &unsubscribed] {
    for (auto& s : subs_) natsSubscription_Unsubscribe(s->sub);
    unsubscribed.set_value();
  });
  unsubscribed.get_future().wait_until(deadline);
  while (pending_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::promise<void> turn;  // one loop turn: writes completing meanwhile are counted
    boost::asio::post(io_, [&turn] { turn.set_value(); });
    turn.get_future().wait_until(
        std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(20)));
  }
  if (pending_.load() > 0) {
    spdlog::warn("nats bridge: {} message(s) not stored when the shutdown budget ended",
                 pending_.load());
  }
  if (feed_observer_) deps_.log->RemoveFeedObserver(feed_observer_);
  std::promise<void> flushed;
  boost::asio::post(io_, [this, &flushed, deadline] {
    stopped_ = true;
    ready_ = false;
    readiness_timer_->Cancel();
    pump_retry_timer_->Cancel();
    pump_timer_->Cancel();
    tick_timer_->Cancel();
    retrying_.clear();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (conn_ && loop_connected_ && left.count() > 0) {
      natsConnection_FlushTimeout(conn_, std::min<int64_t>(left.count(), 2000));
    }
    flushed.set_value();
  });
  flushed.get_future().wait_until(deadline + std::chrono::seconds(3));
  if (conn_) natsConnection_Close(conn_);
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  for (auto& s : subs_) natsSubscription_Destroy(s->sub);
  subs_.clear();
  if (conn_) natsConnection_Destroy(conn_);
  conn_ = nullptr;
  if (nats_options_) natsOptions_Destroy(nats_options_);
  nats_options_ = nullptr;
  // The client library's threads (and the callbacks they run) end here: one bridge per process.
  nats_CloseAndWait(2000);
  stopped_ = true;
  spdlog::info("nats bridge: stopped");
}

// ---------------------------------------------------------------------------------------------
// Metrics

void NatsBridge::AppendMetrics(std::string& out) const {
  auto one = [&out](const char* name, const char* type, const char* help, double v) {
    AppendMetricHeader(out, name, type, help);
    AppendSample(out, name, "", v);
  };
  one("peat_nats_bridge_connected", "gauge", "1 while the NATS bridge is connected to its server.",
      connected_ ? 1 : 0);
  one("peat_nats_bridge_ready", "gauge",
      "1 while the NATS bridge is connected and its readiness request was answered.",
      ready_ ? 1 : 0);
  one("peat_nats_bridge_connects_total", "counter",
      "Connections (first and reconnections) of the NATS bridge.",
      static_cast<double>(connects_.Value()));
  one("peat_nats_bridge_disconnects_total", "counter", "Connections of the NATS bridge lost.",
      static_cast<double>(disconnects_.Value()));
  one("peat_nats_bridge_readiness_failures_total", "counter",
      "Readiness requests of the NATS bridge that got no answer in time.",
      static_cast<double>(readiness_failures_.Value()));
  one("peat_nats_bridge_received_total", "counter", "Messages received on mapped subjects.",
      static_cast<double>(received_.Value()));
  one("peat_nats_bridge_stored_total", "counter", "Messages stored as bridge documents.",
      static_cast<double>(stored_.Value()));
  AppendMetricHeader(out, "peat_nats_bridge_dropped_total", "counter",
                     "Messages on mapped subjects not stored, by reason.");
  for (size_t i = 0; i < kDropReasons; ++i) {
    AppendSample(out, "peat_nats_bridge_dropped_total",
                 std::string("reason=\"") + kDropNames[i] + "\"",
                 static_cast<double>(dropped_[i].Value()));
  }
  one("peat_nats_bridge_store_retries_total", "counter",
      "Store writes of bridge documents retried.", static_cast<double>(store_retries_.Value()));
  one("peat_nats_bridge_queue_depth", "gauge",
      "Messages accepted and not yet stored (the bounded ingress FIFO).",
      static_cast<double>(pending_.load()));
  one("peat_nats_bridge_published_total", "counter",
      "Remote bridge documents published on their subject.",
      static_cast<double>(published_.Value()));
  one("peat_nats_bridge_publish_errors_total", "counter",
      "Publishes the NATS client refused (those messages are not retried).",
      static_cast<double>(publish_errors_.Value()));
  AppendMetricHeader(out, "peat_nats_bridge_egress_skipped_total", "counter",
                     "Remote documents in mapped collections not published, by reason.");
  for (size_t i = 0; i < kSkipReasons; ++i) {
    AppendSample(out, "peat_nats_bridge_egress_skipped_total",
                 std::string("reason=\"") + kSkipNames[i] + "\"",
                 static_cast<double>(skipped_[i].Value()));
  }
}

}  // namespace peat::bridge

// NatsBridge: core NATS subjects carried across the mesh (docs/NATS.md), on the official NATS C
// client (libnats 3.4).
// - Ingress. Each message on a mapped subject is checked (origin header equal to our node id:
//   own_origin; then CheckNatsPayload), queued in a bounded FIFO (`queue_capacity` messages,
//   counting those whose store write is in flight; when full the newest is dropped: queue_full),
//   recorded in the ledger's local set and stored as a new document (fresh UUIDv4 id) in the
//   mapped collection: the envelope of nats_envelope.h. A failed write is retried after each of
//   `store_retry_delays` (3 attempts in all), INVALID_ARGUMENT never; then dropped: store_failed.
// - Egress. The change feed of the mapped collections is read from the ledger's cursor. An entry
//   is published only when it came from a peer (src_peer set), is not in the local set, is a valid
//   envelope whose subject is the mapping's and whose source_node_id is not ours, and was not
//   delivered before; each batch is reserved in the ledger before it is published, verbatim, with
//   the header Peat-Nats-Bridge-Origin: <source node id>. Egress runs only while the bridge is
//   ready, so what arrives while NATS is away waits in the feed (the reconcile pass after start
//   is the same loop from the saved cursor). A pass runs 2 ms after a feed advance (advances in
//   between share it) and every 200 ms as a backstop.
// - Connection: no_echo, endless reconnects with a 1, 2, 4 … 30 s backoff, the first connect
//   retried the same way in the background (Start never waits for NATS). Ready = connected and a
//   request to _PEAT.NATS_BRIDGE.READINESS answered (a reply or "no responders") within
//   `readiness_timeout`. The URL's credentials never reach a log line or a metric.
// Threading: one loop thread of its own (ingress writes, egress, readiness, timers); the client's
// callbacks only check, count and post to it. Create, Start, Stop and destruction from one outside
// thread; AppendMetrics from any thread.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bridge/nats_config.h"
#include "bridge/nats_envelope.h"
#include "bridge/nats_ledger.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "store/document_store.h"
#include "store/replication_log.h"

struct __natsConnection;
struct __natsOptions;
struct __natsSubscription;
struct __natsMsg;

namespace peat::bridge {

inline constexpr std::string_view kOriginHeader = "Peat-Nats-Bridge-Origin";

struct NatsBridgeOptions {
  NatsUrl url;
  std::vector<NatsMapping> mappings;  // at least one
  std::string node_id;
  std::string ledger_path;  // <data-dir>/nats-bridge.db
  size_t queue_capacity = 256;
  std::vector<std::chrono::milliseconds> store_retry_delays{std::chrono::milliseconds(50),
                                                            std::chrono::milliseconds(200)};
  std::chrono::milliseconds readiness_timeout{2000};
  std::chrono::seconds reconnect_min{1};
  std::chrono::seconds reconnect_max{30};
  size_t egress_batch = 256;
};

class NatsBridge {
 public:
  struct Dependencies {
    store::DocumentStore* store = nullptr;  // both outlive the bridge (Stop before they close)
    store::ReplicationLog* log = nullptr;
    Clock* clock = nullptr;  // RealClock() when null
  };

  // Opens the ledger, makes each mapped collection IMMUTABLE unless it has a config.
  static StatusOr<std::unique_ptr<NatsBridge>> Create(NatsBridgeOptions options, Dependencies deps);
  ~NatsBridge();
  NatsBridge(const NatsBridge&) = delete;
  NatsBridge& operator=(const NatsBridge&) = delete;

  // Starts the loop thread and the connection; never waits for the server.
  Status Start();
  // Idempotent. Stops taking messages, waits until `deadline` for the queued ones to be stored,
  // flushes publishes, closes the connection and ends the loop.
  void Stop(std::chrono::steady_clock::time_point deadline);

  void AppendMetrics(std::string& out) const;
  bool ready() const { return ready_.load(); }

 private:
  enum Drop : size_t {
    kTooLarge,  // the first four in PayloadCheck's order
    kNotUtf8,
    kNotJson,
    kTooDeep,
    kQueueFull,
    kOwnOrigin,
    kStoreFailed,
    kDropReasons
  };
  enum Skip : size_t {
    kSkipLocal,
    kSkipDelivered,
    kSkipNotEnvelope,
    kSkipSubject,
    kSkipOwnSource,
    kSkipReasons
  };
  struct Inbound {
    size_t mapping = 0;
    std::string payload;
  };
  struct Write {
    size_t mapping = 0;
    std::string doc_id;
    std::string envelope;
    size_t attempt = 0;
    std::unique_ptr<Timer> retry_timer;
  };
  struct Subscription;

  NatsBridge(NatsBridgeOptions options, Dependencies deps, std::unique_ptr<NatsLedger> ledger);

  // Client callbacks (client threads).
  static void OnMessage(__natsConnection* nc, __natsSubscription* sub, __natsMsg* msg,
                        void* closure);
  static void OnConnected(__natsConnection* nc, void* closure);
  static void OnDisconnected(__natsConnection* nc, void* closure);
  static int64_t ReconnectDelay(__natsConnection* nc, int attempts, void* closure);
  void Accept(size_t mapping, __natsMsg* msg);

  // Loop.
  void Connect();
  void CheckReadiness();
  void DrainInbound();
  void IssueWrite(std::shared_ptr<Write> w);
  void OnWritten(std::shared_ptr<Write> w, Status st);
  void ReleaseSlot();  // one message left the FIFO (any thread)
  void PostPump();
  void Tick();
  void Pump();
  void Publish(const NatsEnvelope& env);
  void SetConnected(bool connected);

  NatsBridgeOptions options_;
  Dependencies deps_;
  std::unique_ptr<NatsLedger> ledger_;  // loop only
  std::string redacted_url_;
  std::vector<std::string> collections_;

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  bool started_ = false;
  bool stopped_ = false;
  uint64_t feed_observer_ = 0;

  __natsOptions* nats_options_ = nullptr;
  __natsConnection* conn_ = nullptr;  // set on the loop by Connect; closed by Stop
  std::vector<std::unique_ptr<Subscription>> subs_;

  // Ingress queue (client threads push, the loop pops).
  std::mutex queue_mu_;
  std::deque<Inbound> queue_;
  std::atomic<size_t> pending_{0};  // queued + being written
  std::atomic<bool> accepting_{true};
  std::atomic<bool> pump_posted_{false};

  // Loop-only state.
  bool loop_connected_ = false;
  uint64_t cursor_ = 0;
  std::unique_ptr<Timer> readiness_timer_;
  std::unique_ptr<Timer> pump_retry_timer_;
  std::unique_ptr<Timer> pump_timer_;
  std::unique_ptr<Timer> tick_timer_;
  static constexpr std::chrono::milliseconds kTick{200};
  Clock::TimePoint cursor_saved_at_{};
  static constexpr std::chrono::milliseconds kPumpDelay{2};
  std::map<Write*, std::shared_ptr<Write>> retrying_;
  bool warned_store_ = false;

  // Metrics.
  std::atomic<bool> connected_{false};
  std::atomic<bool> ready_{false};
  Counter received_;
  Counter stored_;
  Counter dropped_[kDropReasons];
  Counter store_retries_;
  Counter published_;
  Counter publish_errors_;
  Counter skipped_[kSkipReasons];
  Counter disconnects_;
  Counter connects_;
  Counter readiness_failures_;
};

}  // namespace peat::bridge

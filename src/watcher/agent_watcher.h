// AgentWatcher: the agent watcher's poll loop (WATCHER.md §4–§6). It polls the UDS Remote Agent
// through an AgentClient and mirrors its state into the store:
// - Cycles. The first starts in Start(); each next one starts one poll interval after the
//   previous one STARTED, so a cycle that overran (a down agent costs up to 3 × 5 s) is followed
//   by one immediate cycle, never a burst.
// - Calls. Each cycle makes the three calls in order (status, list_packages,
//   list_pulled_packages), each on its own: a failed call writes and deletes nothing and does not
//   stop the next one.
// - Writes. status → a merge-put of nodes/<node_id> every cycle (the heartbeat; a patch, so other
//   writers' fields stay). The lists → deployments / packages documents, put only when a field
//   other than last_seen differs from the stored document or the stored last_seen is
//   `refresh` or more old (NeedsWrite against the store, so a restart does not rewrite them).
// - Deletes (§6). After a successful list call, the stored documents of our node (id prefix
//   "<node_id>:", agent_id = node id) absent from the response, behind the empty-list guard.
//   Never nodes/<node_id>, never after a failed call.
// - A call's result (the `result` label): the client's (agent_client.h); parse_error when the
//   body does not parse; write_error when a store write or delete of the call failed.
// - Logs: the first failure of a streak at warn with its reason, then at most one warn per
//   `warn_every` per call; the recovery at info.
// - Metrics (AppendMetrics): peat_agent_up, peat_agent_polls_total{call,result},
//   peat_agent_last_success_timestamp_seconds{call}, peat_agent_poll_duration_seconds{call},
//   peat_agent_docs_written_total{collection}, peat_agent_docs_deleted_total{collection},
//   peat_agent_items_skipped_total{call,reason}, peat_agent_cycles_total,
//   peat_agent_credential_reload_failures_total.
// Threading: one thread of its own runs the loop. Create, Start, Stop and destruction from one
// outside thread; AppendMetrics and cycles_completed from any thread. Stop cancels the calls in
// flight at once and waits for the store writes already issued, so none happens after it returns.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/pending_completions.h"
#include "common/status.h"
#include "store/document_store.h"
#include "watcher/agent_client.h"
#include "watcher/agent_mapping.h"

namespace peat::watcher {

struct AgentWatcherOptions {
  AgentClientOptions client;
  std::string node_id;  // a valid identifier: the node's own id
  std::chrono::seconds poll_interval{10};
  std::chrono::seconds refresh{300};
  std::chrono::seconds warn_every{60};
};

class AgentWatcher {
 public:
  struct Dependencies {
    store::DocumentStore* store = nullptr;  // outlives the watcher (Stop before it closes)
    Clock* clock = nullptr;                 // cycle timer, log rate limit; RealClock() when null
    std::function<int64_t()> unix_seconds;  // last_seen; the system clock when empty
  };

  // Checks the options (address and TLS files, as the client does).
  static StatusOr<std::unique_ptr<AgentWatcher>> Create(AgentWatcherOptions options,
                                                        Dependencies deps);
  ~AgentWatcher();
  AgentWatcher(const AgentWatcher&) = delete;
  AgentWatcher& operator=(const AgentWatcher&) = delete;

  // Starts the loop thread; the first cycle begins at once.
  void Start();
  // Idempotent. Cancels the calls in flight, ends the cycles, waits for issued store writes.
  void Stop();

  void AppendMetrics(std::string& out) const;
  uint64_t cycles_completed() const { return cycles_.Value(); }

 private:
  static constexpr size_t kCalls = 3;
  static constexpr size_t kResults = 7;  // CallResult without kCancelled, plus write_error
  static constexpr size_t kWriteError = 6;
  static constexpr size_t kSkipReasons = 3;

  // One call's log state (loop only).
  struct CallLog {
    bool failing = false;
    uint64_t failures = 0;  // in the current streak
    uint64_t failures_since_warn = 0;
    Clock::TimePoint last_warn{};
    Clock::TimePoint last_skip_warn{};
    bool skip_warned = false;
  };
  // The store operations of one call, counted down on the loop.
  struct CallWrites;

  AgentWatcher(AgentWatcherOptions options, Dependencies deps);

  void StartCycle();
  void RunCall(size_t index);
  void OnReply(size_t index, AgentReply reply);
  // Parses and maps the body, then issues the writes and deletes (the call ends when they have
  // completed); false and `error` when it did not parse.
  bool Apply(size_t index, const std::string& body, std::string* error);
  void IssueWrites(size_t index, const std::string& collection, const MappedList& list, int64_t now,
                   const std::shared_ptr<CallWrites>& writes);
  void IssueDeletes(size_t index, const std::string& collection, const MappedList& list,
                    const std::shared_ptr<CallWrites>& writes);
  // A store operation's completion: counted, then released on the loop.
  store::WriteDone OnLoop(const std::shared_ptr<CallWrites>& writes, size_t index, bool is_delete);
  // One operation (or the issuing pass's hold) of the call is done; the last ends the call.
  void Release(size_t index, const std::shared_ptr<CallWrites>& writes);
  void CountSkipped(size_t index, const MappedList& list);
  void EndCall(size_t index, size_t result, const std::string& message);
  void EndCycle();

  AgentWatcherOptions options_;
  Dependencies deps_;

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  bool started_ = false;
  bool stopped_ = false;
  PendingCompletions store_ops_;  // store completions that still post to io_

  // Loop-only state.
  std::unique_ptr<AgentClient> client_;
  std::unique_ptr<Timer> cycle_timer_;
  Clock::TimePoint cycle_started_{};
  bool stopping_ = false;
  CallLog logs_[kCalls];
  EmptyListGuard guards_[kCalls];  // used by the two list calls

  // Metrics (any thread).
  Gauge up_;
  Counter polls_[kCalls][kResults];
  Gauge last_success_[kCalls];
  LatencyHistogram duration_[kCalls];
  Counter written_[kCalls];  // by collection: nodes, deployments, packages (the call's index)
  Counter deleted_[kCalls];
  Counter skipped_[kCalls][kSkipReasons];
  Counter cycles_;
  Gauge credential_reload_failures_;
};

}  // namespace peat::watcher

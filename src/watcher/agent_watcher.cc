#include "watcher/agent_watcher.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <future>
#include <utility>

namespace peat::watcher {

namespace {

constexpr AgentCall kCallOrder[] = {AgentCall::kStatus, AgentCall::kListPackages,
                                    AgentCall::kListPulledPackages};
// The collection each call writes (by the call's index).
constexpr std::string_view kCollectionOf[] = {kNodesCollection, kDeploymentsCollection,
                                              kPackagesCollection};
constexpr CallResult kCountedResults[] = {CallResult::kOk,        CallResult::kConnectError,
                                          CallResult::kTlsError,  CallResult::kTimeout,
                                          CallResult::kHttpError, CallResult::kParseError};
constexpr SkipReason kSkipReasonOrder[] = {SkipReason::kTooLong, SkipReason::kNul,
                                           SkipReason::kInvalidUtf8};

size_t ResultIndex(CallResult r) {
  for (size_t i = 0; i < std::size(kCountedResults); ++i) {
    if (kCountedResults[i] == r) return i;
  }
  return 0;  // kCancelled is never counted (the caller returns before)
}

std::string_view ResultLabel(size_t index) {
  return index < std::size(kCountedResults) ? CallResultLabel(kCountedResults[index])
                                            : std::string_view("write_error");
}

double Seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

int64_t SystemUnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct AgentWatcher::CallWrites {
  size_t remaining = 1;  // the issuing pass holds one, so completions cannot end the call early
  uint64_t failures = 0;
  std::string first_error;
};

StatusOr<std::unique_ptr<AgentWatcher>> AgentWatcher::Create(AgentWatcherOptions options,
                                                             Dependencies deps) {
  if (deps.store == nullptr) return InvalidArgumentError("agent watcher: no store");
  if (options.poll_interval < std::chrono::seconds(1)) {
    return InvalidArgumentError("--agent-poll-interval must be at least 1");
  }
  if (options.refresh < std::chrono::seconds(1)) {
    return InvalidArgumentError("--agent-refresh-secs must be at least 1");
  }
  std::unique_ptr<AgentWatcher> w(new AgentWatcher(std::move(options), std::move(deps)));
  // Made before the loop thread exists: no other thread touches it until Start.
  auto client = AgentClient::Create(w->io_, w->options_.client);
  if (!client.ok()) return client.status();
  w->client_ = std::move(*client);
  return w;
}

AgentWatcher::AgentWatcher(AgentWatcherOptions options, Dependencies deps)
    : options_(std::move(options)), deps_(std::move(deps)) {
  if (deps_.clock == nullptr) deps_.clock = &RealClock();
  if (!deps_.unix_seconds) deps_.unix_seconds = SystemUnixSeconds;
}

AgentWatcher::~AgentWatcher() {
  Stop();
  if (!started_) {  // the client was never handed to the loop: end it here
    client_.reset();
  }
}

void AgentWatcher::Start() {
  if (started_) return;
  started_ = true;
  cycle_timer_ = deps_.clock->MakeTimer(io_);
  work_.emplace(io_.get_executor());
  boost::asio::post(io_, [this] { StartCycle(); });
  thread_ = std::thread([this] { io_.run(); });
  spdlog::info("agent watcher: polling {} every {} s as node {}", options_.client.addr,
               options_.poll_interval.count(), options_.node_id);
}

void AgentWatcher::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  std::promise<void> done;
  boost::asio::post(io_, [this, &done] {
    stopping_ = true;
    cycle_timer_.reset();
    client_.reset();  // cancels the calls in flight; their callbacks see kCancelled
    done.set_value();
  });
  done.get_future().wait();
  store_ops_.WaitIdle();  // writes already issued complete; their posts find stopping_ set
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

// ---------------------------------------------------------------------------------------------
// Cycles and calls (loop thread)
// ---------------------------------------------------------------------------------------------

void AgentWatcher::StartCycle() {
  if (stopping_) return;
  cycle_started_ = deps_.clock->Now();
  RunCall(0);
}

void AgentWatcher::EndCycle() {
  cycles_.Inc();
  if (stopping_) return;
  // One interval after this cycle started; at once (a single catch-up cycle) when it overran.
  const auto delay = cycle_started_ + options_.poll_interval - deps_.clock->Now();
  cycle_timer_->Arm(delay, [this](bool expired) {
    if (expired && !stopping_) StartCycle();
  });
}

void AgentWatcher::RunCall(size_t index) {
  if (stopping_) return;
  if (index == kCalls) return EndCycle();
  client_->Call(kCallOrder[index],
                [this, index](AgentReply reply) { OnReply(index, std::move(reply)); });
}

void AgentWatcher::OnReply(size_t index, AgentReply reply) {
  if (reply.result == CallResult::kCancelled || stopping_) return;
  duration_[index].Observe(Seconds(reply.elapsed));
  credential_reload_failures_.Set(static_cast<int64_t>(client_->credential_reload_failures()));
  if (reply.result != CallResult::kOk) {
    if (index == 0) up_.Set(0);
    guards_[index].OnFailure();
    return EndCall(index, ResultIndex(reply.result), reply.message);
  }
  std::string error;
  if (!Apply(index, reply.body, &error)) {
    if (index == 0) up_.Set(0);
    guards_[index].OnFailure();
    return EndCall(index, ResultIndex(CallResult::kParseError), error);
  }
}

bool AgentWatcher::Apply(size_t index, const std::string& body, std::string* error) {
  const int64_t now = deps_.unix_seconds();
  const std::string collection(kCollectionOf[index]);
  auto writes = std::make_shared<CallWrites>();
  if (kCallOrder[index] == AgentCall::kStatus) {
    auto status = ParseAgentStatus(body);
    if (!status.ok()) {
      *error = status.status().message();
      return false;
    }
    up_.Set(1);
    MappedDoc doc = MapAgentStatus(*status, options_.node_id, now);
    ++writes->remaining;
    deps_.store->MergePut(std::move(doc.collection), std::move(doc.doc_id), std::move(doc.json),
                          OnLoop(writes, index, /*is_delete=*/false));
  } else {
    StatusOr<MappedList> list = InternalError("unreachable");
    if (kCallOrder[index] == AgentCall::kListPackages) {
      auto parsed = ParsePackageList(body);
      if (parsed.ok())
        list = MapPackageList(*parsed, options_.node_id, now);
      else
        list = parsed.status();
    } else {
      auto parsed = ParsePulledList(body);
      if (parsed.ok())
        list = MapPulledList(*parsed, options_.node_id, now);
      else
        list = parsed.status();
    }
    if (!list.ok()) {
      *error = list.status().message();
      return false;
    }
    CountSkipped(index, *list);
    IssueWrites(index, collection, *list, now, writes);
    if (guards_[index].AllowDeletes(list->listed)) IssueDeletes(index, collection, *list, writes);
  }
  // The issuing pass lets go of its hold: the call ends with its last store completion.
  Release(index, writes);
  return true;
}

void AgentWatcher::IssueWrites(size_t index, const std::string& collection, const MappedList& list,
                               int64_t now, const std::shared_ptr<CallWrites>& writes) {
  const int64_t refresh = options_.refresh.count();
  for (const MappedDoc& doc : list.docs) {
    std::optional<LastWrite> last;
    if (auto stored = deps_.store->Get(collection, doc.doc_id); stored.ok() && *stored) {
      last = LastWriteOf(**stored, now);
    }  // unreadable (e.g. encrypted under another key): rewrite it
    if (!NeedsWrite(last ? &*last : nullptr, doc, now, refresh)) continue;
    ++writes->remaining;
    deps_.store->Put(doc.collection, doc.doc_id, doc.json, OnLoop(writes, index, false));
  }
}

void AgentWatcher::IssueDeletes(size_t index, const std::string& collection, const MappedList& list,
                                const std::shared_ptr<CallWrites>& writes) {
  auto ids = deps_.store->List(collection);
  if (!ids.ok()) {
    ++writes->failures;
    if (writes->first_error.empty())
      writes->first_error = "listing " + collection + ": " + ids.status().message();
    return;
  }
  const std::string prefix = options_.node_id + ":";
  std::vector<PresentDoc> present;
  for (const std::string& id : *ids) {
    if (!id.starts_with(prefix)) continue;
    auto json = deps_.store->Get(collection, id);
    if (!json.ok() || !*json) continue;  // gone meanwhile, or unreadable: not provably ours
    present.push_back(PresentDoc{id, AgentIdOf(**json)});
  }
  for (std::string& id : SelectStale(present, options_.node_id, list)) {
    ++writes->remaining;
    deps_.store->Delete(collection, std::move(id), OnLoop(writes, index, /*is_delete=*/true));
  }
}

store::WriteDone AgentWatcher::OnLoop(const std::shared_ptr<CallWrites>& writes, size_t index,
                                      bool is_delete) {
  return store_ops_.Track([this, writes, index, is_delete](Status st) {
    boost::asio::post(io_, [this, writes, index, is_delete, st = std::move(st)] {
      if (stopping_) return;
      if (st.ok()) {
        (is_delete ? deleted_ : written_)[index].Inc();
      } else {
        ++writes->failures;
        if (writes->first_error.empty()) {
          writes->first_error = std::string(is_delete ? "delete" : "write") + ": " + st.ToString();
        }
      }
      Release(index, writes);
    });
  });
}

void AgentWatcher::Release(size_t index, const std::shared_ptr<CallWrites>& writes) {
  if (--writes->remaining > 0) return;
  if (writes->failures == 0) return EndCall(index, ResultIndex(CallResult::kOk), "");
  std::string message = writes->first_error;
  if (writes->failures > 1) message += " (and " + std::to_string(writes->failures - 1) + " more)";
  EndCall(index, kWriteError, message);
}

// Counts the items the mapping skipped; one warning per streak of calls that skip some.
void AgentWatcher::CountSkipped(size_t index, const MappedList& list) {
  CallLog& log = logs_[index];
  for (const SkippedItem& s : list.skipped) {
    for (size_t r = 0; r < kSkipReasons; ++r) {
      if (kSkipReasonOrder[r] == s.reason) skipped_[index][r].Inc();
    }
  }
  if (list.skipped.empty()) {
    log.skip_warned = false;
    return;
  }
  if (log.skip_warned) return;
  log.skip_warned = true;
  spdlog::warn("agent watcher: {} skipped {} item(s) that cannot form a document id, e.g. {} ({})",
               AgentCallName(kCallOrder[index]), list.skipped.size(), list.skipped[0].item,
               SkipReasonLabel(list.skipped[0].reason));
}

void AgentWatcher::EndCall(size_t index, size_t result, const std::string& message) {
  polls_[index][result].Inc();
  CallLog& log = logs_[index];
  const std::string_view call = AgentCallName(kCallOrder[index]);
  const auto now = deps_.clock->Now();
  if (result == ResultIndex(CallResult::kOk)) {
    last_success_[index].Set(deps_.unix_seconds());
    if (log.failing) {
      spdlog::info("agent watcher: {} recovered after {} failed poll(s)", call, log.failures);
    }
    log.failing = false;
    log.failures = 0;
  } else {
    ++log.failures;
    if (!log.failing || now - log.last_warn >= options_.warn_every) {
      spdlog::warn("agent watcher: {} failed ({}): {}{}", call, ResultLabel(result), message,
                   log.failing ? " (" + std::to_string(log.failures_since_warn) +
                                     " more failure(s) since the last warning)"
                               : "");
      log.last_warn = now;
      log.failures_since_warn = 0;
    } else {
      ++log.failures_since_warn;
    }
    log.failing = true;
  }
  RunCall(index + 1);
}

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

void AgentWatcher::AppendMetrics(std::string& out) const {
  auto call_label = [](size_t i) {
    return "call=\"" + std::string(AgentCallName(kCallOrder[i])) + "\"";
  };
  auto collection_label = [](size_t i) {
    return "collection=\"" + std::string(kCollectionOf[i]) + "\"";
  };
  AppendMetricHeader(out, "peat_agent_up", "gauge",
                     "1 when the last /status call to the agent succeeded.");
  AppendSample(out, "peat_agent_up", "", static_cast<double>(up_.Value()));
  AppendMetricHeader(out, "peat_agent_polls_total", "counter", "Agent calls by outcome.");
  for (size_t c = 0; c < kCalls; ++c) {
    for (size_t r = 0; r < kResults; ++r) {
      AppendSample(out, "peat_agent_polls_total",
                   call_label(c) + ",result=\"" + std::string(ResultLabel(r)) + "\"",
                   static_cast<double>(polls_[c][r].Value()));
    }
  }
  AppendMetricHeader(out, "peat_agent_last_success_timestamp_seconds", "gauge",
                     "Unix time of the last successful call (0 = none yet).");
  for (size_t c = 0; c < kCalls; ++c) {
    AppendSample(out, "peat_agent_last_success_timestamp_seconds", call_label(c),
                 static_cast<double>(last_success_[c].Value()));
  }
  AppendMetricHeader(out, "peat_agent_poll_duration_seconds", "histogram",
                     "Duration of each agent call, connect to last byte.");
  for (size_t c = 0; c < kCalls; ++c) {
    duration_[c].AppendPrometheus("peat_agent_poll_duration_seconds", call_label(c), out);
  }
  AppendMetricHeader(out, "peat_agent_docs_written_total", "counter",
                     "Documents the watcher wrote (heartbeats and changes).");
  for (size_t c = 0; c < kCalls; ++c) {
    AppendSample(out, "peat_agent_docs_written_total", collection_label(c),
                 static_cast<double>(written_[c].Value()));
  }
  AppendMetricHeader(out, "peat_agent_docs_deleted_total", "counter",
                     "Stale documents the watcher deleted.");
  for (size_t c = 1; c < kCalls; ++c) {  // nodes/<node_id> is never deleted
    AppendSample(out, "peat_agent_docs_deleted_total", collection_label(c),
                 static_cast<double>(deleted_[c].Value()));
  }
  AppendMetricHeader(out, "peat_agent_items_skipped_total", "counter",
                     "Listed items skipped because they cannot form a document id.");
  for (size_t c = 1; c < kCalls; ++c) {
    for (size_t r = 0; r < kSkipReasons; ++r) {
      AppendSample(
          out, "peat_agent_items_skipped_total",
          call_label(c) + ",reason=\"" + std::string(SkipReasonLabel(kSkipReasonOrder[r])) + "\"",
          static_cast<double>(skipped_[c][r].Value()));
    }
  }
  AppendMetricHeader(out, "peat_agent_cycles_total", "counter", "Completed poll cycles.");
  AppendSample(out, "peat_agent_cycles_total", "", static_cast<double>(cycles_.Value()));
  AppendMetricHeader(out, "peat_agent_credential_reload_failures_total", "counter",
                     "Changed agent TLS files that failed to load (the old ones stay in use).");
  AppendSample(out, "peat_agent_credential_reload_failures_total", "",
               static_cast<double>(credential_reload_failures_.Value()));
}

}  // namespace peat::watcher

#include "store/group_commit_writer.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>
#include <variant>

namespace peat::store {
namespace {

uint64_t SystemNowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// now - age, or 0 (nothing is that old) when the age reaches back before the epoch.
uint64_t Cutoff(uint64_t now_ms, uint64_t age_ms) { return now_ms > age_ms ? now_ms - age_ms : 0; }

std::function<uint64_t()> ClockOf(const StoreOptions& o) {
  if (o.now_ms) return o.now_ms;
  return SystemNowMs;
}

}  // namespace

GroupCommitWriter::GroupCommitWriter(SqliteConnection db, WriterEnv env, uint64_t last_seq,
                                     uint64_t hlc)
    : db_(std::move(db)),
      env_(env),
      clock_(env.options->node_tag, ClockOf(*env.options), env.options->max_clock_skew_ms),
      last_seq_(last_seq),
      last_seq_published_(last_seq),
      hlc_published_(hlc) {
  clock_.Restore(hlc);
}

GroupCommitWriter::~GroupCommitWriter() { Stop(); }

uint64_t GroupCommitWriter::NowMs() const {
  return env_.options->now_ms ? env_.options->now_ms() : SystemNowMs();
}

Status GroupCommitWriter::Start() {
  struct {
    SqliteStatement* stmt;
    const char* sql;
  } stmts[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&upsert_meta_,
       "INSERT INTO meta(key, value) VALUES('last_seq', ?1), ('hlc', ?2) "
       "ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
      {&gc_live_older_,
       "SELECT doc_id FROM docs WHERE live = 1 AND collection = ?1 AND updated_ms < ?2 "
       "ORDER BY updated_ms LIMIT ?3"},
      {&gc_dead_older_,
       "SELECT doc_id FROM docs WHERE live = 0 AND collection = ?1 AND updated_ms < ?2 "
       "ORDER BY updated_ms LIMIT ?3"},
  };
  for (auto& s : stmts) {
    PEAT_ASSIGN_OR_RETURN(*s.stmt, db_.Prepare(s.sql));
  }
  PEAT_RETURN_IF_ERROR(stmts_.Prepare(db_));
  std::lock_guard lock(mu_);
  started_ = true;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void GroupCommitWriter::Submit(WriteOp op) {
  Status reject;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !started_) {
      reject = UnavailableError("store closed");
    } else if (queue_.size() >= env_.options->max_queued_ops) {
      reject = ResourceExhaustedError("store write queue full (" + std::to_string(queue_.size()) +
                                      " queued writes)");
    } else {
      queue_.push_back(std::move(op));
    }
  }
  if (!reject.ok()) {
    if (op.done) op.done(reject);
    return;
  }
  cv_.notify_one();
}

void GroupCommitWriter::RequestGc(WriteDone done) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !started_) {
      if (done) done(UnavailableError("store closed"));
      return;
    }
    gc_requested_ = true;
    if (done) gc_waiters_.push_back(std::move(done));
  }
  cv_.notify_one();
}

void GroupCommitWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::vector<WriteDone> waiters;
  {
    std::lock_guard lock(mu_);
    waiters.swap(gc_waiters_);
    started_ = false;
  }
  for (auto& w : waiters) w(UnavailableError("store closed"));
  // Statements first, then the connection.
  for (SqliteStatement* s :
       {&begin_, &commit_, &rollback_, &upsert_meta_, &gc_live_older_, &gc_dead_older_}) {
    *s = SqliteStatement();
  }
  stmts_.Clear();
  db_.Close();
}

size_t GroupCommitWriter::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void GroupCommitWriter::Run() {
  using SteadyClock = std::chrono::steady_clock;
  const auto interval = env_.options->gc_interval;
  auto next_gc = SteadyClock::now() + interval;
  const size_t max_group = std::max<size_t>(1, env_.options->max_group_ops);
  for (;;) {
    std::vector<WriteOp> batch;
    std::vector<WriteDone> gc_waiters;
    bool run_gc = false;
    {
      std::unique_lock lock(mu_);
      auto ready = [&] { return stopping_ || !queue_.empty() || gc_requested_; };
      if (interval.count() > 0) {
        cv_.wait_until(lock, next_gc, ready);
      } else {
        cv_.wait(lock, ready);
      }
      const size_t n = std::min(max_group, queue_.size());
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (stopping_ && batch.empty()) return;
      if (!stopping_ &&
          (gc_requested_ || (interval.count() > 0 && SteadyClock::now() >= next_gc))) {
        run_gc = true;
        gc_requested_ = false;
        gc_waiters.swap(gc_waiters_);
      }
    }
    if (!batch.empty()) (void)CommitGroup(batch);
    if (run_gc) {
      const bool more = RunGcPass(std::move(gc_waiters));
      // A full batch that made progress: continue right after the queued writes.
      next_gc = more ? SteadyClock::now() : SteadyClock::now() + interval;
    }
  }
}

Status GroupCommitWriter::CommitGroup(std::vector<WriteOp>& ops) {
  const crdt::HlcClock saved_clock = clock_;
  StagedGroup g;
  g.last_seq = last_seq_;
  WriteContext ctx(*env_.options, env_.cipher, clock_, *env_.cache, *env_.configs, stmts_,
                   db_.get(), g);
  std::vector<OpResult> results(ops.size());

  Status storage;
  bool began = false;
  for (size_t i = 0; i < ops.size() && storage.ok(); ++i) {
    if (!ops[i].precheck.ok()) {
      results[i].status = ops[i].precheck;
      continue;
    }
    if (!began) {
      storage = begin_.Run("begin write transaction");
      if (!storage.ok()) break;
      began = true;
    }
    results[i] = std::visit([&ctx](auto& op) { return Apply(op, ctx); }, ops[i].op);
    if (results[i].fatal) storage = results[i].status;
  }
  if (began && storage.ok() && g.wrote) {
    upsert_meta_.BindInt64(1, static_cast<int64_t>(g.last_seq));
    upsert_meta_.BindInt64(2, static_cast<int64_t>(clock_.last()));
    storage = upsert_meta_.Run("write meta");
  }
  if (began && storage.ok()) storage = commit_.Run("commit");

  if (!storage.ok()) {
    // The staged group is dropped: seq, cache, configs and counters stay as they were.
    if (db_.InTransaction()) (void)rollback_.Run("rollback");
    clock_ = saved_clock;
    env_.counters->failed_groups.fetch_add(1);
    for (size_t i = 0; i < ops.size(); ++i) {
      // Ops that failed validation keep their own (more useful) error.
      const bool own_error =
          !ops[i].precheck.ok() || (!results[i].status.ok() && !results[i].fatal);
      if (ops[i].done) ops[i].done(own_error ? results[i].status : storage);
    }
    return storage;
  }

  // Committed: publish, then tell everyone.
  if (began) {
    env_.counters->transactions.fetch_add(1);
    uint64_t prev = env_.counters->max_group_ops.load();
    while (prev < ops.size() &&
           !env_.counters->max_group_ops.compare_exchange_weak(prev, ops.size())) {
    }
  }
  const bool feed_advanced = g.last_seq > last_seq_;
  last_seq_ = g.last_seq;
  env_.listeners->PublishAndDispatch(
      [&](bool has_listeners) {
        Publish(g, /*move_json=*/!has_listeners);
        last_seq_published_.store(last_seq_, std::memory_order_release);
        hlc_published_.store(clock_.last(), std::memory_order_release);
        // Before the listeners: one that sees an event (NotifiedSeq) knows the feed was announced.
        if (feed_advanced && env_.feed_observers != nullptr) {
          env_.feed_observers->Notify(last_seq_);
        }
      },
      g.events);
  uint64_t ok_ops = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (results[i].status.ok()) ++ok_ops;
    if (ops[i].done) ops[i].done(results[i].status);
  }
  env_.counters->committed_ops.fetch_add(ok_ops);
  return Status::Ok();
}

void GroupCommitWriter::Publish(StagedGroup& g, bool move_json) {
  if (!g.docs.empty()) {
    std::vector<std::pair<std::string, std::shared_ptr<const CachedDocument>>> updates;
    updates.reserve(g.docs.size());
    while (!g.docs.empty()) {
      auto node = g.docs.extract(g.docs.begin());  // the key moves on, not copied
      std::string& key = node.key();
      StagedGroup::Doc& s = node.mapped();
      // Purged, or its JSON is unknown (readers render, and fail, from the row): erased.
      if (!s.exists || !s.cacheable) {
        updates.emplace_back(std::move(key), nullptr);
        continue;
      }
      auto doc = std::make_shared<CachedDocument>();
      doc->state = std::move(s.state);
      doc->live = s.live;
      doc->seq = s.seq;
      if (s.event != StagedGroup::kNoEvent) {
        std::string& json = g.events[s.event].json;
        doc->json = move_json ? std::move(json) : json;
      }
      updates.emplace_back(std::move(key), std::move(doc));
    }
    env_.cache->Publish(std::move(updates));
  }
  for (auto& [name, config] : g.configs) env_.configs->Set(std::move(config));
  WriterCounters& c = *env_.counters;
  c.live_documents.fetch_add(g.live_delta);
  c.tombstones.fetch_add(g.tombstone_delta);
  c.tombstones_purged.fetch_add(g.purged);
  c.tombstones_force_purged.fetch_add(g.force_purged);
  c.documents_expired.fetch_add(g.expired);
  c.remote_merged.fetch_add(g.remote_merged);
  c.remote_unchanged.fetch_add(g.remote_unchanged);
  c.remote_rejected.fetch_add(g.remote_rejected);
}

bool GroupCommitWriter::RunGcPass(std::vector<WriteDone> waiters) {
  env_.counters->gc_passes.fetch_add(1);
  const uint64_t effective_before =
      env_.counters->tombstones_purged.load() + env_.counters->documents_expired.load();
  bool full_batch = false;
  const uint64_t now = NowMs();
  const size_t batch = std::max<size_t>(1, env_.options->gc_batch);
  std::vector<WriteOp> ops;
  Status status;
  for (const CollectionConfig& c : env_.configs->List()) {
    SqliteStatement* query = nullptr;
    bool expire = false;
    uint64_t cutoff = 0;
    if (c.deletion_policy == DeletionPolicy::kImplicitTtl &&
        c.soft_delete_ttl_secs.value_or(0) > 0) {
      query = &gc_live_older_;
      expire = true;
      cutoff = Cutoff(now, SecsToMs(*c.soft_delete_ttl_secs));
    } else if (c.deletion_policy == DeletionPolicy::kTombstone) {
      uint64_t ttl = c.tombstone_ttl_secs.value_or(0);
      if (ttl == 0) ttl = env_.options->default_tombstone_ttl_secs;
      query = &gc_dead_older_;
      cutoff = Cutoff(now, SecsToMs(ttl));
    } else {
      continue;
    }
    if (cutoff == 0) continue;
    StatementScope scope(*query);
    size_t found = 0;
    query->BindText(1, c.collection);
    query->BindInt64(2, static_cast<int64_t>(std::min<uint64_t>(
                            cutoff, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))));
    query->BindInt64(3, static_cast<int64_t>(batch));
    for (;;) {
      const int rc = query->Step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        status = SqliteStatus(rc, "GC query", db_.get());
        break;
      }
      std::string doc_id(query->ColumnText(0));
      if (expire) {
        ops.emplace_back(ExpireOp{c.collection, std::move(doc_id), cutoff}, Status(), nullptr);
      } else {
        ops.emplace_back(PurgeOp{c.collection, std::move(doc_id), cutoff, now}, Status(), nullptr);
      }
      if (++found == batch) full_batch = true;
    }
  }
  const size_t max_group = std::max<size_t>(1, env_.options->max_group_ops);
  for (size_t i = 0; i < ops.size(); i += max_group) {
    std::vector<WriteOp> group(
        std::make_move_iterator(ops.begin() + i),
        std::make_move_iterator(ops.begin() + std::min(ops.size(), i + max_group)));
    Status s = CommitGroup(group);
    if (status.ok()) status = s;
  }
  for (auto& w : waiters) w(status);
  // More work is waiting only if this pass made progress (vetoed tombstones alone must not spin).
  const uint64_t effective_after =
      env_.counters->tombstones_purged.load() + env_.counters->documents_expired.load();
  return status.ok() && full_batch && effective_after > effective_before;
}

}  // namespace peat::store

#include "store/group_commit_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "store/validation.h"

namespace peat::store {
namespace {

uint64_t SystemNowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

uint64_t SecsToMs(uint64_t secs) {
  return secs > std::numeric_limits<uint64_t>::max() / 1000 ? std::numeric_limits<uint64_t>::max()
                                                            : secs * 1000;
}

// now - age, or 0 (nothing is that old) when the age reaches back before the epoch.
uint64_t Cutoff(uint64_t now_ms, uint64_t age_ms) { return now_ms > age_ms ? now_ms - age_ms : 0; }

std::function<uint64_t()> ClockOf(const StoreOptions& o) {
  if (o.now_ms) return o.now_ms;
  return SystemNowMs;
}

// Encoded remote states may be larger than the JSON they render (every register carries its
// timestamp): they are accepted up to twice --max-document-bytes.
size_t MaxRemoteStateBytes(const StoreLimits& limits) {
  return limits.max_document_bytes > std::numeric_limits<size_t>::max() / 2
             ? std::numeric_limits<size_t>::max()
             : 2 * limits.max_document_bytes;
}

// SQLite integers are signed: seqs beyond INT64_MAX (never produced by a store) saturate.
int64_t ToInt64(uint64_t v) {
  return static_cast<int64_t>(
      std::min<uint64_t>(v, static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
}

std::string JoinAddresses(const std::vector<std::string>& addresses) {
  std::string out;
  for (const std::string& a : addresses) {
    if (!out.empty()) out.push_back('\n');
    out += a;
  }
  return out;
}

}  // namespace

GroupCommitWriter::GroupCommitWriter(SqliteConnection db, WriterContext ctx, uint64_t last_seq,
                                     uint64_t hlc)
    : db_(std::move(db)),
      ctx_(ctx),
      clock_(ctx.options->node_tag, ClockOf(*ctx.options), ctx.options->max_clock_skew_ms),
      last_seq_(last_seq),
      last_seq_published_(last_seq),
      hlc_published_(hlc) {
  clock_.Restore(hlc);
}

GroupCommitWriter::~GroupCommitWriter() { Stop(); }

uint64_t GroupCommitWriter::NowMs() const {
  return ctx_.options->now_ms ? ctx_.options->now_ms() : SystemNowMs();
}

Status GroupCommitWriter::Start() {
  struct {
    SqliteStatement* stmt;
    const char* sql;
  } stmts[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&select_doc_,
       "SELECT state, live, seq, updated_ms FROM docs WHERE collection = ?1 AND doc_id = ?2"},
      {&upsert_doc_,
       "INSERT INTO docs(collection, doc_id, state, live, seq, updated_ms, src_peer) "
       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(collection, doc_id) DO UPDATE SET "
       "state = excluded.state, live = excluded.live, seq = excluded.seq, "
       "updated_ms = excluded.updated_ms, src_peer = excluded.src_peer"},
      {&delete_doc_, "DELETE FROM docs WHERE collection = ?1 AND doc_id = ?2"},
      {&upsert_config_,
       "INSERT INTO collection_configs(collection, deletion_policy, soft_delete_ttl_secs, "
       "tombstone_ttl_secs) VALUES(?1, ?2, ?3, ?4) ON CONFLICT(collection) DO UPDATE SET "
       "deletion_policy = excluded.deletion_policy, "
       "soft_delete_ttl_secs = excluded.soft_delete_ttl_secs, "
       "tombstone_ttl_secs = excluded.tombstone_ttl_secs"},
      {&upsert_meta_,
       "INSERT INTO meta(key, value) VALUES('last_seq', ?1), ('hlc', ?2) "
       "ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
      {&gc_live_older_,
       "SELECT doc_id FROM docs WHERE live = 1 AND collection = ?1 AND updated_ms < ?2 "
       "ORDER BY updated_ms LIMIT ?3"},
      {&gc_dead_older_,
       "SELECT doc_id FROM docs WHERE live = 0 AND collection = ?1 AND updated_ms < ?2 "
       "ORDER BY updated_ms LIMIT ?3"},
      {&upsert_checkpoint_,
       "INSERT OR REPLACE INTO peer_checkpoints(peer_id, epoch, seq) VALUES(?1, ?2, ?3)"},
      {&upsert_peer_,
       "INSERT INTO peers(endpoint_id, addresses, is_static) VALUES(?1, ?2, ?3) "
       "ON CONFLICT(endpoint_id) DO UPDATE SET addresses = excluded.addresses, "
       "is_static = excluded.is_static"},
      {&delete_peer_, "DELETE FROM peers WHERE endpoint_id = ?1"},
      {&upsert_member_ack_,
       "INSERT INTO member_acks(peer_id, seq) VALUES(?1, ?2) "
       "ON CONFLICT(peer_id) DO UPDATE SET seq = max(seq, excluded.seq)"},
      {&delete_member_, "DELETE FROM member_acks WHERE peer_id = ?1"},
  };
  for (auto& s : stmts) {
    auto st = db_.Prepare(s.sql);
    if (!st.ok()) return st.status();
    *s.stmt = std::move(st).value();
  }
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
    } else if (queue_.size() >= ctx_.options->max_queued_ops) {
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

void GroupCommitWriter::RequestGc(DocumentStore::Done done) {
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
  std::vector<DocumentStore::Done> waiters;
  {
    std::lock_guard lock(mu_);
    waiters.swap(gc_waiters_);
    started_ = false;
  }
  for (auto& w : waiters) w(UnavailableError("store closed"));
  // Statements first, then the connection.
  for (SqliteStatement* s :
       {&begin_, &commit_, &rollback_, &select_doc_, &upsert_doc_, &delete_doc_, &upsert_config_,
        &upsert_meta_, &gc_live_older_, &gc_dead_older_, &upsert_checkpoint_, &upsert_peer_,
        &delete_peer_, &upsert_member_ack_, &delete_member_}) {
    *s = SqliteStatement();
  }
  db_.Close();
}

size_t GroupCommitWriter::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void GroupCommitWriter::Run() {
  using SteadyClock = std::chrono::steady_clock;
  const auto interval = ctx_.options->gc_interval;
  auto next_gc = SteadyClock::now() + interval;
  const size_t max_group = std::max<size_t>(1, ctx_.options->max_group_ops);
  for (;;) {
    std::vector<WriteOp> batch;
    std::vector<DocumentStore::Done> gc_waiters;
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
  const uint64_t saved_seq = last_seq_;
  Group g;
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
    results[i] = Apply(ops[i], g);
    if (results[i].fatal) storage = results[i].status;
  }
  if (began && storage.ok() && g.wrote) {
    upsert_meta_.BindInt64(1, static_cast<int64_t>(last_seq_));
    upsert_meta_.BindInt64(2, static_cast<int64_t>(clock_.last()));
    storage = upsert_meta_.Run("write meta");
  }
  if (began && storage.ok()) storage = commit_.Run("commit");

  if (!storage.ok()) {
    if (db_.InTransaction()) (void)rollback_.Run("rollback");
    clock_ = saved_clock;
    last_seq_ = saved_seq;
    ctx_.counters->failed_groups.fetch_add(1);
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
    ctx_.counters->transactions.fetch_add(1);
    uint64_t prev = ctx_.counters->max_group_ops.load();
    while (prev < ops.size() &&
           !ctx_.counters->max_group_ops.compare_exchange_weak(prev, ops.size())) {
    }
  }
  if (!g.staged.empty()) {
    std::vector<std::pair<std::string, std::shared_ptr<const CachedDocument>>> updates;
    updates.reserve(g.staged.size());
    for (auto& [key, s] : g.staged) {
      if (!s.exists) {
        updates.emplace_back(key, nullptr);
        continue;
      }
      if (!s.cacheable) {  // its JSON is unknown: let readers render (and fail) from the row
        updates.emplace_back(key, nullptr);
        continue;
      }
      auto doc = std::make_shared<CachedDocument>();
      doc->state = std::move(s.state);
      doc->live = s.live;
      doc->seq = s.seq;
      doc->json = std::move(s.json);
      updates.emplace_back(key, std::move(doc));
    }
    ctx_.cache->Publish(std::move(updates));
  }
  for (auto& [name, config] : g.configs) ctx_.configs->Set(std::move(config));
  ctx_.counters->live_documents.fetch_add(g.live_delta);
  ctx_.counters->tombstones.fetch_add(g.tombstone_delta);
  ctx_.counters->tombstones_purged.fetch_add(g.purged);
  ctx_.counters->tombstones_force_purged.fetch_add(g.force_purged);
  ctx_.counters->documents_expired.fetch_add(g.expired);
  ctx_.counters->remote_merged.fetch_add(g.remote_merged);
  ctx_.counters->remote_unchanged.fetch_add(g.remote_unchanged);
  ctx_.counters->remote_rejected.fetch_add(g.remote_rejected);
  last_seq_published_.store(last_seq_, std::memory_order_release);
  hlc_published_.store(clock_.last(), std::memory_order_release);

  ctx_.listeners->Dispatch(g.events);
  uint64_t ok_ops = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (results[i].status.ok()) ++ok_ops;
    if (ops[i].done) ops[i].done(results[i].status);
  }
  ctx_.counters->committed_ops.fetch_add(ok_ops);
  return Status::Ok();
}

GroupCommitWriter::OpResult GroupCommitWriter::Apply(WriteOp& op, Group& g) {
  switch (op.kind) {
    case WriteOp::Kind::kPut:
      return ApplyPut(op, g);
    case WriteOp::Kind::kDelete:
      return ApplyDelete(op, g, /*expire=*/false);
    case WriteOp::Kind::kExpire:
      return ApplyDelete(op, g, /*expire=*/true);
    case WriteOp::Kind::kPurge:
      return ApplyPurge(op, g);
    case WriteOp::Kind::kSetConfig:
      return ApplySetConfig(op, g);
    case WriteOp::Kind::kMergeRemote:
      return ApplyMergeRemote(op, g);
    case WriteOp::Kind::kSavePeer:
      return ApplySavePeer(op, g);
    case WriteOp::Kind::kRemovePeer:
      return ApplyRemovePeer(op, g);
    case WriteOp::Kind::kSaveMemberAck:
      return ApplySaveMemberAck(op, g);
    case WriteOp::Kind::kRemoveMember:
      return ApplyRemoveMember(op, g);
  }
  return {InternalError("unknown write op"), false};
}

std::optional<CollectionConfig> GroupCommitWriter::ConfigOf(const std::string& collection,
                                                            const Group& g) const {
  auto it = g.configs.find(collection);
  if (it != g.configs.end()) return it->second;
  return ctx_.configs->Get(collection);
}

GroupCommitWriter::OpResult GroupCommitWriter::Load(const std::string& collection,
                                                    const std::string& doc_id,
                                                    const std::string& key, Group& g,
                                                    Current& out) {
  out = Current();
  std::string_view state;
  std::string state_holder;
  std::shared_ptr<const CachedDocument> cached;
  if (auto it = g.staged.find(key); it != g.staged.end()) {
    if (!it->second.exists) return {};
    out.exists = true;
    out.live = it->second.live;
    out.seq = it->second.seq;
    state = it->second.state;
  } else if ((cached = ctx_.cache->Lookup(key)) != nullptr) {
    out.exists = true;
    out.live = cached->live;
    out.seq = cached->seq;
    state = cached->state;
  } else {
    StatementScope scope(select_doc_);
    select_doc_.BindText(1, collection);
    select_doc_.BindText(2, doc_id);
    const int rc = select_doc_.Step();
    if (rc == SQLITE_DONE) return {};
    if (rc != SQLITE_ROW) return {SqliteStatus(rc, "read document", db_.get()), true};
    out.exists = true;
    state_holder = std::string(select_doc_.ColumnBlob(0));
    out.live = select_doc_.ColumnInt64(1) != 0;
    out.seq = static_cast<uint64_t>(select_doc_.ColumnInt64(2));
    state = state_holder;
  }
  auto doc = crdt::Document::Decode(state);
  if (!doc.ok()) {
    return {Status(StatusCode::kDataLoss, "stored document " + collection + "/" + doc_id +
                                              " does not decode: " + doc.status().message()),
            false};
  }
  out.doc = std::move(doc).value();
  out.updated_ms = out.doc.MaxTimestamp().wall_ms();
  return {};
}

GroupCommitWriter::OpResult GroupCommitWriter::WriteDoc(
    const std::string& collection, const std::string& doc_id, const std::string& key,
    const crdt::Document& stored, bool live, std::string json, const Current& before, Group& g,
    const std::string& src_peer, bool cacheable) {
  const uint64_t seq = last_seq_ + 1;
  std::string state = stored.Encode();
  upsert_doc_.BindText(1, collection);
  upsert_doc_.BindText(2, doc_id);
  upsert_doc_.BindBlob(3, state);
  upsert_doc_.BindInt64(4, live ? 1 : 0);
  upsert_doc_.BindInt64(5, static_cast<int64_t>(seq));
  upsert_doc_.BindInt64(6, static_cast<int64_t>(stored.MaxTimestamp().wall_ms()));
  upsert_doc_.BindText(7, src_peer);
  if (Status s = upsert_doc_.Run("write document"); !s.ok()) return {s, true};
  last_seq_ = seq;
  g.wrote = true;

  if (before.exists) {
    if (before.live)
      --g.live_delta;
    else
      --g.tombstone_delta;
  }
  if (live)
    ++g.live_delta;
  else
    ++g.tombstone_delta;

  // A document that stays deleted (e.g. a newer remote tombstone) changes nothing a listener
  // can see: it gets its seq (the feed carries it) but no event.
  if (live || (before.exists && before.live)) {
    ChangeEvent e;
    e.seq = seq;
    e.collection = collection;
    e.doc_id = doc_id;
    e.deleted = !live;
    if (live) e.json = json;
    g.events.push_back(std::move(e));
  }

  Staged& st = g.staged[key];
  st.exists = true;
  st.state = std::move(state);
  st.live = live;
  st.seq = seq;
  st.json = live ? std::move(json) : std::string();
  st.cacheable = cacheable || !live;
  return {};
}

GroupCommitWriter::OpResult GroupCommitWriter::ApplyPut(WriteOp& op, Group& g) {
  const std::string key = DocumentCache::Key(op.collection, op.doc_id);
  Current cur;
  if (OpResult r = Load(op.collection, op.doc_id, key, g, cur); !r.status.ok()) return r;
  // Diff against the plaintext, so unchanged leaves keep their timestamps.
  crdt::Document plain;
  PathCipher::Memo paths;  // plaintext → stored paths of the current state
  if (ctx_.cipher != nullptr && cur.exists) {
    auto dec = ctx_.cipher->Decrypt(op.collection, op.doc_id, cur.doc, &paths);
    if (!dec.ok()) {
      return {FailedPreconditionError("cannot decrypt document " + op.collection + "/" + op.doc_id +
                                      " with this node's key; not overwritten"),
              false};
    }
    plain = std::move(dec).value();
  } else if (ctx_.cipher == nullptr) {
    plain = std::move(cur.doc);
  }
  auto put = plain.Put(op.json, clock_.Now(), ctx_.options->limits.max_depth);
  if (!put.ok()) return {put.status(), false};
  if (!put->changed) return {};
  std::string json = plain.Render();
  const bool live = plain.IsLive();
  if (ctx_.cipher != nullptr) {
    auto stored = ctx_.cipher->Encrypt(op.collection, op.doc_id, cur.exists ? &cur.doc : nullptr,
                                       plain, &paths);
    if (!stored.ok()) return {stored.status(), false};
    return WriteDoc(op.collection, op.doc_id, key, *stored, live, std::move(json), cur, g);
  }
  return WriteDoc(op.collection, op.doc_id, key, plain, live, std::move(json), cur, g);
}

GroupCommitWriter::OpResult GroupCommitWriter::ApplyDelete(WriteOp& op, Group& g, bool expire) {
  const auto config = ConfigOf(op.collection, g);
  const DeletionPolicy policy = CollectionConfigs::PolicyOf(config);
  if (!expire && policy == DeletionPolicy::kImmutable) {
    return {FailedPreconditionError("collection " + op.collection +
                                    " is IMMUTABLE: its documents cannot be deleted"),
            false};
  }
  if (expire && policy != DeletionPolicy::kImplicitTtl) return {};  // policy changed meanwhile
  const std::string key = DocumentCache::Key(op.collection, op.doc_id);
  Current cur;
  if (OpResult r = Load(op.collection, op.doc_id, key, g, cur); !r.status.ok()) return r;
  if (!cur.exists) return {};  // deleting a missing document succeeds and records nothing
  if (expire && (!cur.live || cur.updated_ms >= op.cutoff_ms)) return {};  // updated meanwhile
  if (!cur.doc.Delete(clock_.Now()).changed) return {};
  if (expire) ++g.expired;
  return WriteDoc(op.collection, op.doc_id, key, cur.doc, cur.doc.IsLive(), std::string(), cur, g);
}

GroupCommitWriter::OpResult GroupCommitWriter::ApplyPurge(WriteOp& op, Group& g) {
  if (CollectionConfigs::PolicyOf(ConfigOf(op.collection, g)) != DeletionPolicy::kTombstone) {
    return {};
  }
  const std::string key = DocumentCache::Key(op.collection, op.doc_id);
  Current cur;
  if (OpResult r = Load(op.collection, op.doc_id, key, g, cur); !r.status.ok()) return r;
  if (!cur.exists || cur.live || cur.updated_ms >= op.cutoff_ms) return {};
  bool forced = false;
  if (ctx_.options->ack_tracker != nullptr &&
      !ctx_.options->ack_tracker->AllMembersAcknowledged(op.collection, op.doc_id,
                                                         cur.doc.delete_ts(), cur.seq)) {
    const uint64_t bound = SecsToMs(ctx_.options->tombstone_ttl_upper_bound_secs);
    if (op.now_ms < cur.updated_ms || op.now_ms - cur.updated_ms < bound) return {};  // vetoed
    forced = true;
  }
  delete_doc_.BindText(1, op.collection);
  delete_doc_.BindText(2, op.doc_id);
  if (Status s = delete_doc_.Run("purge tombstone"); !s.ok()) return {s, true};
  g.wrote = true;
  --g.tombstone_delta;
  ++g.purged;
  if (forced) ++g.force_purged;
  g.staged[key] = Staged{};  // exists = false: erased from the cache on commit
  return {};
}

GroupCommitWriter::OpResult GroupCommitWriter::ApplySetConfig(WriteOp& op, Group& g) {
  CollectionConfig c = CollectionConfigs::Normalize(std::move(op.config));
  upsert_config_.BindText(1, c.collection);
  upsert_config_.BindInt64(2, static_cast<int64_t>(c.deletion_policy));
  if (c.soft_delete_ttl_secs) {
    upsert_config_.BindInt64(3, static_cast<int64_t>(*c.soft_delete_ttl_secs));
  } else {
    upsert_config_.BindNull(3);
  }
  if (c.tombstone_ttl_secs) {
    upsert_config_.BindInt64(4, static_cast<int64_t>(*c.tombstone_ttl_secs));
  } else {
    upsert_config_.BindNull(4);
  }
  if (Status s = upsert_config_.Run("write collection config"); !s.ok()) return {s, true};
  g.wrote = true;
  std::string name = c.collection;
  g.configs[std::move(name)] = std::move(c);
  return {};
}

GroupCommitWriter::OpResult GroupCommitWriter::ApplyMergeRemote(WriteOp& op, Group& g) {
  const StoreLimits& limits = ctx_.options->limits;
  const size_t max_state = MaxRemoteStateBytes(limits);
  size_t rejected = 0;
  std::string first_reason;  // never holds document values
  auto reject = [&](std::string reason) {
    if (rejected++ == 0) first_reason = std::move(reason);
  };
  for (const RemoteChange& change : op.changes) {
    if (Status s = ValidateDocumentKey(change.collection, change.doc_id); !s.ok()) {
      reject(s.message());
      continue;
    }
    if (change.state.size() > max_state) {
      reject("state is " + std::to_string(change.state.size()) + " bytes; the limit is " +
             std::to_string(max_state) + " (2 x --max-document-bytes)");
      continue;
    }
    auto incoming = crdt::Document::Decode(change.state, limits.max_depth);
    if (!incoming.ok()) {
      reject(incoming.status().message());
      continue;
    }
    // Far-future clocks are clamped (and counted) by the HLC; the state is merged as sent, and
    // local writes still win over it (Put writes above the document's newest timestamp).
    (void)clock_.Observe(incoming->MaxTimestamp());

    const std::string key = DocumentCache::Key(change.collection, change.doc_id);
    Current cur;
    if (OpResult r = Load(change.collection, change.doc_id, key, g, cur); !r.status.ok()) {
      if (r.fatal) return r;
      reject(r.status.message());  // the local row does not decode: leave it for an operator
      continue;
    }
    // With a key, names are stored encrypted: clear names (the old scheme's, relayed by any
    // node, or a keyless writer's) move to their encrypted paths before the merge — once the
    // document shows that this node's key is its key (a wrong key must not hide names from the
    // nodes that have the right one; a state with nothing encrypted is not converted).
    std::optional<crdt::Document> normalized;
    if (ctx_.cipher != nullptr && !DocumentCipher::IsNormalized(*incoming)) {
      auto check = ctx_.cipher->CheckKey(change.collection, change.doc_id, *incoming);
      if (check == DocumentCipher::KeyCheck::kNothingToCheck && cur.exists) {
        check = ctx_.cipher->CheckKey(change.collection, change.doc_id, cur.doc);
      }
      if (check == DocumentCipher::KeyCheck::kMatches) {
        normalized = ctx_.cipher->Normalize(change.collection, change.doc_id, *incoming);
      }
    }
    const crdt::Document& in = normalized ? *normalized : *incoming;
    crdt::Document merged = std::move(cur.doc);
    if (!merged.Merge(in).changed) {
      ++g.remote_unchanged;
      continue;
    }
    ++g.remote_merged;
    const bool live = merged.IsLive();
    std::string json;
    bool cacheable = true;
    if (live) {
      // Collection policies (IMMUTABLE) and this node's key do not gate a merge: replicas must
      // converge, and stored values are opaque. A state this node cannot decrypt is stored all
      // the same; its event carries no JSON and Get reports the error as for any such document.
      auto rendered = RenderStored(ctx_.cipher, change.collection, change.doc_id, merged);
      if (rendered.ok()) {
        json = std::move(rendered).value();
      } else {
        cacheable = false;
      }
    }
    static const std::string kLocal;
    const std::string& src_peer = merged == in ? op.peer_id : kLocal;
    if (OpResult r = WriteDoc(change.collection, change.doc_id, key, merged, live, std::move(json),
                              cur, g, src_peer, cacheable);
        !r.status.ok()) {
      return r;
    }
  }

  // The checkpoint commits with the states it covers (even when none of them changed anything).
  upsert_checkpoint_.BindText(1, op.peer_id);
  upsert_checkpoint_.BindText(2, op.checkpoint.epoch);
  upsert_checkpoint_.BindInt64(3, ToInt64(op.checkpoint.seq));
  if (Status s = upsert_checkpoint_.Run("write replication checkpoint"); !s.ok()) return {s, true};
  g.wrote = true;

  if (rejected > 0) {
    g.remote_rejected += rejected;
    spdlog::warn("replication: skipped {} of {} changes from peer {}: {}", rejected,
                 op.changes.size(), op.peer_id.substr(0, 16), first_reason);
  }
  return {};
}

GroupCommitWriter::OpResult GroupCommitWriter::ApplySavePeer(WriteOp& op, Group& g) {
  upsert_peer_.BindText(1, op.peer.endpoint_id);
  upsert_peer_.BindText(2, JoinAddresses(op.peer.addresses));
  upsert_peer_.BindInt64(3, op.peer.is_static ? 1 : 0);
  if (Status s = upsert_peer_.Run("write peer"); !s.ok()) return {s, true};
  g.wrote = true;
  return {};
}

GroupCommitWriter::OpResult GroupCommitWriter::ApplyRemovePeer(WriteOp& op, Group& g) {
  delete_peer_.BindText(1, op.peer_id);
  if (Status s = delete_peer_.Run("remove peer"); !s.ok()) return {s, true};
  g.wrote = true;
  return {};
}

GroupCommitWriter::OpResult GroupCommitWriter::ApplySaveMemberAck(WriteOp& op, Group& g) {
  upsert_member_ack_.BindText(1, op.peer_id);
  upsert_member_ack_.BindInt64(2, static_cast<int64_t>(op.checkpoint.seq));
  if (Status s = upsert_member_ack_.Run("write member ack"); !s.ok()) return {s, true};
  g.wrote = true;
  return {};
}

GroupCommitWriter::OpResult GroupCommitWriter::ApplyRemoveMember(WriteOp& op, Group& g) {
  delete_member_.BindText(1, op.peer_id);
  if (Status s = delete_member_.Run("remove member"); !s.ok()) return {s, true};
  g.wrote = true;
  return {};
}

bool GroupCommitWriter::RunGcPass(std::vector<DocumentStore::Done> waiters) {
  ctx_.counters->gc_passes.fetch_add(1);
  const uint64_t effective_before =
      ctx_.counters->tombstones_purged.load() + ctx_.counters->documents_expired.load();
  bool full_batch = false;
  const uint64_t now = NowMs();
  const size_t batch = std::max<size_t>(1, ctx_.options->gc_batch);
  std::vector<WriteOp> ops;
  Status status;
  for (const CollectionConfig& c : ctx_.configs->List()) {
    SqliteStatement* query = nullptr;
    WriteOp::Kind kind;
    uint64_t cutoff = 0;
    if (c.deletion_policy == DeletionPolicy::kImplicitTtl &&
        c.soft_delete_ttl_secs.value_or(0) > 0) {
      query = &gc_live_older_;
      kind = WriteOp::Kind::kExpire;
      cutoff = Cutoff(now, SecsToMs(*c.soft_delete_ttl_secs));
    } else if (c.deletion_policy == DeletionPolicy::kTombstone) {
      uint64_t ttl = c.tombstone_ttl_secs.value_or(0);
      if (ttl == 0) ttl = ctx_.options->default_tombstone_ttl_secs;
      query = &gc_dead_older_;
      kind = WriteOp::Kind::kPurge;
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
      WriteOp op;
      op.kind = kind;
      op.collection = c.collection;
      op.doc_id = std::string(query->ColumnText(0));
      op.cutoff_ms = cutoff;
      op.now_ms = now;
      ops.push_back(std::move(op));
      if (++found == batch) full_batch = true;
    }
  }
  const size_t max_group = std::max<size_t>(1, ctx_.options->max_group_ops);
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
      ctx_.counters->tombstones_purged.load() + ctx_.counters->documents_expired.load();
  return status.ok() && full_batch && effective_after > effective_before;
}

}  // namespace peat::store

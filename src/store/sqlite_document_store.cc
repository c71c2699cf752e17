#include "store/sqlite_document_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>

#include "crdt/canonical_json.h"
#include "crdt/document.h"
#include "store/field_name_migration.h"
#include "store/store_schema.h"
#include "store/validation.h"

namespace peat::store {
namespace {

// Databases up to this size get a full PRAGMA quick_check at open; larger ones only the cheap
// checks (a quick_check reads every page).
constexpr int64_t kQuickCheckMaxBytes = 64 << 20;

Status Closed() { return UnavailableError("store closed"); }

constexpr uint64_t kMaxSqliteInt = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

Status ValidatePeerRecord(const PeerRecord& r) {
  PEAT_RETURN_IF_ERROR(ValidateKey("endpoint_id", r.endpoint_id));
  for (const std::string& a : r.addresses) {
    PEAT_RETURN_IF_ERROR(ValidateKey("address", a));
    if (a.find('\n') != std::string::npos) {
      return InvalidArgumentError("address must not contain a line break");
    }
  }
  return Status::Ok();
}

std::vector<std::string> SplitAddresses(std::string_view joined) {
  std::vector<std::string> out;
  while (!joined.empty()) {
    const size_t nl = joined.find('\n');
    out.emplace_back(joined.substr(0, nl));
    if (nl == std::string_view::npos) break;
    joined.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace

SqliteDocumentStore::SqliteDocumentStore(const StoreOptions& options)
    : options_(options.CopyWithoutKey()),
      cache_(options.cache_max_entries, options.cache_max_bytes) {}

StatusOr<std::unique_ptr<SqliteDocumentStore>> SqliteDocumentStore::Open(
    const StoreOptions& options) {
  if (options.data_dir.empty()) return InvalidArgumentError("store data_dir is empty");
  if (options.node_tag == 0) return InvalidArgumentError("store node_tag must be non-zero");
  std::unique_ptr<SqliteDocumentStore> store(new SqliteDocumentStore(options));
  if (!options.encryption_key.empty()) {
    auto cipher = DocumentCipher::Create(options.encryption_key);
    if (!cipher.ok()) return cipher.status();
    store->cipher_.emplace(std::move(cipher).value());
  }
  PEAT_RETURN_IF_ERROR(store->Init());
  return store;
}

Status SqliteDocumentStore::Init() {
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  if (ec) {
    return UnavailableError("cannot create data dir " + options_.data_dir + ": " + ec.message());
  }
  db_path_ = (std::filesystem::path(options_.data_dir) / "peat.db").string();
  // The store is private to the node's user (peat.db, -wal and -shm 0600).
  PEAT_RETURN_IF_ERROR(CreatePrivateDatabaseFile(db_path_));

  auto db = SqliteConnection::Open(db_path_, /*create=*/true, options_.sqlite_vfs,
                                   /*busy_timeout_ms=*/5000);
  if (!db.ok()) return db.status();
  // journal_mode=WAL is persistent in the file; synchronous is per connection (the writer's is
  // the one that matters: readers never commit).
  auto mode = db->Prepare("PRAGMA journal_mode = WAL");
  if (!mode.ok()) return mode.status();
  if (int rc = mode->Step(); rc != SQLITE_ROW) return SqliteStatus(rc, "journal_mode", db->get());
  if (mode->ColumnText(0) != "wal") {
    return UnavailableError("cannot put the store in WAL mode (got " +
                            std::string(mode->ColumnText(0)) + ")");
  }
  mode = SqliteStatement();
  PEAT_RETURN_IF_ERROR(db->Exec(options_.synchronous_full ? "PRAGMA synchronous = FULL"
                                                          : "PRAGMA synchronous = NORMAL"));
  // Keep the WAL from staying huge after a burst (it is truncated to this after checkpoints).
  PEAT_RETURN_IF_ERROR(db->Exec("PRAGMA journal_size_limit = 67108864"));
  PEAT_RETURN_IF_ERROR(InitializeSchema(*db));
  PEAT_RETURN_IF_ERROR(CheckIntegrity(*db, kQuickCheckMaxBytes));
  if (cipher_) {
    auto migrated = MigrateFieldNames(*db, *cipher_);
    if (!migrated.ok()) return migrated.status();
  } else {
    PEAT_RETURN_IF_ERROR(ForgetFieldNameMigration(*db));
  }
  auto meta = LoadMeta(*db);
  if (!meta.ok()) return meta.status();
  epoch_ = meta->epoch;
  PEAT_RETURN_IF_ERROR(configs_.Load(*db));
  auto live = db->QueryInt("SELECT count(*) FROM docs WHERE live = 1");
  if (!live.ok()) return live.status();
  auto dead = db->QueryInt("SELECT count(*) FROM docs WHERE live = 0");
  if (!dead.ok()) return dead.status();
  counters_.live_documents.store(*live);
  counters_.tombstones.store(*dead);

  readers_ = std::make_unique<ReadConnectionPool>(db_path_, options_.sqlite_vfs,
                                                  options_.max_idle_read_connections);
  WriterEnv env;
  env.options = &options_;
  env.cache = &cache_;
  env.configs = &configs_;
  env.listeners = &listeners_;
  env.feed_observers = &feed_observers_;
  env.cipher = cipher_ ? &*cipher_ : nullptr;
  env.counters = &counters_;
  writer_ =
      std::make_unique<GroupCommitWriter>(std::move(db).value(), env, meta->last_seq, meta->hlc);
  return writer_->Start();
}

SqliteDocumentStore::~SqliteDocumentStore() { Close(); }

void SqliteDocumentStore::Close() {
  if (closed_.exchange(true)) return;
  if (writer_) writer_->Stop();
  if (readers_) readers_->Shutdown();
}

void SqliteDocumentStore::Submit(WriteOp op) {
  if (closed_.load() || !writer_) {
    if (op.done) op.done(Closed());
    return;
  }
  writer_->Submit(std::move(op));
}

void SqliteDocumentStore::Put(std::string collection, std::string doc_id, std::string json,
                              Done done) {
  Status precheck = ValidateDocumentKey(collection, doc_id);
  if (precheck.ok()) precheck = ValidateJsonSize(json, options_.limits);
  Submit({PutOp{std::move(collection), std::move(doc_id), std::move(json)}, std::move(precheck),
          std::move(done)});
}

void SqliteDocumentStore::MergePut(std::string collection, std::string doc_id, std::string json,
                                   Done done) {
  Status precheck = ValidateDocumentKey(collection, doc_id);
  if (precheck.ok()) precheck = ValidateJsonSize(json, options_.limits);
  Submit({MergePutOp{std::move(collection), std::move(doc_id), std::move(json)},
          std::move(precheck), std::move(done)});
}

void SqliteDocumentStore::Delete(std::string collection, std::string doc_id, Done done) {
  Status precheck = ValidateDocumentKey(collection, doc_id);
  Submit(
      {DeleteOp{std::move(collection), std::move(doc_id)}, std::move(precheck), std::move(done)});
}

void SqliteDocumentStore::SetCollectionConfig(CollectionConfig config, Done done) {
  Status precheck = ValidateKey("collection", config.collection);
  Submit({SetConfigOp{std::move(config)}, std::move(precheck), std::move(done)});
}

void SqliteDocumentStore::MergeRemote(std::string peer_id, std::vector<RemoteChange> changes,
                                      ReplicationCheckpoint checkpoint, Done done) {
  Status precheck = ValidateKey("peer_id", peer_id);
  Submit({MergeRemoteOp{std::move(peer_id), std::move(changes), std::move(checkpoint)},
          std::move(precheck), std::move(done)});
}

void SqliteDocumentStore::SavePeer(PeerRecord record, Done done) {
  Status precheck = ValidatePeerRecord(record);
  Submit({SavePeerOp{std::move(record)}, std::move(precheck), std::move(done)});
}

void SqliteDocumentStore::RemovePeer(std::string endpoint_id, Done done) {
  Status precheck = ValidateKey("endpoint_id", endpoint_id);
  Submit({RemovePeerOp{std::move(endpoint_id)}, std::move(precheck), std::move(done)});
}

void SqliteDocumentStore::SaveMemberAck(std::string peer_id, uint64_t seq, Done done) {
  Status precheck = ValidateKey("peer_id", peer_id);
  Submit({SaveMemberAckOp{std::move(peer_id), std::min<uint64_t>(seq, kMaxSqliteInt)},
          std::move(precheck), std::move(done)});
}

void SqliteDocumentStore::RemoveMember(std::string peer_id, Done done) {
  Status precheck = ValidateKey("peer_id", peer_id);
  Submit({RemoveMemberOp{std::move(peer_id)}, std::move(precheck), std::move(done)});
}

void SqliteDocumentStore::CollectGarbage(Done done) {
  if (closed_.load() || !writer_) {
    if (done) done(Closed());
    return;
  }
  writer_->RequestGc(std::move(done));
}

StatusOr<std::string> SqliteDocumentStore::Render(const std::string& collection,
                                                  const std::string& doc_id,
                                                  std::string_view state) const {
  auto doc = crdt::Document::Decode(state);
  if (!doc.ok()) {
    return Status(StatusCode::kDataLoss, "stored document " + collection + "/" + doc_id +
                                             " does not decode: " + doc.status().message());
  }
  return RenderStored(cipher_ ? &*cipher_ : nullptr, collection, doc_id, *doc);
}

StatusOr<std::optional<std::string>> SqliteDocumentStore::Get(const std::string& collection,
                                                              const std::string& doc_id) {
  if (closed_.load()) return Closed();
  const std::string key = DocumentCache::Key(collection, doc_id);
  if (auto hit = cache_.Lookup(key)) {
    if (!hit->live) return std::optional<std::string>();
    return std::optional<std::string>(hit->json);
  }
  const uint64_t generation = cache_.generation();  // before the read transaction starts
  auto lease = readers_->Acquire();
  if (!lease.ok()) return lease.status();
  ReadConnection& rc = **lease;
  auto doc = std::make_shared<CachedDocument>();
  {
    StatementScope scope(rc.get_doc);
    rc.get_doc.BindText(1, collection);
    rc.get_doc.BindText(2, doc_id);
    const int step = rc.get_doc.Step();
    if (step == SQLITE_DONE) return std::optional<std::string>();
    if (step != SQLITE_ROW) return SqliteStatus(step, "read document", rc.db.get());
    doc->state = std::string(rc.get_doc.ColumnBlob(0));
    doc->live = rc.get_doc.ColumnInt64(1) != 0;
    doc->seq = static_cast<uint64_t>(rc.get_doc.ColumnInt64(2));
  }
  if (doc->live) {
    auto json = Render(collection, doc_id, doc->state);
    if (!json.ok()) return json.status();  // not cached: the error is re-evaluated each time
    doc->json = std::move(json).value();
  }
  std::optional<std::string> out;
  if (doc->live) out = doc->json;
  cache_.InsertIfUnchanged(generation, key, std::move(doc));
  return out;
}

StatusOr<std::vector<std::string>> SqliteDocumentStore::List(const std::string& collection) {
  if (closed_.load()) return Closed();
  auto lease = readers_->Acquire();
  if (!lease.ok()) return lease.status();
  ReadConnection& rc = **lease;
  StatementScope scope(rc.list_ids);
  rc.list_ids.BindText(1, collection);
  std::vector<std::string> ids;
  for (;;) {
    const int step = rc.list_ids.Step();
    if (step == SQLITE_DONE) break;
    if (step != SQLITE_ROW) return SqliteStatus(step, "list documents", rc.db.get());
    ids.emplace_back(rc.list_ids.ColumnText(0));
  }
  return ids;
}

StatusOr<std::vector<CollectionCount>> SqliteDocumentStore::CountByCollection() {
  if (closed_.load()) return Closed();
  auto lease = readers_->Acquire();
  if (!lease.ok()) return lease.status();
  ReadConnection& rc = **lease;
  StatementScope scope(rc.count_live);
  std::vector<CollectionCount> counts;
  for (;;) {
    const int step = rc.count_live.Step();
    if (step == SQLITE_DONE) break;
    if (step != SQLITE_ROW) return SqliteStatus(step, "count documents", rc.db.get());
    counts.push_back({std::string(rc.count_live.ColumnText(0)),
                      static_cast<uint64_t>(rc.count_live.ColumnInt64(1))});
  }
  return counts;
}

Status SqliteDocumentStore::Scan(const std::vector<std::string>& collections,
                                 const std::function<bool(const ChangeEvent&)>& fn) {
  if (closed_.load()) return Closed();
  auto lease = readers_->Acquire();
  if (!lease.ok()) return lease.status();
  ReadConnection& rc = **lease;
  // One read transaction: the snapshot is consistent across collections.
  PEAT_RETURN_IF_ERROR(rc.db.Exec("BEGIN"));
  struct EndRead {
    SqliteConnection& db;
    ~EndRead() { (void)db.Exec("COMMIT"); }
  } end_read{rc.db};

  // Returns false when `fn` asked to stop.
  auto emit = [&](SqliteStatement& st, int collection_col, const std::string* collection,
                  Status& status) -> bool {
    StatementScope scope(st);
    for (;;) {
      const int step = st.Step();
      if (step == SQLITE_DONE) return true;
      if (step != SQLITE_ROW) {
        status = SqliteStatus(step, "scan documents", rc.db.get());
        return false;
      }
      ChangeEvent e;
      e.collection = collection_col >= 0 ? std::string(st.ColumnText(collection_col)) : *collection;
      const int base = collection_col >= 0 ? 1 : 0;
      e.doc_id = std::string(st.ColumnText(base));
      e.seq = static_cast<uint64_t>(st.ColumnInt64(base + 2));
      auto json = Render(e.collection, e.doc_id, st.ColumnBlob(base + 1));
      if (!json.ok()) {
        status = json.status();
        return false;
      }
      e.json = std::move(json).value();
      if (!fn(e)) return false;
    }
  };

  Status status;
  if (collections.empty()) {
    emit(rc.scan_all, 0, nullptr, status);
    return status;
  }
  std::vector<std::string> sorted = collections;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (const std::string& c : sorted) {
    rc.scan_collection.BindText(1, c);
    if (!emit(rc.scan_collection, -1, &c, status)) break;
  }
  return status;
}

StatusOr<std::optional<CollectionConfig>> SqliteDocumentStore::GetCollectionConfig(
    const std::string& collection) {
  if (closed_.load()) return Closed();
  return configs_.Get(collection);
}

StatusOr<std::vector<CollectionConfig>> SqliteDocumentStore::ListCollectionConfigs() {
  if (closed_.load()) return Closed();
  return configs_.List();
}

uint64_t SqliteDocumentStore::AddListener(std::shared_ptr<ChangeListener> listener) {
  return listeners_.Add(std::move(listener));
}

void SqliteDocumentStore::RemoveListener(uint64_t id) { listeners_.Remove(id); }

uint64_t SqliteDocumentStore::AddFeedObserver(FeedObserver observer) {
  return feed_observers_.Add(std::move(observer));
}

void SqliteDocumentStore::RemoveFeedObserver(uint64_t id) { feed_observers_.Remove(id); }

StatusOr<FeedPage> SqliteDocumentStore::ReadFeed(const FeedQuery& q) {
  if (closed_.load()) return Closed();
  FeedPage page;
  page.scanned_through = q.after_seq;
  // Rows committed after this point have larger seqs and stay out of the page, so `upto` is a
  // position the whole page is consistent with.
  const uint64_t upto = std::min<uint64_t>({q.upto_seq, LastSeq(), kMaxSqliteInt});
  if (q.max_entries == 0 || q.after_seq >= upto) return page;
  auto lease = readers_->Acquire();
  if (!lease.ok()) return lease.status();
  ReadConnection& rc = **lease;
  SqliteStatement& st = q.collections.empty()
                            ? rc.read_feed
                            : (q.exclude_collections ? rc.read_feed_not_in : rc.read_feed_in);
  StatementScope scope(st);
  st.BindInt64(1, static_cast<int64_t>(q.after_seq));
  // Skipped rows do not fill the page, but a page examines a bounded number of them.
  const uint64_t limit = std::min<uint64_t>(q.max_entries, kMaxSqliteInt - kFeedMaxSkipped);
  const uint64_t row_limit = limit + kFeedMaxSkipped;
  st.BindInt64(2, static_cast<int64_t>(row_limit));
  st.BindInt64(3, static_cast<int64_t>(upto));
  std::string collections_json;  // bound text must outlive the steps
  if (!q.collections.empty()) {
    collections_json = "[";
    for (const auto& c : q.collections) {
      if (collections_json.size() > 1) collections_json += ',';
      crdt::AppendJsonString(&collections_json, c);
    }
    collections_json += ']';
    st.BindText(4, collections_json);
  }
  size_t bytes = 0;
  uint64_t rows = 0;
  for (;;) {
    const int step = st.Step();
    if (step == SQLITE_DONE) {
      // Out of rows: everything up to `upto` was considered (unless the row limit ended it).
      if (rows < row_limit) page.scanned_through = upto;
      break;
    }
    if (step != SQLITE_ROW) return SqliteStatus(step, "read change feed", rc.db.get());
    ++rows;
    const auto seq = static_cast<uint64_t>(st.ColumnInt64(0));
    const std::string_view src_peer = st.ColumnText(4);
    if (!q.skip_src_peer.empty() && src_peer == q.skip_src_peer) {
      page.scanned_through = seq;
      continue;
    }
    const std::string_view state = st.ColumnBlob(3);
    if (!page.entries.empty() &&
        (state.size() > q.max_bytes || bytes > q.max_bytes - state.size())) {
      break;  // this row is left for the next page
    }
    bytes += state.size();
    FeedEntry& e = page.entries.emplace_back();
    e.seq = seq;
    e.collection = std::string(st.ColumnText(1));
    e.doc_id = std::string(st.ColumnText(2));
    e.state = std::string(state);
    e.src_peer = std::string(src_peer);
    page.scanned_through = seq;
    if (page.entries.size() >= q.max_entries) break;
  }
  return page;
}

StatusOr<std::vector<std::string>> SqliteDocumentStore::ReadStates(
    const std::vector<DocRef>& docs) {
  if (closed_.load()) return Closed();
  std::vector<std::string> states(docs.size());
  std::optional<ReadConnectionPool::Lease> lease;  // acquired at the first cache miss
  for (size_t i = 0; i < docs.size(); ++i) {
    if (auto hit = cache_.Lookup(DocumentCache::Key(docs[i].collection, docs[i].doc_id))) {
      states[i] = hit->state;
      continue;
    }
    if (!lease) {
      auto acquired = readers_->Acquire();
      if (!acquired.ok()) return acquired.status();
      lease.emplace(std::move(acquired).value());
    }
    ReadConnection& rc = **lease;
    StatementScope scope(rc.get_doc);
    rc.get_doc.BindText(1, docs[i].collection);
    rc.get_doc.BindText(2, docs[i].doc_id);
    const int step = rc.get_doc.Step();
    if (step == SQLITE_DONE) continue;
    if (step != SQLITE_ROW) return SqliteStatus(step, "read document state", rc.db.get());
    states[i] = std::string(rc.get_doc.ColumnBlob(0));
  }
  return states;
}

StatusOr<ReplicationCheckpoint> SqliteDocumentStore::GetCheckpoint(const std::string& peer_id) {
  if (closed_.load()) return Closed();
  auto lease = readers_->Acquire();
  if (!lease.ok()) return lease.status();
  ReadConnection& rc = **lease;
  StatementScope scope(rc.get_checkpoint);
  rc.get_checkpoint.BindText(1, peer_id);
  const int step = rc.get_checkpoint.Step();
  ReplicationCheckpoint cp;
  if (step == SQLITE_DONE) return cp;
  if (step != SQLITE_ROW) return SqliteStatus(step, "read replication checkpoint", rc.db.get());
  cp.epoch = std::string(rc.get_checkpoint.ColumnText(0));
  cp.seq = static_cast<uint64_t>(rc.get_checkpoint.ColumnInt64(1));
  return cp;
}

StatusOr<std::vector<PeerRecord>> SqliteDocumentStore::ListPeerRecords() {
  if (closed_.load()) return Closed();
  auto lease = readers_->Acquire();
  if (!lease.ok()) return lease.status();
  ReadConnection& rc = **lease;
  StatementScope scope(rc.list_peers);
  std::vector<PeerRecord> peers;
  for (;;) {
    const int step = rc.list_peers.Step();
    if (step == SQLITE_DONE) break;
    if (step != SQLITE_ROW) return SqliteStatus(step, "list peers", rc.db.get());
    PeerRecord& r = peers.emplace_back();
    r.endpoint_id = std::string(rc.list_peers.ColumnText(0));
    r.addresses = SplitAddresses(rc.list_peers.ColumnText(1));
    r.is_static = rc.list_peers.ColumnInt64(2) != 0;
  }
  return peers;
}

StatusOr<std::vector<std::pair<std::string, uint64_t>>> SqliteDocumentStore::ListMemberAcks() {
  if (closed_.load()) return Closed();
  auto lease = readers_->Acquire();
  if (!lease.ok()) return lease.status();
  ReadConnection& rc = **lease;
  StatementScope scope(rc.list_member_acks);
  std::vector<std::pair<std::string, uint64_t>> acks;
  for (;;) {
    const int step = rc.list_member_acks.Step();
    if (step == SQLITE_DONE) break;
    if (step != SQLITE_ROW) return SqliteStatus(step, "list member acks", rc.db.get());
    acks.emplace_back(std::string(rc.list_member_acks.ColumnText(0)),
                      static_cast<uint64_t>(rc.list_member_acks.ColumnInt64(1)));
  }
  return acks;
}

uint64_t SqliteDocumentStore::LastSeq() const { return writer_ ? writer_->last_seq() : 0; }

uint64_t SqliteDocumentStore::NotifiedSeq() const { return listeners_.dispatched_seq(); }

uint64_t SqliteDocumentStore::LastHlc() const { return writer_ ? writer_->last_hlc() : 0; }

StoreStats SqliteDocumentStore::Stats() const {
  StoreStats s;
  s.transactions = counters_.transactions.load();
  s.committed_ops = counters_.committed_ops.load();
  s.failed_groups = counters_.failed_groups.load();
  s.max_group_ops = counters_.max_group_ops.load();
  s.live_documents = static_cast<uint64_t>(std::max<int64_t>(0, counters_.live_documents.load()));
  s.tombstones = static_cast<uint64_t>(std::max<int64_t>(0, counters_.tombstones.load()));
  s.tombstones_purged = counters_.tombstones_purged.load();
  s.tombstones_force_purged = counters_.tombstones_force_purged.load();
  s.documents_expired = counters_.documents_expired.load();
  s.gc_passes = counters_.gc_passes.load();
  s.remote_merged = counters_.remote_merged.load();
  s.remote_unchanged = counters_.remote_unchanged.load();
  s.remote_rejected = counters_.remote_rejected.load();
  s.cache_entries = cache_.entries();
  s.cache_bytes = cache_.bytes();
  s.cache_hits = cache_.hits();
  s.cache_misses = cache_.misses();
  s.queued_ops = writer_ ? writer_->queued() : 0;
  return s;
}

StatusOr<std::optional<uint64_t>> SqliteDocumentStore::OldestTombstoneMs() {
  if (closed_.load()) return Closed();
  auto lease = readers_->Acquire();
  if (!lease.ok()) return lease.status();
  ReadConnection& rc = **lease;
  StatementScope scope(rc.oldest_tombstone);
  const int step = rc.oldest_tombstone.Step();
  if (step != SQLITE_ROW) return SqliteStatus(step, "oldest tombstone", rc.db.get());
  if (rc.oldest_tombstone.ColumnIsNull(0)) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(rc.oldest_tombstone.ColumnInt64(0)));
}

void SqliteDocumentStore::RegisterMetrics(MetricsRegistry& registry) {
  registry.AddCollector([this](std::string& out) {
    const StoreStats s = Stats();
    auto gauge = [&](const char* name, const char* help, double v) {
      AppendMetricHeader(out, name, "gauge", help);
      AppendSample(out, name, "", v);
    };
    auto counter = [&](const char* name, const char* help, double v) {
      AppendMetricHeader(out, name, "counter", help);
      AppendSample(out, name, "", v);
    };
    gauge("peat_store_documents", "Live documents in the local store.",
          static_cast<double>(s.live_documents));
    gauge("peat_store_tombstones", "Deleted documents whose tombstone is kept for replication.",
          static_cast<double>(s.tombstones));
    counter("peat_store_tombstones_purged_total", "Tombstones purged (TOMBSTONE collections).",
            static_cast<double>(s.tombstones_purged));
    counter("peat_store_tombstones_force_purged_total",
            "Tombstones purged at the TTL upper bound before every member acknowledged them.",
            static_cast<double>(s.tombstones_force_purged));
    counter("peat_store_documents_expired_total", "Documents deleted by IMPLICIT_TTL expiry.",
            static_cast<double>(s.documents_expired));
    counter("peat_store_remote_merges_total",
            "Replicated document states merged that changed the local state.",
            static_cast<double>(s.remote_merged));
    counter("peat_store_remote_unchanged_total",
            "Replicated document states merged that changed nothing (already known).",
            static_cast<double>(s.remote_unchanged));
    counter("peat_store_remote_rejected_total",
            "Replicated document states skipped as invalid (bad key, too large, undecodable).",
            static_cast<double>(s.remote_rejected));
    counter("peat_store_transactions_total", "Committed write transactions (groups).",
            static_cast<double>(s.transactions));
    counter("peat_store_write_failures_total", "Write groups rolled back by a storage failure.",
            static_cast<double>(s.failed_groups));
    gauge("peat_store_write_queue", "Writes waiting for the writer thread.",
          static_cast<double>(s.queued_ops));
    gauge("peat_store_cache_bytes", "Estimated bytes held by the document cache.",
          static_cast<double>(s.cache_bytes));
    std::error_code ec;
    double bytes = 0;
    for (const char* suffix : {"", "-wal"}) {
      auto n = std::filesystem::file_size(db_path_ + suffix, ec);
      if (!ec) bytes += static_cast<double>(n);
    }
    gauge("peat_store_bytes", "Size of the store's database and WAL files.", bytes);
  });
}

}  // namespace peat::store

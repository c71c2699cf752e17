#include "attach/attachment_registry.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <utility>
#include <variant>

#include "store/sqlite_connection.h"

namespace peat::attach {
namespace {

constexpr int64_t kSchemaVersion = 1;

// Version 1. Handles and deliveries are looked up by distribution id, handles also by bundle
// (file_index order) and by blob token (BlobReferenced); deliveries by path (latest first).
constexpr const char* kCreateV1 = R"sql(
CREATE TABLE bundles(
  bundle_id TEXT PRIMARY KEY,
  identity BLOB NOT NULL,
  priority_class INTEGER NOT NULL,
  state INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  touched_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX bundles_by_created ON bundles(created_ms, bundle_id);
CREATE TABLE handles(
  distribution_id TEXT PRIMARY KEY,
  bundle_id TEXT NOT NULL,
  file_index INTEGER NOT NULL,
  blob_token TEXT NOT NULL,
  size INTEGER NOT NULL,
  UNIQUE(bundle_id, file_index)
) WITHOUT ROWID;
CREATE INDEX handles_by_blob ON handles(blob_token);
CREATE TABLE deliveries(
  distribution_id TEXT PRIMARY KEY,
  path TEXT NOT NULL,
  blob_token TEXT NOT NULL,
  started_at_ms INTEGER NOT NULL,
  delivered_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX deliveries_by_path ON deliveries(path, started_at_ms, distribution_id);
CREATE INDEX deliveries_by_blob ON deliveries(blob_token, delivered_ms);
CREATE TABLE outbox(
  root_name TEXT NOT NULL,
  relative_path TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  sha256_hex TEXT NOT NULL,
  bundle_id TEXT NOT NULL,
  PRIMARY KEY(root_name, relative_path)
) WITHOUT ROWID;
CREATE TABLE queued(
  distribution_id TEXT PRIMARY KEY,
  bundle_id TEXT NOT NULL,
  queued_ms INTEGER NOT NULL,
  doc TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX queued_by_time ON queued(queued_ms, bundle_id);
CREATE TABLE peers(
  endpoint_id TEXT PRIMARY KEY,
  node_id TEXT NOT NULL,
  accepts_attachments INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// A value bound to a statement parameter (1-based, in order).
struct Blob {
  std::string_view bytes;
};
using Value = std::variant<std::string_view, int64_t, Blob>;

void BindAll(store::SqliteStatement& stmt, std::initializer_list<Value> args) {
  int i = 1;
  for (const Value& v : args) {
    if (const auto* s = std::get_if<std::string_view>(&v)) {
      stmt.BindText(i++, *s);
    } else if (const auto* b = std::get_if<Blob>(&v)) {
      stmt.BindBlob(i++, b->bytes);
    } else {
      stmt.BindInt64(i++, std::get<int64_t>(v));
    }
  }
}

StatusOr<TransferState> StateOf(int64_t v) {
  if (v < static_cast<int64_t>(TransferState::kPending) ||
      v > static_cast<int64_t>(TransferState::kCancelled)) {
    return Status(StatusCode::kDataLoss,
                  "attachments.db: bundle state " + std::to_string(v) + " is unknown");
  }
  return static_cast<TransferState>(v);
}

constexpr const char* kBundleColumns =
    "bundle_id, identity, priority_class, state, created_ms, touched_ms";
constexpr const char* kHandleColumns = "distribution_id, bundle_id, file_index, blob_token, size";
constexpr const char* kDeliveryColumns =
    "distribution_id, path, blob_token, started_at_ms, delivered_ms";

StatusOr<BundleRecord> ReadBundle(const store::SqliteStatement& s) {
  BundleRecord b;
  b.bundle_id = std::string(s.ColumnText(0));
  b.identity = std::string(s.ColumnBlob(1));
  b.priority_class = static_cast<int>(s.ColumnInt64(2));
  PEAT_ASSIGN_OR_RETURN(b.state, StateOf(s.ColumnInt64(3)));
  b.created_ms = s.ColumnInt64(4);
  b.touched_ms = s.ColumnInt64(5);
  return b;
}

StatusOr<HandleRecord> ReadHandle(const store::SqliteStatement& s) {
  return HandleRecord{std::string(s.ColumnText(0)), std::string(s.ColumnText(1)),
                      static_cast<uint32_t>(s.ColumnInt64(2)), std::string(s.ColumnText(3)),
                      static_cast<uint64_t>(s.ColumnInt64(4))};
}

StatusOr<DeliveryRecord> ReadDelivery(const store::SqliteStatement& s) {
  return DeliveryRecord{std::string(s.ColumnText(0)), std::string(s.ColumnText(1)),
                        std::string(s.ColumnText(2)), s.ColumnInt64(3), s.ColumnInt64(4)};
}

StatusOr<OutboxRecord> ReadOutbox(const store::SqliteStatement& s) {
  return OutboxRecord{std::string(s.ColumnText(0)),
                      std::string(s.ColumnText(1)),
                      static_cast<uint64_t>(s.ColumnInt64(2)),
                      s.ColumnInt64(3),
                      std::string(s.ColumnText(4)),
                      std::string(s.ColumnText(5))};
}

StatusOr<KnownPeer> ReadPeer(const store::SqliteStatement& s) {
  return KnownPeer{std::string(s.ColumnText(0)), std::string(s.ColumnText(1)),
                   s.ColumnInt64(2) != 0, s.ColumnInt64(3)};
}

std::string Sql(std::initializer_list<std::string_view> parts) {
  std::string sql;
  for (std::string_view p : parts) sql += p;
  return sql;
}

}  // namespace

struct AttachmentRegistry::Impl {
  store::SqliteConnection db;

  // Runs a statement that returns no rows.
  Status Run(std::string_view sql, std::initializer_list<Value> args, std::string_view what) {
    PEAT_ASSIGN_OR_RETURN(store::SqliteStatement stmt, db.Prepare(sql));
    BindAll(stmt, args);
    return stmt.Run(what);
  }

  // Every row of a query, each converted by `read`.
  template <typename T>
  StatusOr<std::vector<T>> Query(std::string_view sql, std::initializer_list<Value> args,
                                 std::string_view what,
                                 StatusOr<T> (*read)(const store::SqliteStatement&)) {
    PEAT_ASSIGN_OR_RETURN(store::SqliteStatement stmt, db.Prepare(sql));
    BindAll(stmt, args);
    std::vector<T> rows;
    for (;;) {
      const int rc = stmt.Step();
      if (rc == SQLITE_DONE) return rows;
      if (rc != SQLITE_ROW) return store::SqliteStatus(rc, what, db.get());
      PEAT_ASSIGN_OR_RETURN(T row, read(stmt));
      rows.push_back(std::move(row));
    }
  }

  // The first row of a query (the SQL says LIMIT 1 or selects by key), if any.
  template <typename T>
  StatusOr<std::optional<T>> QueryOne(std::string_view sql, std::initializer_list<Value> args,
                                      std::string_view what,
                                      StatusOr<T> (*read)(const store::SqliteStatement&)) {
    PEAT_ASSIGN_OR_RETURN(std::vector<T> rows, Query(sql, args, what, read));
    if (rows.empty()) return std::optional<T>();
    return std::optional<T>(std::move(rows.front()));
  }

  // BEGIN IMMEDIATE, `body`, COMMIT; ROLLBACK if any step fails.
  Status Transaction(const std::function<Status()>& body) {
    PEAT_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    Status s = body();
    if (s.ok()) s = db.Exec("COMMIT");
    if (!s.ok() && db.InTransaction()) (void)db.Exec("ROLLBACK");
    return s;
  }

  Status DeleteBundleRows(std::string_view bundle_id) {
    PEAT_RETURN_IF_ERROR(Run("DELETE FROM handles WHERE bundle_id = ?", {bundle_id},
                             "attachments.db: delete handles"));
    PEAT_RETURN_IF_ERROR(Run("DELETE FROM queued WHERE bundle_id = ?", {bundle_id},
                             "attachments.db: delete queued distributions"));
    return Run("DELETE FROM bundles WHERE bundle_id = ?", {bundle_id},
               "attachments.db: delete bundle");
  }

  Status InitializeSchema() {
    return Transaction([&]() -> Status {
      PEAT_ASSIGN_OR_RETURN(int64_t version, db.QueryInt("PRAGMA user_version"));
      if (version > kSchemaVersion) {
        return FailedPreconditionError("attachments.db schema version " + std::to_string(version) +
                                       " is newer than this peat-node understands (" +
                                       std::to_string(kSchemaVersion) + ")");
      }
      if (version < 1) {
        PEAT_RETURN_IF_ERROR(db.Exec(kCreateV1));
        PEAT_RETURN_IF_ERROR(db.Exec("PRAGMA user_version = 1"));
      }
      return Status::Ok();
    });
  }
};

AttachmentRegistry::AttachmentRegistry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AttachmentRegistry::~AttachmentRegistry() = default;

StatusOr<std::unique_ptr<AttachmentRegistry>> AttachmentRegistry::Open(const std::string& path) {
  // Private to the node's user like peat.db.
  PEAT_RETURN_IF_ERROR(store::CreatePrivateDatabaseFile(path));
  auto impl = std::make_unique<Impl>();
  PEAT_ASSIGN_OR_RETURN(impl->db, store::SqliteConnection::Open(path, /*create=*/false, /*vfs=*/"",
                                                                /*busy_timeout_ms=*/5000));
  PEAT_ASSIGN_OR_RETURN(store::SqliteStatement mode, impl->db.Prepare("PRAGMA journal_mode = WAL"));
  if (const int rc = mode.Step(); rc != SQLITE_ROW) {
    return store::SqliteStatus(rc, "attachments.db: journal_mode", impl->db.get());
  }
  if (mode.ColumnText(0) != "wal") {
    return UnavailableError("cannot put attachments.db in WAL mode (got " +
                            std::string(mode.ColumnText(0)) + ")");
  }
  mode = store::SqliteStatement();
  PEAT_RETURN_IF_ERROR(impl->db.Exec("PRAGMA synchronous = FULL"));
  PEAT_RETURN_IF_ERROR(impl->InitializeSchema());
  return std::unique_ptr<AttachmentRegistry>(new AttachmentRegistry(std::move(impl)));
}

Status AttachmentRegistry::InsertBundle(const BundleRecord& bundle,
                                        const std::vector<HandleRecord>& handles) {
  return impl_->Transaction([&]() -> Status {
    PEAT_RETURN_IF_ERROR(impl_->DeleteBundleRows(bundle.bundle_id));
    PEAT_RETURN_IF_ERROR(
        impl_->Run(Sql({"INSERT INTO bundles(", kBundleColumns, ") VALUES (?, ?, ?, ?, ?, ?)"}),
                   {bundle.bundle_id, Blob{bundle.identity}, int64_t{bundle.priority_class},
                    static_cast<int64_t>(bundle.state), bundle.created_ms, bundle.touched_ms},
                   "attachments.db: insert bundle"));
    for (const HandleRecord& h : handles) {
      PEAT_RETURN_IF_ERROR(
          impl_->Run(Sql({"INSERT INTO handles(", kHandleColumns, ") VALUES (?, ?, ?, ?, ?)"}),
                     {h.distribution_id, bundle.bundle_id, int64_t{h.file_index}, h.blob_token,
                      static_cast<int64_t>(h.size)},
                     "attachments.db: insert handle"));
    }
    return Status::Ok();
  });
}

StatusOr<std::optional<BundleRecord>> AttachmentRegistry::GetBundle(const std::string& bundle_id) {
  return impl_->QueryOne(Sql({"SELECT ", kBundleColumns, " FROM bundles WHERE bundle_id = ?"}),
                         {bundle_id}, "attachments.db: read bundle", &ReadBundle);
}

StatusOr<std::vector<BundleRecord>> AttachmentRegistry::ListBundles() {
  return impl_->Query(
      Sql({"SELECT ", kBundleColumns, " FROM bundles ORDER BY created_ms, bundle_id"}), {},
      "attachments.db: list bundles", &ReadBundle);
}

StatusOr<std::vector<HandleRecord>> AttachmentRegistry::Handles(const std::string& bundle_id) {
  return impl_->Query(
      Sql({"SELECT ", kHandleColumns, " FROM handles WHERE bundle_id = ? ORDER BY file_index"}),
      {bundle_id}, "attachments.db: read handles", &ReadHandle);
}

StatusOr<std::optional<HandleRecord>> AttachmentRegistry::HandleByDistribution(
    const std::string& distribution_id) {
  return impl_->QueryOne(
      Sql({"SELECT ", kHandleColumns, " FROM handles WHERE distribution_id = ?"}),
      {distribution_id}, "attachments.db: read handle", &ReadHandle);
}

Status AttachmentRegistry::SetBundleState(const std::string& bundle_id, TransferState state,
                                          int64_t touched_ms) {
  return impl_->Run("UPDATE bundles SET state = ?, touched_ms = ? WHERE bundle_id = ?",
                    {static_cast<int64_t>(state), touched_ms, bundle_id},
                    "attachments.db: set bundle state");
}

Status AttachmentRegistry::TouchBundle(const std::string& bundle_id, int64_t touched_ms) {
  return impl_->Run("UPDATE bundles SET touched_ms = ? WHERE bundle_id = ?",
                    {touched_ms, bundle_id}, "attachments.db: touch bundle");
}

Status AttachmentRegistry::DeleteBundle(const std::string& bundle_id) {
  return impl_->Transaction([&] { return impl_->DeleteBundleRows(bundle_id); });
}

StatusOr<bool> AttachmentRegistry::BlobReferenced(const std::string& blob_token) {
  PEAT_ASSIGN_OR_RETURN(
      std::optional<HandleRecord> h,
      impl_->QueryOne(
          Sql({"SELECT ", kHandleColumns, " FROM handles WHERE blob_token = ? LIMIT 1"}),
          {blob_token}, "attachments.db: find blob references", &ReadHandle));
  return h.has_value();
}

Status AttachmentRegistry::RecordDelivery(const DeliveryRecord& d) {
  return impl_->Run(
      Sql({"INSERT OR REPLACE INTO deliveries(", kDeliveryColumns, ") VALUES (?, ?, ?, ?, ?)"}),
      {d.distribution_id, d.path, d.blob_token, d.started_at_ms, d.delivered_ms},
      "attachments.db: record delivery");
}

StatusOr<std::optional<DeliveryRecord>> AttachmentRegistry::GetDelivery(
    const std::string& distribution_id) {
  return impl_->QueryOne(
      Sql({"SELECT ", kDeliveryColumns, " FROM deliveries WHERE distribution_id = ?"}),
      {distribution_id}, "attachments.db: read delivery", &ReadDelivery);
}

StatusOr<std::optional<DeliveryRecord>> AttachmentRegistry::LatestDeliveryAt(
    const std::string& path) {
  return impl_->QueryOne(Sql({"SELECT ", kDeliveryColumns,
                              " FROM deliveries WHERE path = ?"
                              " ORDER BY started_at_ms DESC, distribution_id DESC LIMIT 1"}),
                         {path}, "attachments.db: latest delivery", &ReadDelivery);
}

namespace {
StatusOr<std::pair<std::string, std::string>> ReadQueued(const store::SqliteStatement& stmt) {
  return std::make_pair(std::string(stmt.ColumnText(0)), std::string(stmt.ColumnText(1)));
}
StatusOr<std::string> ReadText(const store::SqliteStatement& stmt) {
  return std::string(stmt.ColumnText(0));
}
}  // namespace

Status AttachmentRegistry::QueueDistributions(
    const std::string& bundle_id, const std::vector<std::pair<std::string, std::string>>& docs,
    int64_t queued_ms) {
  return impl_->Transaction([&]() -> Status {
    for (const auto& [id, doc] : docs) {
      PEAT_RETURN_IF_ERROR(
          impl_->Run("INSERT OR REPLACE INTO queued(distribution_id, bundle_id, queued_ms, doc)"
                     " VALUES (?, ?, ?, ?)",
                     {id, bundle_id, queued_ms, doc}, "attachments.db: queue a distribution"));
    }
    return Status::Ok();
  });
}

StatusOr<std::optional<std::string>> AttachmentRegistry::QueuedDistributionDoc(
    const std::string& distribution_id) {
  return impl_->QueryOne("SELECT doc FROM queued WHERE distribution_id = ?", {distribution_id},
                         "attachments.db: read a queued distribution", &ReadText);
}

StatusOr<std::vector<std::string>> AttachmentRegistry::QueuedBundles() {
  return impl_->Query(
      "SELECT bundle_id FROM queued GROUP BY bundle_id ORDER BY MIN(queued_ms), bundle_id", {},
      "attachments.db: list queued bundles", &ReadText);
}

StatusOr<std::vector<std::pair<std::string, std::string>>> AttachmentRegistry::QueuedDocs(
    const std::string& bundle_id) {
  return impl_->Query(
      "SELECT distribution_id, doc FROM queued WHERE bundle_id = ? ORDER BY distribution_id",
      {bundle_id}, "attachments.db: read queued", &ReadQueued);
}

Status AttachmentRegistry::Unqueue(const std::string& bundle_id) {
  return impl_->Run("DELETE FROM queued WHERE bundle_id = ?", {bundle_id},
                    "attachments.db: unqueue");
}

StatusOr<std::optional<DeliveryRecord>> AttachmentRegistry::LatestDeliveryOfBlob(
    const std::string& blob_token) {
  return impl_->QueryOne(Sql({"SELECT ", kDeliveryColumns,
                              " FROM deliveries WHERE blob_token = ?"
                              " ORDER BY delivered_ms DESC LIMIT 1"}),
                         {blob_token}, "attachments.db: latest delivery of a blob", &ReadDelivery);
}

Status AttachmentRegistry::PutOutbox(const OutboxRecord& r) {
  return impl_->Run(
      "INSERT OR REPLACE INTO outbox(root_name, relative_path, size, mtime_ns, sha256_hex,"
      " bundle_id) VALUES (?, ?, ?, ?, ?, ?)",
      {r.root_name, r.relative_path, static_cast<int64_t>(r.size), r.mtime_ns, r.sha256_hex,
       r.bundle_id},
      "attachments.db: write outbox entry");
}

StatusOr<std::optional<OutboxRecord>> AttachmentRegistry::GetOutbox(
    const std::string& root_name, const std::string& relative_path) {
  return impl_->QueryOne(
      "SELECT root_name, relative_path, size, mtime_ns, sha256_hex, bundle_id FROM outbox"
      " WHERE root_name = ? AND relative_path = ?",
      {root_name, relative_path}, "attachments.db: read outbox entry", &ReadOutbox);
}

Status AttachmentRegistry::UpsertPeer(const KnownPeer& p) {
  return impl_->Run(
      "INSERT OR REPLACE INTO peers(endpoint_id, node_id, accepts_attachments, last_seen_ms)"
      " VALUES (?, ?, ?, ?)",
      {p.endpoint_id, p.node_id, int64_t{p.accepts_attachments ? 1 : 0}, p.last_seen_ms},
      "attachments.db: write peer");
}

StatusOr<std::vector<KnownPeer>> AttachmentRegistry::ListPeers() {
  return impl_->Query(
      "SELECT endpoint_id, node_id, accepts_attachments, last_seen_ms FROM peers"
      " ORDER BY endpoint_id",
      {}, "attachments.db: list peers", &ReadPeer);
}

}  // namespace peat::attach

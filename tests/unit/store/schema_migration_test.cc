// Schema v4: the docs table of a v3 store (WITHOUT ROWID, PRIMARY KEY(collection, doc_id)) is
// rebuilt as a rowid table at open, keeping every row, the feed and the replication state; the
// rebuild is one transaction (a failure at any write leaves the v3 store as it was) and runs once.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "store/fault_injection_vfs.h"
#include "store/sqlite_connection.h"
#include "store/store_schema.h"
#include "store/store_test_util.h"

namespace peat::store {
namespace {

using testing::BaseOptions;
using testing::DeleteSync;
using testing::FeedChanges;
using testing::FeedOrDie;
using testing::GetOrDie;
using testing::MergeSync;
using testing::OpenOrDie;
using testing::PutSync;
using testing::RandomKey;
using testing::TempDir;

const std::string kPeer(64, 'a');

// The v3 schema as it was shipped: the v1 DDL, the v2 ALTER, the v3 table.
constexpr const char* kShippedV3 = R"sql(
PRAGMA journal_mode = WAL;
CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;
CREATE TABLE docs(
  collection TEXT NOT NULL,
  doc_id TEXT NOT NULL,
  state BLOB NOT NULL,
  live INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY(collection, doc_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX docs_by_seq ON docs(seq);
CREATE INDEX docs_by_age ON docs(live, collection, updated_ms);
CREATE TABLE collection_configs(
  collection TEXT PRIMARY KEY NOT NULL,
  deletion_policy INTEGER NOT NULL,
  soft_delete_ttl_secs INTEGER,
  tombstone_ttl_secs INTEGER
) WITHOUT ROWID;
ALTER TABLE docs ADD COLUMN src_peer TEXT NOT NULL DEFAULT '';
CREATE TABLE peers(
  endpoint_id TEXT PRIMARY KEY NOT NULL,
  addresses TEXT NOT NULL,
  is_static INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE peer_checkpoints(
  peer_id TEXT PRIMARY KEY NOT NULL,
  epoch TEXT NOT NULL,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE member_acks(
  peer_id TEXT PRIMARY KEY NOT NULL,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// collection, doc_id → state, live, seq, updated_ms, src_peer
using Key = std::tuple<std::string, std::string>;
using Row = std::tuple<std::string, int64_t, int64_t, int64_t, std::string>;

SqliteConnection OpenDbOrDie(const std::string& dir) {
  auto db = SqliteConnection::Open(dir + "/peat.db", /*create=*/true, "", 1000);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : SqliteConnection();
}

std::map<Key, Row> AllRows(const std::string& dir) {
  SqliteConnection db = OpenDbOrDie(dir);
  auto st = db.Prepare(
      "SELECT collection, doc_id, state, live, seq, updated_ms, src_peer FROM docs ORDER BY seq");
  EXPECT_TRUE(st.ok());
  std::map<Key, Row> out;
  while (st->Step() == SQLITE_ROW) {
    out[{std::string(st->ColumnText(0)), std::string(st->ColumnText(1))}] =
        Row{std::string(st->ColumnBlob(2)), st->ColumnInt64(3), st->ColumnInt64(4),
            st->ColumnInt64(5), std::string(st->ColumnText(6))};
  }
  return out;
}

int64_t IntOrDie(SqliteConnection& db, const char* sql) {
  auto v = db.QueryInt(sql);
  EXPECT_TRUE(v.ok()) << sql << ": " << v.status().ToString();
  return v.ok() ? *v : -1;
}

int64_t SchemaVersion(const std::string& dir) {
  SqliteConnection db = OpenDbOrDie(dir);
  return IntOrDie(db, "SELECT value FROM meta WHERE key = 'schema_version'");
}

bool DocsIsWithoutRowid(const std::string& dir) {
  SqliteConnection db = OpenDbOrDie(dir);
  return IntOrDie(db,
                  "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'docs' "
                  "AND sql LIKE '%WITHOUT ROWID%'") == 1;
}

// Writes a keyed store with what a v3 store holds (documents of every size, a tombstone, rows
// merged from a peer with its checkpoint, a peer, a member ack, a collection config) and copies
// it into a new database in `v3_dir` made with the shipped v3 DDL.
void MakeV3Store(const SecureBytes& key, const std::string& v3_dir, int bulk_docs = 20,
                 size_t bulk_bytes = 300) {
  TempDir src_dir, peer_dir;
  {
    auto o = BaseOptions(src_dir.path());
    o.encryption_key = key.Copy();
    auto s = OpenOrDie(o);
    auto po = BaseOptions(peer_dir.path());
    po.encryption_key = key.Copy();
    po.node_tag = 0x4321;
    auto peer = OpenOrDie(po);
    ASSERT_TRUE(s && peer);
    ASSERT_TRUE(PutSync(*s, "c", "small", R"({"a":1})").ok());
    // ~3 KB encrypted: an overflow row in v3, an inline row in v4.
    ASSERT_TRUE(PutSync(*s, "c", "large", "{\"big\":\"" + std::string(2500, 'x') + "\"}").ok());
    // Bigger than a page either way.
    ASSERT_TRUE(PutSync(*s, "c", "huge", "{\"big\":\"" + std::string(9000, 'y') + "\"}").ok());
    ASSERT_TRUE(PutSync(*s, "c", "gone", R"({"b":2})").ok());
    ASSERT_TRUE(DeleteSync(*s, "c", "gone").ok());
    for (int i = 0; i < bulk_docs; ++i) {
      ASSERT_TRUE(PutSync(*s, "bulk", "d" + std::to_string(i),
                          "{\"v\":\"" + std::string(bulk_bytes, 'a' + i % 26) + "\"}")
                      .ok());
    }
    ASSERT_TRUE(PutSync(*peer, "other", "p1", R"({"from":"peer"})").ok());
    ASSERT_TRUE(PutSync(*peer, "other", "p2", R"({"from":"peer","n":2})").ok());
    ASSERT_TRUE(MergeSync(*s, kPeer, FeedChanges(*peer), {peer->Epoch(), peer->LastSeq()}).ok());
    ASSERT_TRUE(testing::Wait([&](WriteDone done) {
                  s->SavePeer(PeerRecord{kPeer, {"h:1", "h:2"}, true}, std::move(done));
                }).ok());
    ASSERT_TRUE(testing::SetConfigSync(
                    *s, CollectionConfig{"c", DeletionPolicy::kTombstone, std::nullopt, 3600})
                    .ok());
  }
  SqliteConnection db = OpenDbOrDie(v3_dir);
  ASSERT_TRUE(db.Exec(kShippedV3).ok());
  auto attach = db.Prepare("ATTACH DATABASE ?1 AS src");
  ASSERT_TRUE(attach.ok());
  attach->BindText(1, src_dir.path() + "/peat.db");
  ASSERT_TRUE(attach->Run("attach").ok());
  ASSERT_TRUE(db.Exec(R"sql(
BEGIN;
INSERT INTO meta SELECT * FROM src.meta;
UPDATE meta SET value = 3 WHERE key = 'schema_version';
INSERT INTO docs(collection, doc_id, state, live, seq, updated_ms, src_peer)
  SELECT collection, doc_id, state, live, seq, updated_ms, src_peer FROM src.docs;
INSERT INTO collection_configs SELECT * FROM src.collection_configs;
INSERT INTO peers SELECT * FROM src.peers;
INSERT INTO peer_checkpoints SELECT * FROM src.peer_checkpoints;
INSERT INTO member_acks VALUES('bbbb', 5);
COMMIT;
DETACH DATABASE src;
PRAGMA wal_checkpoint(TRUNCATE);
)sql")
                  .ok());
}

TEST(SchemaV4MigrationTest, V3StoreIsRebuiltAsARowidTableKeepingEveryRow) {
  const SecureBytes key = RandomKey();
  TempDir dir;
  MakeV3Store(key, dir.path());
  ASSERT_TRUE(DocsIsWithoutRowid(dir.path()));  // control: the old form
  ASSERT_EQ(SchemaVersion(dir.path()), 3);
  const std::map<Key, Row> before = AllRows(dir.path());
  ASSERT_EQ(before.size(), 26u);  // small, large, huge, gone, 20 bulk, 2 from the peer
  int64_t max_seq = 0;
  for (const auto& [k, r] : before) max_seq = std::max(max_seq, std::get<2>(r));
  EXPECT_EQ(std::get<1>(before.at({"c", "gone"})), 0);
  EXPECT_EQ(std::get<4>(before.at({"other", "p1"})), kPeer);
  EXPECT_GT(std::get<0>(before.at({"c", "large"})).size(), 2500u);

  auto o = BaseOptions(dir.path());
  o.encryption_key = key.Copy();
  {
    auto s = OpenOrDie(o);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(GetOrDie(*s, "c", "small"), R"({"a":1})");
    EXPECT_EQ(GetOrDie(*s, "c", "large"), "{\"big\":\"" + std::string(2500, 'x') + "\"}");
    EXPECT_EQ(GetOrDie(*s, "c", "huge"), "{\"big\":\"" + std::string(9000, 'y') + "\"}");
    EXPECT_EQ(GetOrDie(*s, "other", "p2"), R"({"from":"peer","n":2})");
    auto gone = s->Get("c", "gone");
    ASSERT_TRUE(gone.ok());
    EXPECT_FALSE(gone->has_value());
    EXPECT_EQ(s->LastSeq(), static_cast<uint64_t>(max_seq));
    auto cp = s->GetCheckpoint(kPeer);
    ASSERT_TRUE(cp.ok());
    EXPECT_EQ(cp->seq, 2u);
    auto peers = s->ListPeerRecords();
    ASSERT_TRUE(peers.ok());
    ASSERT_EQ(peers->size(), 1u);
    EXPECT_EQ((*peers)[0].addresses, (std::vector<std::string>{"h:1", "h:2"}));
    EXPECT_TRUE((*peers)[0].is_static);
    // The feed is the same rows in the same order.
    const FeedPage page = FeedOrDie(*s);
    ASSERT_EQ(page.entries.size(), before.size());
    for (size_t i = 1; i < page.entries.size(); ++i) {
      EXPECT_LT(page.entries[i - 1].seq, page.entries[i].seq);
    }
    for (const FeedEntry& e : page.entries) {
      const Row& r = before.at({e.collection, e.doc_id});
      EXPECT_EQ(e.seq, static_cast<uint64_t>(std::get<2>(r))) << e.doc_id;
      EXPECT_EQ(e.state, std::get<0>(r)) << e.doc_id;
      EXPECT_EQ(e.src_peer, std::get<4>(r)) << e.doc_id;
    }
    auto ids = s->List("bulk");
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(ids->size(), 20u);
    EXPECT_TRUE(std::is_sorted(ids->begin(), ids->end()));
  }
  EXPECT_FALSE(DocsIsWithoutRowid(dir.path()));
  EXPECT_EQ(SchemaVersion(dir.path()), kSchemaVersion);
  EXPECT_EQ(AllRows(dir.path()), before);  // every column of every row
  {
    SqliteConnection db = OpenDbOrDie(dir.path());
    EXPECT_EQ(IntOrDie(db,
                       "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                       "'docs' AND name IN ('docs_by_key', 'docs_by_seq', 'docs_by_age')"),
              3);
    EXPECT_EQ(IntOrDie(db, "SELECT count(*) FROM sqlite_master WHERE name = 'docs_v4'"), 0);
    EXPECT_EQ(IntOrDie(db, "SELECT count(*) FROM member_acks WHERE peer_id = 'bbbb'"), 1);
    EXPECT_EQ(IntOrDie(db, "SELECT tombstone_ttl_secs FROM collection_configs"), 3600);
    EXPECT_EQ(IntOrDie(db, "PRAGMA freelist_count"), 0);  // the old table's pages went back
  }

  // Re-open: nothing is rebuilt (SQLite's schema cookie does not move) and writes go on from
  // the old feed position; upserts hit the unique key.
  int64_t cookie = 0;
  {
    SqliteConnection db = OpenDbOrDie(dir.path());
    cookie = IntOrDie(db, "PRAGMA schema_version");
  }
  {
    auto s = OpenOrDie(o);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(PutSync(*s, "c", "small", R"({"a":2})").ok());
    ASSERT_TRUE(PutSync(*s, "c", "new", R"({"n":1})").ok());
    EXPECT_EQ(s->LastSeq(), static_cast<uint64_t>(max_seq) + 2);
    EXPECT_EQ(GetOrDie(*s, "c", "small"), R"({"a":2})");
  }
  {
    SqliteConnection db = OpenDbOrDie(dir.path());
    EXPECT_EQ(IntOrDie(db, "PRAGMA schema_version"), cookie);
    EXPECT_EQ(IntOrDie(db, "SELECT count(*) FROM docs"), static_cast<int64_t>(before.size()) + 1);
  }
}

TEST(SchemaV4MigrationTest, RowsBetweenOneAndFourKilobytesNoLongerTakeAnOverflowPageEach) {
  const SecureBytes key = RandomKey();
  TempDir dir;
  MakeV3Store(key, dir.path(), /*bulk_docs=*/300, /*bulk_bytes=*/1200);
  auto pages = [&] {
    SqliteConnection db = OpenDbOrDie(dir.path());
    return IntOrDie(db, "PRAGMA page_count");
  };
  const int64_t v3_pages = pages();
  auto o = BaseOptions(dir.path());
  o.encryption_key = key.Copy();
  OpenOrDie(o).reset();
  const int64_t v4_pages = pages();
  // v3: every bulk row is a leaf cell plus an overflow page (>= 300 pages); v4: ~2 rows a page.
  EXPECT_GT(v3_pages, 300);
  EXPECT_LT(v4_pages * 10, v3_pages * 6) << v3_pages << " -> " << v4_pages;
}

TEST(SchemaV4MigrationTest, AFailureAtAnyWriteLeavesTheV3StoreWhole) {
  const SecureBytes key = RandomKey();
  TempDir golden;
  MakeV3Store(key, golden.path());
  const std::map<Key, Row> before = AllRows(golden.path());
  auto vfs = FaultInjectionVfs::Register("peat-fault-schema-v4");
  ASSERT_TRUE(vfs.ok()) << vfs.status().ToString();
  int failures = 0;
  int failures_left_at_v3 = 0;
  bool opened = false;
  for (uint64_t after = 0; !opened && after < (1u << 16); after = after == 0 ? 1 : after * 2) {
    TempDir dir;
    std::filesystem::copy_file(golden.path() + "/peat.db", dir.path() + "/peat.db");
    auto o = BaseOptions(dir.path());
    o.encryption_key = key.Copy();
    o.sqlite_vfs = (*vfs)->name();
    (*vfs)->FailWrites(FaultInjectionVfs::Fault::kIoError, after);
    {
      auto s = SqliteDocumentStore::Open(o);
      opened = s.ok();
      if (!s.ok()) ++failures;
    }
    (*vfs)->Clear();
    // Either the v3 store as it was or the complete v4 one; never a mix.
    const int64_t version = SchemaVersion(dir.path());
    EXPECT_TRUE(version == 3 || version == kSchemaVersion) << version << " after " << after;
    if (!opened && version == 3) ++failures_left_at_v3;
    EXPECT_EQ(DocsIsWithoutRowid(dir.path()), version == 3) << "after " << after;
    EXPECT_EQ(AllRows(dir.path()), before) << "after " << after;
    // And it opens (and migrates) once the disk behaves.
    o.sqlite_vfs = "";
    auto s = OpenOrDie(o);
    ASSERT_NE(s, nullptr) << "after " << after;
    EXPECT_EQ(GetOrDie(*s, "c", "small"), R"({"a":1})");
    s.reset();
    EXPECT_EQ(SchemaVersion(dir.path()), kSchemaVersion);
    EXPECT_EQ(AllRows(dir.path()), before) << "after " << after;
  }
  EXPECT_TRUE(opened);
  EXPECT_GT(failures, 0);
  EXPECT_GT(failures_left_at_v3, 0);  // some failures hit the rebuild itself
}

TEST(SchemaV4MigrationTest, AStoreFromANewerVersionIsRefusedAndLeftAlone) {
  TempDir dir;
  OpenOrDie(BaseOptions(dir.path())).reset();
  {
    SqliteConnection db = OpenDbOrDie(dir.path());
    const std::string sql = "UPDATE meta SET value = " + std::to_string(kSchemaVersion + 1) +
                            " WHERE key = 'schema_version'";
    ASSERT_TRUE(db.Exec(sql.c_str()).ok());
  }
  auto s = SqliteDocumentStore::Open(BaseOptions(dir.path()));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition) << s.status().ToString();
  EXPECT_EQ(SchemaVersion(dir.path()), kSchemaVersion + 1);
}

}  // namespace
}  // namespace peat::store

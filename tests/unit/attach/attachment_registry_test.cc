#include "attach/attachment_registry.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "temp_dir.h"

namespace peat::attach {
namespace {

const std::string kTokenA(64, 'a');
const std::string kTokenB(64, 'b');
const std::string kTokenC(64, 'c');

bool operator==(const BundleRecord& a, const BundleRecord& b) {
  return a.bundle_id == b.bundle_id && a.identity == b.identity &&
         a.priority_class == b.priority_class && a.state == b.state &&
         a.created_ms == b.created_ms && a.touched_ms == b.touched_ms;
}
bool operator==(const HandleRecord& a, const HandleRecord& b) {
  return a.distribution_id == b.distribution_id && a.bundle_id == b.bundle_id &&
         a.file_index == b.file_index && a.blob_token == b.blob_token && a.size == b.size;
}
bool operator==(const DeliveryRecord& a, const DeliveryRecord& b) {
  return a.distribution_id == b.distribution_id && a.path == b.path &&
         a.blob_token == b.blob_token && a.started_at_ms == b.started_at_ms &&
         a.delivered_ms == b.delivered_ms;
}
bool operator==(const OutboxRecord& a, const OutboxRecord& b) {
  return a.root_name == b.root_name && a.relative_path == b.relative_path && a.size == b.size &&
         a.mtime_ns == b.mtime_ns && a.sha256_hex == b.sha256_hex && a.bundle_id == b.bundle_id;
}
bool operator==(const KnownPeer& a, const KnownPeer& b) {
  return a.endpoint_id == b.endpoint_id && a.node_id == b.node_id &&
         a.accepts_attachments == b.accepts_attachments && a.last_seen_ms == b.last_seen_ms;
}

BundleRecord Bundle(const std::string& id, int64_t created_ms) {
  BundleRecord b;
  b.bundle_id = id;
  // The canonical identity may hold any byte, NUL included.
  b.identity = std::string("docs\0a.txt\0", 11) + id;
  b.priority_class = 4;
  b.state = TransferState::kInProgress;
  b.created_ms = created_ms;
  b.touched_ms = created_ms + 1;
  return b;
}

HandleRecord Handle(const std::string& distribution_id, const std::string& bundle_id,
                    uint32_t index, const std::string& token, uint64_t size) {
  return HandleRecord{distribution_id, bundle_id, index, token, size};
}

class AttachmentRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    registry_.reset();
    auto r = AttachmentRegistry::Open(Path());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::move(*r);
  }
  std::string Path() const { return dir_.path() + "/attachments.db"; }

  AttachmentRegistry& reg() { return *registry_; }

  peat::testing::TempDir dir_;
  std::unique_ptr<AttachmentRegistry> registry_;
};

TEST_F(AttachmentRegistryTest, InsertGetAndList) {
  const BundleRecord b1 = Bundle("b1", 200);
  const BundleRecord b2 = Bundle("b2", 100);
  // Handles given out of order come back in file_index order.
  ASSERT_TRUE(reg()
                  .InsertBundle(b1, {Handle("d1-1", "b1", 1, kTokenB, 20),
                                     Handle("d1-0", "b1", 0, kTokenA, 10)})
                  .ok());
  ASSERT_TRUE(reg().InsertBundle(b2, {Handle("d2-0", "b2", 0, kTokenC, 0)}).ok());

  auto got = reg().GetBundle("b1");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE(**got == b1);
  EXPECT_FALSE(reg().GetBundle("nope")->has_value());

  auto list = reg().ListBundles();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].bundle_id, "b2");  // by created_ms
  EXPECT_EQ((*list)[1].bundle_id, "b1");

  auto handles = reg().Handles("b1");
  ASSERT_TRUE(handles.ok());
  ASSERT_EQ(handles->size(), 2u);
  EXPECT_TRUE((*handles)[0] == Handle("d1-0", "b1", 0, kTokenA, 10));
  EXPECT_TRUE((*handles)[1] == Handle("d1-1", "b1", 1, kTokenB, 20));
  EXPECT_TRUE(reg().Handles("nope")->empty());

  auto h = reg().HandleByDistribution("d2-0");
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h->has_value());
  EXPECT_TRUE(**h == Handle("d2-0", "b2", 0, kTokenC, 0));
  EXPECT_FALSE(reg().HandleByDistribution("")->has_value());
}

TEST_F(AttachmentRegistryTest, LargeValuesSurvive) {
  BundleRecord b = Bundle("big", 1);
  b.created_ms = INT64_MAX - 1;
  b.touched_ms = INT64_MAX;
  const HandleRecord h = Handle("d", "big", UINT32_MAX, kTokenA, uint64_t{1} << 62);
  ASSERT_TRUE(reg().InsertBundle(b, {h}).ok());
  EXPECT_TRUE(**reg().GetBundle("big") == b);
  EXPECT_TRUE(**reg().HandleByDistribution("d") == h);
}

TEST_F(AttachmentRegistryTest, StateAndTouch) {
  ASSERT_TRUE(reg().InsertBundle(Bundle("b", 10), {}).ok());
  ASSERT_TRUE(reg().SetBundleState("b", TransferState::kPartial, 50).ok());
  auto b = reg().GetBundle("b");
  EXPECT_EQ((*b)->state, TransferState::kPartial);
  EXPECT_EQ((*b)->touched_ms, 50);
  ASSERT_TRUE(reg().TouchBundle("b", 70).ok());
  b = reg().GetBundle("b");
  EXPECT_EQ((*b)->state, TransferState::kPartial);
  EXPECT_EQ((*b)->touched_ms, 70);
  EXPECT_EQ((*b)->created_ms, 10);
  // Absent bundles: OK, nothing created.
  EXPECT_TRUE(reg().SetBundleState("nope", TransferState::kFailed, 1).ok());
  EXPECT_TRUE(reg().TouchBundle("nope", 1).ok());
  EXPECT_FALSE(reg().GetBundle("nope")->has_value());
}

TEST_F(AttachmentRegistryTest, ResubmitReplacesTheBundleAndItsHandles) {
  ASSERT_TRUE(reg()
                  .InsertBundle(Bundle("b", 10), {Handle("old-0", "b", 0, kTokenA, 1),
                                                  Handle("old-1", "b", 1, kTokenB, 2)})
                  .ok());
  ASSERT_TRUE(reg().SetBundleState("b", TransferState::kCancelled, 20).ok());
  BundleRecord again = Bundle("b", 30);
  again.identity = "other identity";
  again.state = TransferState::kPending;
  ASSERT_TRUE(reg().InsertBundle(again, {Handle("new-0", "b", 0, kTokenC, 3)}).ok());

  EXPECT_TRUE(**reg().GetBundle("b") == again);
  auto handles = reg().Handles("b");
  ASSERT_EQ(handles->size(), 1u);
  EXPECT_EQ((*handles)[0].distribution_id, "new-0");
  // The old distribution ids are gone (→ NOT_FOUND for Get/Cancel).
  EXPECT_FALSE(reg().HandleByDistribution("old-0")->has_value());
  EXPECT_FALSE(reg().HandleByDistribution("old-1")->has_value());
  EXPECT_FALSE(*reg().BlobReferenced(kTokenA));
  EXPECT_TRUE(*reg().BlobReferenced(kTokenC));
  EXPECT_EQ(reg().ListBundles()->size(), 1u);
}

TEST_F(AttachmentRegistryTest, AFailedInsertLeavesNothing) {
  ASSERT_TRUE(reg().InsertBundle(Bundle("b1", 10), {Handle("d", "b1", 0, kTokenA, 1)}).ok());
  // A distribution id already taken by another bundle: the whole insert rolls back.
  Status s = reg().InsertBundle(
      Bundle("b2", 20), {Handle("d2", "b2", 0, kTokenB, 1), Handle("d", "b2", 1, kTokenC, 1)});
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(reg().GetBundle("b2")->has_value());
  EXPECT_FALSE(reg().HandleByDistribution("d2")->has_value());
  EXPECT_EQ((*reg().HandleByDistribution("d"))->bundle_id, "b1");
  EXPECT_FALSE(*reg().BlobReferenced(kTokenB));
  // The connection is usable afterwards (no transaction left open).
  EXPECT_TRUE(reg().InsertBundle(Bundle("b3", 30), {Handle("d3", "b3", 0, kTokenB, 1)}).ok());
  EXPECT_TRUE(*reg().BlobReferenced(kTokenB));
}

TEST_F(AttachmentRegistryTest, DeleteRemovesHandlesAndReferences) {
  ASSERT_TRUE(reg()
                  .InsertBundle(Bundle("b1", 10), {Handle("d1-0", "b1", 0, kTokenA, 1),
                                                   Handle("d1-1", "b1", 1, kTokenB, 1)})
                  .ok());
  ASSERT_TRUE(reg().InsertBundle(Bundle("b2", 20), {Handle("d2-0", "b2", 0, kTokenA, 1)}).ok());
  EXPECT_TRUE(*reg().BlobReferenced(kTokenA));
  EXPECT_TRUE(*reg().BlobReferenced(kTokenB));
  EXPECT_FALSE(*reg().BlobReferenced(kTokenC));

  ASSERT_TRUE(reg().DeleteBundle("b1").ok());
  EXPECT_FALSE(reg().GetBundle("b1")->has_value());
  EXPECT_TRUE(reg().Handles("b1")->empty());
  EXPECT_FALSE(reg().HandleByDistribution("d1-0")->has_value());
  EXPECT_TRUE(*reg().BlobReferenced(kTokenA));  // still held by b2
  EXPECT_FALSE(*reg().BlobReferenced(kTokenB));

  ASSERT_TRUE(reg().DeleteBundle("b2").ok());
  EXPECT_FALSE(*reg().BlobReferenced(kTokenA));
  EXPECT_TRUE(reg().ListBundles()->empty());
  EXPECT_TRUE(reg().DeleteBundle("b2").ok());  // absent: OK
}

TEST_F(AttachmentRegistryTest, DeliveryLedger) {
  const DeliveryRecord d{"dist-1", "sub/payload.bin", kTokenA, 1000, 2000};
  ASSERT_TRUE(reg().RecordDelivery(d).ok());
  auto got = reg().GetDelivery("dist-1");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE(**got == d);
  EXPECT_FALSE(reg().GetDelivery("dist-2")->has_value());
  EXPECT_FALSE(reg().LatestDeliveryAt("other.bin")->has_value());
  // Recording the same distribution again replaces its row.
  const DeliveryRecord d2{"dist-1", "sub/payload.bin", kTokenA, 1000, 3000};
  ASSERT_TRUE(reg().RecordDelivery(d2).ok());
  EXPECT_EQ((*reg().GetDelivery("dist-1"))->delivered_ms, 3000);
}

TEST_F(AttachmentRegistryTest, LatestDeliveryByStartedAtThenDistributionId) {
  const std::string path = "maps/area.tif";
  // Recorded out of order; delivered_ms does not matter (decision 7).
  ASSERT_TRUE(reg().RecordDelivery({"m", path, kTokenA, 2000, 9000}).ok());
  ASSERT_TRUE(reg().RecordDelivery({"z", path, kTokenB, 1000, 9999}).ok());
  ASSERT_TRUE(reg().RecordDelivery({"a", path, kTokenC, 2000, 1}).ok());
  ASSERT_TRUE(reg().RecordDelivery({"q", "maps/other.tif", kTokenC, 5000, 1}).ok());
  auto latest = reg().LatestDeliveryAt(path);
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->distribution_id, "m");  // 2000 ties; "m" > "a"
  ASSERT_TRUE(reg().RecordDelivery({"n", path, kTokenA, 2001, 1}).ok());
  EXPECT_EQ((*reg().LatestDeliveryAt(path))->distribution_id, "n");
  EXPECT_EQ((*reg().LatestDeliveryAt("maps/other.tif"))->distribution_id, "q");
}

TEST_F(AttachmentRegistryTest, OutboxUpsert) {
  const OutboxRecord r{"docs", "a/b.txt", 12, 1700000000123456789, kTokenA, "outbox-1"};
  ASSERT_TRUE(reg().PutOutbox(r).ok());
  auto got = reg().GetOutbox("docs", "a/b.txt");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE(**got == r);
  EXPECT_FALSE(reg().GetOutbox("docs", "a/c.txt")->has_value());
  EXPECT_FALSE(reg().GetOutbox("other", "a/b.txt")->has_value());
  const OutboxRecord r2{"docs", "a/b.txt", 13, 1700000000999999999, kTokenB, "outbox-2"};
  ASSERT_TRUE(reg().PutOutbox(r2).ok());
  EXPECT_TRUE(**reg().GetOutbox("docs", "a/b.txt") == r2);
}

TEST_F(AttachmentRegistryTest, PeersUpsertAndListByEndpointId) {
  const std::string e1 = std::string(63, 'b') + "1";
  const std::string e2 = std::string(63, 'a') + "2";
  ASSERT_TRUE(reg().UpsertPeer({e1, "bravo", true, 100}).ok());
  ASSERT_TRUE(reg().UpsertPeer({e2, "alpha", false, 200}).ok());
  ASSERT_TRUE(reg().UpsertPeer({e1, "bravo-2", false, 300}).ok());
  auto peers = reg().ListPeers();
  ASSERT_TRUE(peers.ok());
  ASSERT_EQ(peers->size(), 2u);
  EXPECT_TRUE((*peers)[0] == KnownPeer({e2, "alpha", false, 200}));
  EXPECT_TRUE((*peers)[1] == KnownPeer({e1, "bravo-2", false, 300}));
}

TEST_F(AttachmentRegistryTest, ReopenKeepsEverything) {
  const BundleRecord b = Bundle("b", 10);
  const HandleRecord h = Handle("d", "b", 0, kTokenA, 5);
  const DeliveryRecord d{"rx", "in.bin", kTokenB, 7, 8};
  const OutboxRecord o{"root", "x", 1, 2, kTokenC, "outbox-x"};
  const KnownPeer p{std::string(64, 'e'), "echo", true, 9};
  ASSERT_TRUE(reg().InsertBundle(b, {h}).ok());
  ASSERT_TRUE(reg().RecordDelivery(d).ok());
  ASSERT_TRUE(reg().PutOutbox(o).ok());
  ASSERT_TRUE(reg().UpsertPeer(p).ok());

  Reopen();
  EXPECT_TRUE(**reg().GetBundle("b") == b);
  EXPECT_TRUE(**reg().HandleByDistribution("d") == h);
  EXPECT_TRUE(**reg().GetDelivery("rx") == d);
  EXPECT_TRUE(**reg().LatestDeliveryAt("in.bin") == d);
  EXPECT_TRUE(**reg().GetOutbox("root", "x") == o);
  ASSERT_EQ(reg().ListPeers()->size(), 1u);
  EXPECT_TRUE(reg().ListPeers()->front() == p);
  EXPECT_TRUE(*reg().BlobReferenced(kTokenA));
}

// Reads one integer with a separate connection.
int64_t QueryInt(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  const int64_t v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return v;
}

TEST_F(AttachmentRegistryTest, SchemaVersionAndWal) {
  EXPECT_EQ(QueryInt(Path(), "PRAGMA user_version"), 1);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(AttachmentRegistryTest, TheFileIsPrivate) {
  struct stat st {};
  ASSERT_EQ(::stat(Path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(AttachmentRegistryTest, ANewerSchemaIsRefused) {
  registry_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 2", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto r = AttachmentRegistry::Open(Path());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
}

TEST_F(AttachmentRegistryTest, NotADatabaseIsDataLoss) {
  registry_.reset();
  const std::string path = dir_.path() + "/garbage.db";
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  const std::string junk(8192, 'x');
  std::fwrite(junk.data(), 1, junk.size(), f);
  std::fclose(f);
  auto r = AttachmentRegistry::Open(path);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
}

}  // namespace
}  // namespace peat::attach

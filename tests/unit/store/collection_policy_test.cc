// Collection lifecycle configs: persistence and enforcement (IMMUTABLE, SOFT_DELETE, TOMBSTONE
// purge with the ack veto and upper bound, IMPLICIT_TTL expiry), driven by an injected clock.
#include <gtest/gtest.h>

#include <atomic>

#include "store/sqlite_document_store.h"
#include "store/store_test_util.h"

namespace peat::store {
namespace {

using testing::BaseOptions;
using testing::DeleteSync;
using testing::FakeClock;
using testing::GcSync;
using testing::GetOrDie;
using testing::OpenOrDie;
using testing::PutSync;
using testing::RecordingListener;
using testing::SetConfigSync;
using testing::TempDir;

constexpr uint64_t kSec = 1000;

class FakeAckTracker : public TombstoneAckTracker {
 public:
  bool AllMembersAcknowledged(const std::string&, const std::string&, const crdt::Timestamp& ts,
                              uint64_t seq) override {
    calls.fetch_add(1);
    last_seq.store(seq);
    last_delete_hlc.store(ts.hlc);
    return acked.load();
  }
  std::atomic<bool> acked{false};
  std::atomic<int> calls{0};
  std::atomic<uint64_t> last_delete_hlc{0};
  std::atomic<uint64_t> last_seq{0};
};

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    store_.reset();
    auto o = BaseOptions(dir_.path());
    o.now_ms = clock_.fn();
    o.default_tombstone_ttl_secs = 3600;
    o.tombstone_ttl_upper_bound_secs = 10 * 3600;
    o.ack_tracker = tracker_;
    store_ = OpenOrDie(o);
  }
  CollectionConfig Config(const std::string& c, DeletionPolicy p) {
    CollectionConfig cfg;
    cfg.collection = c;
    cfg.deletion_policy = p;
    return cfg;
  }

  TempDir dir_;
  FakeClock clock_;
  std::shared_ptr<FakeAckTracker> tracker_;
  std::unique_ptr<SqliteDocumentStore> store_;
};

TEST_F(PolicyTest, ConfigsPersistReplaceWholesaleAndDefaultToSoftDelete) {
  EXPECT_FALSE(store_->GetCollectionConfig("c")->has_value());
  CollectionConfig cfg = Config("c", DeletionPolicy::kTombstone);
  cfg.tombstone_ttl_secs = 60;
  cfg.soft_delete_ttl_secs = 5;
  ASSERT_TRUE(SetConfigSync(*store_, cfg).ok());
  CollectionConfig unspecified = Config("u", static_cast<DeletionPolicy>(0));
  ASSERT_TRUE(SetConfigSync(*store_, unspecified).ok());
  EXPECT_EQ(SetConfigSync(*store_, Config("", DeletionPolicy::kSoftDelete)).code(),
            StatusCode::kInvalidArgument);
  Open();
  auto got = store_->GetCollectionConfig("c");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->deletion_policy, DeletionPolicy::kTombstone);
  EXPECT_EQ((*got)->tombstone_ttl_secs, 60u);
  EXPECT_EQ((*got)->soft_delete_ttl_secs, 5u);
  EXPECT_EQ((*store_->GetCollectionConfig("u"))->deletion_policy, DeletionPolicy::kSoftDelete);
  // Replace wholesale: fields not given are gone.
  ASSERT_TRUE(SetConfigSync(*store_, Config("c", DeletionPolicy::kImmutable)).ok());
  got = store_->GetCollectionConfig("c");
  EXPECT_EQ((*got)->deletion_policy, DeletionPolicy::kImmutable);
  EXPECT_FALSE((*got)->tombstone_ttl_secs.has_value());
  auto all = store_->ListCollectionConfigs();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].collection, "c");
  EXPECT_EQ((*all)[1].collection, "u");
}

TEST_F(PolicyTest, ImmutableRejectsDeletes) {
  ASSERT_TRUE(SetConfigSync(*store_, Config("ledger", DeletionPolicy::kImmutable)).ok());
  ASSERT_TRUE(PutSync(*store_, "ledger", "e1", R"({"amount":5})").ok());
  Status s = DeleteSync(*store_, "ledger", "e1");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(GetOrDie(*store_, "ledger", "e1"), R"({"amount":5})");
  // Config and delete in one group: the delete sees the config.
  std::promise<Status> cfg_done, del_done;
  ASSERT_TRUE(PutSync(*store_, "later", "x", "{}").ok());
  store_->SetCollectionConfig(Config("later", DeletionPolicy::kImmutable),
                              [&](Status st) { cfg_done.set_value(st); });
  store_->Delete("later", "x", [&](Status st) { del_done.set_value(st); });
  EXPECT_TRUE(cfg_done.get_future().get().ok());
  EXPECT_EQ(del_done.get_future().get().code(), StatusCode::kFailedPrecondition);
}

TEST_F(PolicyTest, SoftDeleteKeepsTombstonesForever) {
  ASSERT_TRUE(PutSync(*store_, "c", "a", "{}").ok());
  ASSERT_TRUE(DeleteSync(*store_, "c", "a").ok());
  EXPECT_EQ(store_->Stats().tombstones, 1u);
  clock_.Advance(365ull * 24 * 3600 * kSec);
  ASSERT_TRUE(GcSync(*store_).ok());
  EXPECT_EQ(store_->Stats().tombstones, 1u);
  EXPECT_EQ(store_->Stats().tombstones_purged, 0u);
  EXPECT_EQ(GetOrDie(*store_, "c", "a"), "<absent>");
  auto oldest = store_->OldestTombstoneMs();
  ASSERT_TRUE(oldest.ok() && oldest->has_value());
  EXPECT_EQ(**oldest, clock_.Now() - 365ull * 24 * 3600 * kSec);
}

TEST_F(PolicyTest, TombstonesArePurgedAfterTheirTtl) {
  CollectionConfig cfg = Config("t", DeletionPolicy::kTombstone);
  cfg.tombstone_ttl_secs = 60;
  ASSERT_TRUE(SetConfigSync(*store_, cfg).ok());
  ASSERT_TRUE(PutSync(*store_, "t", "a", R"({"v":1})").ok());
  ASSERT_TRUE(PutSync(*store_, "t", "b", R"({"v":2})").ok());
  ASSERT_TRUE(DeleteSync(*store_, "t", "a").ok());
  const uint64_t seq = store_->LastSeq();
  EXPECT_EQ(store_->Stats().tombstones, 1u);

  clock_.Advance(30 * kSec);
  ASSERT_TRUE(GcSync(*store_).ok());
  EXPECT_EQ(store_->Stats().tombstones, 1u);

  clock_.Advance(31 * kSec);
  ASSERT_TRUE(GcSync(*store_).ok());
  auto st = store_->Stats();
  EXPECT_EQ(st.tombstones, 0u);
  EXPECT_EQ(st.tombstones_purged, 1u);
  EXPECT_EQ(st.tombstones_force_purged, 0u);
  EXPECT_EQ(GetOrDie(*store_, "t", "a"), "<absent>");
  EXPECT_EQ(GetOrDie(*store_, "t", "b"), R"({"v":2})");
  EXPECT_EQ(store_->LastSeq(), seq);  // a purge is not a change-feed entry
  // The purged row held the highest seq: a restart must not reuse it.
  Open();
  EXPECT_EQ(store_->LastSeq(), seq);
  ASSERT_TRUE(PutSync(*store_, "t", "a", R"({"again":1})").ok());
  EXPECT_EQ(store_->LastSeq(), seq + 1);
  EXPECT_EQ(GetOrDie(*store_, "t", "a"), R"({"again":1})");
}

TEST_F(PolicyTest, ZeroTombstoneTtlMeansTheDefault) {
  ASSERT_TRUE(SetConfigSync(*store_, Config("t", DeletionPolicy::kTombstone)).ok());
  ASSERT_TRUE(PutSync(*store_, "t", "a", "{}").ok());
  ASSERT_TRUE(DeleteSync(*store_, "t", "a").ok());
  clock_.Advance(3599 * kSec);
  ASSERT_TRUE(GcSync(*store_).ok());
  EXPECT_EQ(store_->Stats().tombstones, 1u);
  clock_.Advance(2 * kSec);
  ASSERT_TRUE(GcSync(*store_).ok());
  EXPECT_EQ(store_->Stats().tombstones, 0u);
}

TEST_F(PolicyTest, AckTrackerVetoesPurgeUntilTheUpperBound) {
  tracker_ = std::make_shared<FakeAckTracker>();
  Open();
  CollectionConfig cfg = Config("t", DeletionPolicy::kTombstone);
  cfg.tombstone_ttl_secs = 60;
  ASSERT_TRUE(SetConfigSync(*store_, cfg).ok());
  ASSERT_TRUE(PutSync(*store_, "t", "a", "{}").ok());
  ASSERT_TRUE(PutSync(*store_, "t", "b", "{}").ok());
  ASSERT_TRUE(DeleteSync(*store_, "t", "a").ok());
  ASSERT_TRUE(DeleteSync(*store_, "t", "b").ok());

  clock_.Advance(61 * kSec);
  ASSERT_TRUE(GcSync(*store_).ok());
  EXPECT_EQ(store_->Stats().tombstones, 2u);  // not every member has seen the deletes
  EXPECT_GT(tracker_->calls.load(), 0);
  EXPECT_GT(tracker_->last_delete_hlc.load(), 0u);
  EXPECT_GT(tracker_->last_seq.load(), 0u);

  clock_.Advance(10 * 3600 * kSec);  // past the upper bound: purge anyway, and say so
  ASSERT_TRUE(GcSync(*store_).ok());
  auto st = store_->Stats();
  EXPECT_EQ(st.tombstones, 0u);
  EXPECT_EQ(st.tombstones_purged, 2u);
  EXPECT_EQ(st.tombstones_force_purged, 2u);
}

TEST_F(PolicyTest, AcknowledgedTombstonesPurgeAtTheTtl) {
  tracker_ = std::make_shared<FakeAckTracker>();
  tracker_->acked = true;
  Open();
  CollectionConfig cfg = Config("t", DeletionPolicy::kTombstone);
  cfg.tombstone_ttl_secs = 60;
  ASSERT_TRUE(SetConfigSync(*store_, cfg).ok());
  ASSERT_TRUE(PutSync(*store_, "t", "a", "{}").ok());
  ASSERT_TRUE(DeleteSync(*store_, "t", "a").ok());
  clock_.Advance(61 * kSec);
  ASSERT_TRUE(GcSync(*store_).ok());
  EXPECT_EQ(store_->Stats().tombstones_purged, 1u);
  EXPECT_EQ(store_->Stats().tombstones_force_purged, 0u);
}

TEST_F(PolicyTest, ImplicitTtlExpiresStaleDocumentsWithDeleteEvents) {
  CollectionConfig cfg = Config("beacons", DeletionPolicy::kImplicitTtl);
  cfg.soft_delete_ttl_secs = 100;
  ASSERT_TRUE(SetConfigSync(*store_, cfg).ok());
  auto listener = std::make_shared<RecordingListener>();
  store_->AddListener(listener);

  ASSERT_TRUE(PutSync(*store_, "beacons", "a", R"({"v":1})").ok());
  clock_.Advance(50 * kSec);
  ASSERT_TRUE(PutSync(*store_, "beacons", "b", R"({"v":1})").ok());
  ASSERT_TRUE(PutSync(*store_, "beacons", "c", R"({"v":1})").ok());
  clock_.Advance(40 * kSec);
  ASSERT_TRUE(PutSync(*store_, "beacons", "c", R"({"v":2})").ok());  // c updated at +90
  // A re-put of identical content is not an update (it changes nothing that replicates).
  ASSERT_TRUE(PutSync(*store_, "beacons", "b", R"({"v":1})").ok());

  clock_.Advance(30 * kSec);  // +120: a is 120 s old, b 70 s, c 30 s
  ASSERT_TRUE(GcSync(*store_).ok());
  EXPECT_EQ(GetOrDie(*store_, "beacons", "a"), "<absent>");
  EXPECT_EQ(GetOrDie(*store_, "beacons", "b"), R"({"v":1})");
  EXPECT_EQ(store_->Stats().documents_expired, 1u);
  auto ev = listener->events();
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().doc_id, "a");
  EXPECT_TRUE(ev.back().deleted);
  EXPECT_EQ(ev.back().seq, store_->LastSeq());

  clock_.Advance(31 * kSec);  // +151: b is 101 s old
  ASSERT_TRUE(GcSync(*store_).ok());
  EXPECT_EQ(GetOrDie(*store_, "beacons", "b"), "<absent>");
  EXPECT_EQ(GetOrDie(*store_, "beacons", "c"), R"({"v":2})");
  EXPECT_EQ(store_->Stats().documents_expired, 2u);
  EXPECT_EQ(store_->Stats().tombstones, 2u);  // expiry is a delete: tombstones stay
}

TEST(PolicyTimerTest, GcTimerWorksThroughBatches) {
  TempDir dir;
  FakeClock clock;
  auto o = BaseOptions(dir.path());
  o.now_ms = clock.fn();
  o.gc_interval = std::chrono::milliseconds(20);
  o.gc_batch = 3;
  auto s = OpenOrDie(o);
  CollectionConfig cfg;
  cfg.collection = "e";
  cfg.deletion_policy = DeletionPolicy::kImplicitTtl;
  cfg.soft_delete_ttl_secs = 10;
  ASSERT_TRUE(SetConfigSync(*s, cfg).ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(PutSync(*s, "e", std::to_string(i), "{}").ok());
  clock.Advance(11 * kSec);
  EXPECT_TRUE(testing::Eventually([&] { return s->Stats().documents_expired == 20; }))
      << s->Stats().documents_expired;
  EXPECT_TRUE(s->List("e")->empty());
}

}  // namespace
}  // namespace peat::store

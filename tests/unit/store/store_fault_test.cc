// Storage failures injected under SQLite (FaultInjectionVfs): a failed group is reported with a
// clear status, earlier data stays intact, reads keep working, and the store recovers.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "store/fault_injection_vfs.h"
#include "store/sqlite_document_store.h"
#include "store/store_test_util.h"

namespace peat::store {
namespace {

using testing::BaseOptions;
using testing::GetOrDie;
using testing::OpenOrDie;
using testing::PutSync;
using testing::RecordingListener;
using testing::TempDir;
using Fault = FaultInjectionVfs::Fault;

class StoreFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    auto vfs = FaultInjectionVfs::Register("peat-fault-" + std::to_string(n.fetch_add(1)));
    ASSERT_TRUE(vfs.ok()) << vfs.status().ToString();
    vfs_ = std::move(vfs).value();
    Open();
  }
  void TearDown() override { store_.reset(); }  // before the VFS goes away
  void Open(bool sync_full = false) {
    store_.reset();
    auto o = BaseOptions(dir_.path());
    o.sqlite_vfs = vfs_->name();
    o.synchronous_full = sync_full;
    store_ = OpenOrDie(o);
    ASSERT_NE(store_, nullptr);
  }

  TempDir dir_;
  std::unique_ptr<FaultInjectionVfs> vfs_;
  std::unique_ptr<SqliteDocumentStore> store_;
};

TEST_F(StoreFaultTest, DiskFullFailsTheWriteKeepsDataAndRecovers) {
  auto listener = std::make_shared<RecordingListener>();
  store_->AddListener(listener);
  auto feed_signals = std::make_shared<std::atomic<int>>(0);
  store_->AddFeedObserver([feed_signals](uint64_t) { feed_signals->fetch_add(1); });
  ASSERT_TRUE(PutSync(*store_, "c", "a", R"({"v":1})").ok());
  ASSERT_TRUE(PutSync(*store_, "c", "b", R"({"v":2})").ok());
  const uint64_t seq = store_->LastSeq();
  const uint64_t hlc = store_->LastHlc();

  vfs_->FailWrites(Fault::kDiskFull);
  Status s = PutSync(*store_, "c", "a", R"({"v":100})");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("disk full"), std::string::npos) << s.ToString();
  EXPECT_EQ(PutSync(*store_, "c", "new", R"({"v":3})").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(testing::DeleteSync(*store_, "c", "b").code(), StatusCode::kResourceExhausted);
  EXPECT_GT(vfs_->injected_failures(), 0u);

  // Nothing of the failed groups is visible: reads, seq, HLC, events, counters.
  EXPECT_EQ(GetOrDie(*store_, "c", "a"), R"({"v":1})");
  EXPECT_EQ(GetOrDie(*store_, "c", "b"), R"({"v":2})");
  EXPECT_EQ(GetOrDie(*store_, "c", "new"), "<absent>");
  EXPECT_EQ(*store_->List("c"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(store_->LastSeq(), seq);
  EXPECT_EQ(store_->LastHlc(), hlc);
  EXPECT_EQ(listener->events().size(), 2u);
  EXPECT_EQ(feed_signals->load(), 2);  // a rolled-back group is not announced
  EXPECT_EQ(store_->Stats().live_documents, 2u);
  EXPECT_GE(store_->Stats().failed_groups, 3u);

  vfs_->Clear();
  ASSERT_TRUE(PutSync(*store_, "c", "a", R"({"v":100})").ok());
  EXPECT_EQ(store_->LastSeq(), seq + 1);
  EXPECT_EQ(GetOrDie(*store_, "c", "a"), R"({"v":100})");
  EXPECT_EQ(listener->events().size(), 3u);
  EXPECT_EQ(listener->events().back().seq, seq + 1);

  Open();
  EXPECT_EQ(GetOrDie(*store_, "c", "a"), R"({"v":100})");
  EXPECT_EQ(GetOrDie(*store_, "c", "b"), R"({"v":2})");
  EXPECT_EQ(GetOrDie(*store_, "c", "new"), "<absent>");
  EXPECT_EQ(store_->LastSeq(), seq + 1);
}

TEST_F(StoreFaultTest, IoErrorFailsUnavailable) {
  ASSERT_TRUE(PutSync(*store_, "c", "a", R"({"v":1})").ok());
  vfs_->FailWrites(Fault::kIoError);
  EXPECT_EQ(PutSync(*store_, "c", "a", R"({"v":2})").code(), StatusCode::kUnavailable);
  vfs_->Clear();
  EXPECT_EQ(GetOrDie(*store_, "c", "a"), R"({"v":1})");
  ASSERT_TRUE(PutSync(*store_, "c", "a", R"({"v":3})").ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "a"), R"({"v":3})");
}

TEST_F(StoreFaultTest, FsyncFailureWithSynchronousFull) {
  Open(/*sync_full=*/true);
  ASSERT_TRUE(PutSync(*store_, "c", "a", R"({"v":1})").ok());
  EXPECT_GT(vfs_->syncs(), 0u);
  vfs_->FailSyncs(Fault::kIoError);
  EXPECT_EQ(PutSync(*store_, "c", "a", R"({"v":2})").code(), StatusCode::kUnavailable);
  vfs_->Clear();
  EXPECT_EQ(GetOrDie(*store_, "c", "a"), R"({"v":1})");
  ASSERT_TRUE(PutSync(*store_, "c", "a", R"({"v":3})").ok());
  Open(true);
  EXPECT_EQ(GetOrDie(*store_, "c", "a"), R"({"v":3})");
}

TEST_F(StoreFaultTest, EveryWriteOfAFailedGroupFailsAndNoneIsVisible) {
  ASSERT_TRUE(PutSync(*store_, "c", "base", R"({"v":0})").ok());
  const uint64_t seq = store_->LastSeq();
  // Let a few page writes through so the failure hits the middle of a large commit.
  vfs_->FailWrites(Fault::kDiskFull, /*after=*/3);
  const int kOps = 300;
  std::vector<std::promise<Status>> results(kOps);
  const std::string pad(3000, 'p');
  for (int i = 0; i < kOps; ++i) {
    store_->Put("c", "d" + std::to_string(i), "{\"p\":\"" + pad + "\"}",
                [&, i](Status s) { results[i].set_value(std::move(s)); });
  }
  int failed = 0;
  for (auto& r : results) failed += r.get_future().get().ok() ? 0 : 1;
  EXPECT_GT(failed, 0);
  vfs_->Clear();
  // Whatever got acknowledged is there; whatever failed is not.
  auto ids = store_->List("c");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), static_cast<size_t>(kOps - failed + 1));
  EXPECT_EQ(store_->LastSeq(), seq + (kOps - failed));
  ASSERT_TRUE(PutSync(*store_, "c", "after", R"({"ok":true})").ok());
  Open();
  EXPECT_EQ(store_->List("c")->size(), static_cast<size_t>(kOps - failed + 2));
  EXPECT_EQ(GetOrDie(*store_, "c", "base"), R"({"v":0})");
  EXPECT_EQ(GetOrDie(*store_, "c", "after"), R"({"ok":true})");
}

TEST_F(StoreFaultTest, DiskFullAtOpenIsAnErrorNotACrash) {
  store_.reset();
  TempDir fresh;
  auto o = BaseOptions(fresh.path());
  o.sqlite_vfs = vfs_->name();
  vfs_->FailWrites(Fault::kDiskFull);
  auto s = SqliteDocumentStore::Open(o);
  EXPECT_FALSE(s.ok());
  vfs_->Clear();
  EXPECT_TRUE(SqliteDocumentStore::Open(o).ok());
}

}  // namespace
}  // namespace peat::store

#include "store/sqlite_document_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/store_test_util.h"

namespace peat::store {
namespace {

using testing::BaseOptions;
using testing::DeleteSync;
using testing::GetOrDie;
using testing::OpenOrDie;
using testing::PutSync;
using testing::RecordingListener;
using testing::TempDir;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenOrDie(BaseOptions(dir_.path())); }
  void Reopen() {
    store_.reset();
    store_ = OpenOrDie(BaseOptions(dir_.path()));
  }
  TempDir dir_;
  std::unique_ptr<SqliteDocumentStore> store_;
};

TEST_F(StoreTest, PutThenGetReturnsCanonicalJson) {
  ASSERT_TRUE(
      PutSync(*store_, "c", "d1", R"({"b": 1, "a": {"y": "s", "x": 1.0}, "value": 2})").ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "d1"), R"({"a":{"x":1.0,"y":"s"},"b":1,"value":2})");
  EXPECT_EQ(store_->LastSeq(), 1u);
}

TEST_F(StoreTest, MissingDocumentIsAbsentAndDeletingItSucceedsWithoutAChange) {
  EXPECT_EQ(GetOrDie(*store_, "c", "nope"), "<absent>");
  EXPECT_TRUE(DeleteSync(*store_, "c", "nope").ok());
  EXPECT_EQ(store_->LastSeq(), 0u);
  EXPECT_EQ(GetOrDie(*store_, "c", "nope"), "<absent>");
}

TEST_F(StoreTest, PutReplacesTheDocument) {
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({"a":1,"b":{"x":1,"y":2},"c":[1,2]})").ok());
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({"a":1,"b":{"y":3}})").ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "d"), R"({"a":1,"b":{"y":3}})");
}

TEST_F(StoreTest, DeleteHidesAndPutAfterDeleteBringsBackOnlyNewContent) {
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({"old":1,"keep":2})").ok());
  ASSERT_TRUE(DeleteSync(*store_, "c", "d").ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "d"), "<absent>");
  EXPECT_TRUE(store_->List("c")->empty());
  const uint64_t seq = store_->LastSeq();
  ASSERT_TRUE(DeleteSync(*store_, "c", "d").ok());  // already deleted: no change
  EXPECT_EQ(store_->LastSeq(), seq);
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({"new":true})").ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "d"), R"({"new":true})");
  EXPECT_EQ(store_->Stats().tombstones, 0u);
  EXPECT_EQ(store_->Stats().live_documents, 1u);
}

TEST_F(StoreTest, RePutOfIdenticalContentChangesNothing) {
  auto listener = std::make_shared<RecordingListener>();
  store_->AddListener(listener);
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({"a":1,"b":[1,2],"n":{"x":null}})").ok());
  const uint64_t seq = store_->LastSeq();
  // Same content, different key order and whitespace.
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({ "n": {"x": null}, "b": [1, 2], "a": 1 })").ok());
  EXPECT_EQ(store_->LastSeq(), seq);
  EXPECT_EQ(listener->events().size(), 1u);
  // Reopened (state read from disk, not the cache) it is still a no-op.
  Reopen();
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({"a":1,"b":[1,2],"n":{"x":null}})").ok());
  EXPECT_EQ(store_->LastSeq(), seq);
}

TEST_F(StoreTest, ListenerSeesUpsertsAndDeletesInSeqOrder) {
  auto listener = std::make_shared<RecordingListener>();
  const uint64_t id = store_->AddListener(listener);
  ASSERT_TRUE(PutSync(*store_, "c", "a", R"({"v":1})").ok());
  ASSERT_TRUE(PutSync(*store_, "c", "b", R"({"v":2})").ok());
  ASSERT_TRUE(PutSync(*store_, "c", "a", R"({"v":3})").ok());
  ASSERT_TRUE(DeleteSync(*store_, "c", "b").ok());
  auto ev = listener->events();
  ASSERT_EQ(ev.size(), 4u);
  for (size_t i = 0; i < ev.size(); ++i) EXPECT_EQ(ev[i].seq, i + 1);
  EXPECT_EQ(ev[0].doc_id, "a");
  EXPECT_FALSE(ev[0].deleted);
  EXPECT_EQ(ev[0].json, R"({"v":1})");
  EXPECT_EQ(ev[2].json, R"({"v":3})");
  EXPECT_EQ(ev[3].doc_id, "b");
  EXPECT_TRUE(ev[3].deleted);
  EXPECT_EQ(ev[3].json, "");
  store_->RemoveListener(id);
  ASSERT_TRUE(PutSync(*store_, "c", "z", R"({})").ok());
  EXPECT_EQ(listener->events().size(), 4u);
}

TEST_F(StoreTest, ManyAsyncWritesToOneDocumentGetOrderedEvents) {
  auto listener = std::make_shared<RecordingListener>();
  store_->AddListener(listener);
  std::atomic<int> ok{0};
  for (int i = 0; i < 200; ++i) {
    store_->Put("c", "hot", "{\"i\":" + std::to_string(i) + "}", [&](Status s) {
      if (s.ok()) ok.fetch_add(1);
    });
  }
  ASSERT_TRUE(listener->WaitFor(200));
  ASSERT_TRUE(testing::Eventually([&] { return ok.load() == 200; }));
  auto ev = listener->events();
  for (size_t i = 0; i < ev.size(); ++i) {
    EXPECT_EQ(ev[i].seq, i + 1);
    EXPECT_EQ(ev[i].json, "{\"i\":" + std::to_string(i) + "}");
  }
  EXPECT_EQ(GetOrDie(*store_, "c", "hot"), R"({"i":199})");
}

TEST_F(StoreTest, ListIsSortedBytewiseAndPerCollection) {
  for (const char* id : {"b", "a", "B", "alpha-agent:nginx", "\xc3\xa9"}) {
    ASSERT_TRUE(PutSync(*store_, "c", id, "{}").ok());
  }
  ASSERT_TRUE(PutSync(*store_, "other", "x", "{}").ok());
  ASSERT_TRUE(PutSync(*store_, "c", "gone", "{}").ok());
  ASSERT_TRUE(DeleteSync(*store_, "c", "gone").ok());
  auto ids = store_->List("c");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"B", "a", "alpha-agent:nginx", "b", "\xc3\xa9"}));
  EXPECT_TRUE(store_->List("unknown")->empty());
}

TEST_F(StoreTest, CountByCollectionCountsLiveDocumentsPerCollection) {
  EXPECT_TRUE(store_->CountByCollection()->empty());
  ASSERT_TRUE(PutSync(*store_, "b", "1", "{}").ok());
  ASSERT_TRUE(PutSync(*store_, "b", "2", "{}").ok());
  ASSERT_TRUE(PutSync(*store_, "a", "1", "{}").ok());
  ASSERT_TRUE(PutSync(*store_, "gone", "1", "{}").ok());
  ASSERT_TRUE(DeleteSync(*store_, "gone", "1").ok());  // a tombstone only: not listed
  ASSERT_TRUE(PutSync(*store_, "b", "3", "{}").ok());
  ASSERT_TRUE(DeleteSync(*store_, "b", "3").ok());
  auto counts = store_->CountByCollection();
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ((*counts)[0].collection, "a");
  EXPECT_EQ((*counts)[0].documents, 1u);
  EXPECT_EQ((*counts)[1].collection, "b");
  EXPECT_EQ((*counts)[1].documents, 2u);
}

TEST_F(StoreTest, ScanVisitsLiveDocumentsInOrderAndCanStop) {
  ASSERT_TRUE(PutSync(*store_, "b", "2", R"({"x":2})").ok());
  ASSERT_TRUE(PutSync(*store_, "a", "1", R"({"x":1})").ok());
  ASSERT_TRUE(PutSync(*store_, "b", "1", R"({"x":3})").ok());
  ASSERT_TRUE(PutSync(*store_, "c", "1", R"({"x":4})").ok());
  ASSERT_TRUE(PutSync(*store_, "b", "3", R"({"x":5})").ok());
  ASSERT_TRUE(DeleteSync(*store_, "b", "3").ok());

  std::vector<std::string> seen;
  auto collect = [&](const ChangeEvent& e) {
    EXPECT_FALSE(e.deleted);
    EXPECT_GT(e.seq, 0u);
    seen.push_back(e.collection + "/" + e.doc_id + "=" + e.json);
    return true;
  };
  ASSERT_TRUE(store_->Scan({}, collect).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{R"(a/1={"x":1})", R"(b/1={"x":3})", R"(b/2={"x":2})",
                                            R"(c/1={"x":4})"}));
  seen.clear();
  ASSERT_TRUE(store_->Scan({"c", "b", "c", "missing"}, collect).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{R"(b/1={"x":3})", R"(b/2={"x":2})", R"(c/1={"x":4})"}));
  int n = 0;
  ASSERT_TRUE(store_->Scan({}, [&](const ChangeEvent&) { return ++n < 2; }).ok());
  EXPECT_EQ(n, 2);
  // The seq of a scanned document is the seq of its last change.
  ASSERT_TRUE(store_
                  ->Scan({"a"},
                         [&](const ChangeEvent& e) {
                           EXPECT_EQ(e.seq, 2u);
                           return true;
                         })
                  .ok());
}

TEST_F(StoreTest, ScanCallbackMayReadTheStore) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(PutSync(*store_, "c", "d" + std::to_string(i), "{\"i\":1}").ok());
  }
  int n = 0;
  ASSERT_TRUE(store_
                  ->Scan({},
                         [&](const ChangeEvent& e) {
                           EXPECT_EQ(GetOrDie(*store_, e.collection, e.doc_id), e.json);
                           ++n;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(n, 20);
}

TEST_F(StoreTest, ReopenKeepsDocumentsSeqHlcAndEpoch) {
  ASSERT_TRUE(PutSync(*store_, "c", "a", R"({"v":1})").ok());
  ASSERT_TRUE(PutSync(*store_, "c", "b", R"({"v":2})").ok());
  ASSERT_TRUE(DeleteSync(*store_, "c", "b").ok());
  const uint64_t seq = store_->LastSeq();
  const uint64_t hlc = store_->LastHlc();
  const std::string epoch = store_->epoch();
  EXPECT_EQ(epoch.size(), 32u);
  EXPECT_GT(hlc, 0u);
  Reopen();
  EXPECT_EQ(store_->LastSeq(), seq);
  EXPECT_EQ(store_->LastHlc(), hlc);
  EXPECT_EQ(store_->epoch(), epoch);
  EXPECT_EQ(GetOrDie(*store_, "c", "a"), R"({"v":1})");
  EXPECT_EQ(GetOrDie(*store_, "c", "b"), "<absent>");
  EXPECT_EQ(store_->Stats().live_documents, 1u);
  EXPECT_EQ(store_->Stats().tombstones, 1u);
  ASSERT_TRUE(PutSync(*store_, "c", "a", R"({"v":4})").ok());
  EXPECT_EQ(store_->LastSeq(), seq + 1);
  EXPECT_GT(store_->LastHlc(), hlc);
}

TEST(StoreClockTest, HlcNeverGoesBackwardsAcrossRestartWhenTheWallClockDoes) {
  TempDir dir;
  testing::FakeClock clock;
  auto o = BaseOptions(dir.path());
  o.now_ms = clock.fn();
  uint64_t hlc = 0;
  {
    auto s = OpenOrDie(o);
    ASSERT_TRUE(PutSync(*s, "c", "a", R"({"v":1})").ok());
    hlc = s->LastHlc();
    EXPECT_EQ(hlc >> 16, clock.Now());
  }
  testing::FakeClock earlier(clock.Now() - 3'600'000);  // the wall clock jumped back an hour
  o.now_ms = earlier.fn();
  auto s = OpenOrDie(o);
  ASSERT_TRUE(PutSync(*s, "c", "a", R"({"v":2})").ok());
  EXPECT_GT(s->LastHlc(), hlc);
  EXPECT_EQ(GetOrDie(*s, "c", "a"), R"({"v":2})");
}

TEST_F(StoreTest, GroupCommitPutsManyWritesInOneTransaction) {
  const int kOps = 2000;
  std::atomic<int> ok{0};
  const uint64_t tx_before = store_->Stats().transactions;
  for (int i = 0; i < kOps; ++i) {
    store_->Put("bulk", "d" + std::to_string(i), "{\"i\":" + std::to_string(i) + "}",
                [&](Status s) { ok.fetch_add(s.ok() ? 1 : 0); });
  }
  ASSERT_TRUE(testing::Eventually([&] { return ok.load() == kOps; }));
  const auto st = store_->Stats();
  EXPECT_LE(st.transactions - tx_before, static_cast<uint64_t>(kOps / 10));
  EXPECT_GT(st.max_group_ops, 10u);
  EXPECT_EQ(store_->LastSeq(), static_cast<uint64_t>(kOps));
  EXPECT_EQ(store_->List("bulk")->size(), static_cast<size_t>(kOps));
}

TEST_F(StoreTest, ConcurrentSynchronousWritersShareTransactions) {
  const int kThreads = 8, kPerThread = 200;
  const uint64_t tx_before = store_->Stats().transactions;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!PutSync(*store_, "c", std::to_string(t) + "-" + std::to_string(i), R"({"x":1})")
                 .ok()) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const uint64_t tx = store_->Stats().transactions - tx_before;
  EXPECT_LT(tx, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(store_->LastSeq(), static_cast<uint64_t>(kThreads * kPerThread));
}

TEST_F(StoreTest, ReadsRunWhileTheWriterIsBusy) {
  ASSERT_TRUE(PutSync(*store_, "c", "r", R"({"v":0})").ok());
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, bad{0};
  std::thread reader([&] {
    while (!stop.load()) {
      auto r = store_->Get("c", "r");
      if (!r.ok() || !r->has_value()) bad.fetch_add(1);
      reads.fetch_add(1);
    }
  });
  for (int i = 1; i <= 300; ++i) {
    ASSERT_TRUE(PutSync(*store_, "c", "r", "{\"v\":" + std::to_string(i) + "}").ok());
    // Read-your-writes: once `done` ran, every reader sees the new state.
    ASSERT_EQ(GetOrDie(*store_, "c", "r"), "{\"v\":" + std::to_string(i) + "}");
  }
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

TEST_F(StoreTest, InvalidInputFailsOnlyThatWrite) {
  auto code = [&](const std::string& c, const std::string& d, const std::string& j) {
    return PutSync(*store_, c, d, j).code();
  };
  EXPECT_EQ(code("", "d", "{}"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("c", "", "{}"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("c", std::string("a\0b", 3), "{}"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("c", std::string(1025, 'x'), "{}"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("c", std::string(1024, 'x'), "{}"), StatusCode::kOk);
  EXPECT_EQ(code("c", "\xff\xfe", "{}"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("c", "d", "{not json"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("c", "d", "[1,2]"), StatusCode::kInvalidArgument);
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 70; ++i) deep += "}";
  EXPECT_EQ(code("c", "d", deep), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("c", "d", "{\"x\":\"" + std::string(1 << 20, 'a') + "\"}"),
            StatusCode::kInvalidArgument);
  Status empty_collection = PutSync(*store_, "", "d", "{}");
  EXPECT_NE(empty_collection.message().find("collection"), std::string::npos);
  EXPECT_NE(PutSync(*store_, "c", "", "{}").message().find("doc_id"), std::string::npos);
  EXPECT_EQ(DeleteSync(*store_, "", "d").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->LastSeq(), 1u);

  // In one group: the bad write fails alone.
  std::vector<std::promise<Status>> p(3);
  store_->Put("g", "1", R"({"a":1})", [&](Status s) { p[0].set_value(s); });
  store_->Put("g", "2", R"({"a":)", [&](Status s) { p[1].set_value(s); });
  store_->Put("g", "3", R"({"a":3})", [&](Status s) { p[2].set_value(s); });
  EXPECT_TRUE(p[0].get_future().get().ok());
  EXPECT_EQ(p[1].get_future().get().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(p[2].get_future().get().ok());
  EXPECT_EQ(*store_->List("g"), (std::vector<std::string>{"1", "3"}));
}

TEST_F(StoreTest, WritesAfterCloseFailUnavailable) {
  store_->Close();
  EXPECT_EQ(PutSync(*store_, "c", "d", "{}").code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_->Get("c", "d").status().code(), StatusCode::kUnavailable);
}

TEST_F(StoreTest, CloseCommitsQueuedWrites) {
  std::atomic<int> ok{0};
  for (int i = 0; i < 500; ++i) {
    store_->Put("c", std::to_string(i), "{}", [&](Status s) { ok.fetch_add(s.ok() ? 1 : 0); });
  }
  store_->Close();
  EXPECT_EQ(ok.load(), 500);
  Reopen();
  EXPECT_EQ(store_->List("c")->size(), 500u);
}

TEST_F(StoreTest, CacheStaysWithinItsBounds) {
  TempDir dir;
  auto o = BaseOptions(dir.path());
  o.cache_max_entries = 16;
  o.cache_max_bytes = 64 << 10;
  auto s = OpenOrDie(o);
  const std::string big(2000, 'x');
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(PutSync(*s, "c", std::to_string(i), "{\"p\":\"" + big + "\"}").ok());
  }
  for (int i = 0; i < 300; ++i) EXPECT_NE(GetOrDie(*s, "c", std::to_string(i)), "<absent>");
  auto st = s->Stats();
  EXPECT_LE(st.cache_entries, 16u);
  EXPECT_LE(st.cache_bytes, 64u << 10);
  EXPECT_GT(st.cache_entries, 0u);
  // Hot reads hit the cache.
  const uint64_t hits = s->Stats().cache_hits;
  for (int i = 0; i < 10; ++i) GetOrDie(*s, "c", "299");
  EXPECT_GE(s->Stats().cache_hits, hits + 9);
}

TEST(StoreOpenTest, RejectsBadOptions) {
  TempDir dir;
  auto o = BaseOptions(dir.path());
  o.node_tag = 0;
  EXPECT_EQ(SqliteDocumentStore::Open(o).status().code(), StatusCode::kInvalidArgument);
  o = BaseOptions("");
  EXPECT_EQ(SqliteDocumentStore::Open(o).status().code(), StatusCode::kInvalidArgument);
  o = BaseOptions(dir.path());
  o.encryption_key = SecureBytes(16);
  EXPECT_EQ(SqliteDocumentStore::Open(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(StoreOpenTest, CorruptFileIsReportedNotCrashed) {
  TempDir dir;
  {
    std::ofstream f(dir.path() + "/peat.db", std::ios::binary);
    f << std::string(8192, 'g');
  }
  auto s = SqliteDocumentStore::Open(BaseOptions(dir.path()));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kDataLoss) << s.status().ToString();
}

TEST(StoreOpenTest, CreatesTheDataDir) {
  TempDir dir;
  auto s = OpenOrDie(BaseOptions(dir.path() + "/nested/deeper"));
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/nested/deeper/peat.db"));
}

}  // namespace
}  // namespace peat::store

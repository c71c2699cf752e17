// DocumentStore::MergePut, the internal patch the agent watcher writes nodes/<node_id> with
// (WATCHER.md §4, §9 decision 2): other fields stay, absent documents are created, a nested value
// replaces its key's value, a patch concurrent with a remote write of another field converges on
// both replicas, encrypted stores keep every field encrypted, listeners see one event per
// effective patch, and a deleted document is recreated as a Put would recreate it.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>

#include "crdt/document.h"
#include "store/sqlite_document_store.h"
#include "store/store_test_util.h"

namespace peat::store {
namespace {

using testing::BaseOptions;
using testing::FakeClock;
using testing::GetOrDie;
using testing::MergePutSync;
using testing::OpenOrDie;
using testing::PutSync;
using testing::TempDir;

class MergePutTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenOrDie(BaseOptions(dir_.path())); }
  TempDir dir_;
  std::unique_ptr<SqliteDocumentStore> store_;
};

TEST_F(MergePutTest, KeepsTheOtherFields) {
  ASSERT_TRUE(PutSync(*store_, "nodes", "n1", R"({"name":"Alpha Edge","status":2})").ok());
  ASSERT_TRUE(
      MergePutSync(*store_, "nodes", "n1", R"({"version":"0.9.1","last_seen":1767225600})").ok());
  EXPECT_EQ(GetOrDie(*store_, "nodes", "n1"),
            R"({"last_seen":1767225600,"name":"Alpha Edge","status":2,"version":"0.9.1"})");
  EXPECT_EQ(store_->LastSeq(), 2u);
  // A Put still replaces the whole document.
  ASSERT_TRUE(PutSync(*store_, "nodes", "n1", R"({"name":"B"})").ok());
  EXPECT_EQ(GetOrDie(*store_, "nodes", "n1"), R"({"name":"B"})");
}

TEST_F(MergePutTest, CreatesAnAbsentDocument) {
  ASSERT_TRUE(MergePutSync(*store_, "nodes", "n1", R"({"b":1, "a":"x"})").ok());
  EXPECT_EQ(GetOrDie(*store_, "nodes", "n1"), R"({"a":"x","b":1})");
  EXPECT_EQ(*store_->List("nodes"), std::vector<std::string>{"n1"});
  EXPECT_EQ(store_->LastSeq(), 1u);
}

TEST_F(MergePutTest, ANestedObjectReplacesTheKeysValueAsPutWould) {
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({"a":{"x":1,"y":2},"k":1})").ok());
  ASSERT_TRUE(MergePutSync(*store_, "c", "d", R"({"a":{"y":3}})").ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "d"), R"({"a":{"y":3},"k":1})");
  ASSERT_TRUE(MergePutSync(*store_, "c", "d", R"({"a":[1,{"z":2}],"k":{}})").ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "d"), R"({"a":[1,{"z":2}],"k":{}})");
}

TEST_F(MergePutTest, OnADeletedDocumentItActsAsAPutOnADeletedDocument) {
  for (const char* d : {"patched", "put"}) {
    ASSERT_TRUE(PutSync(*store_, "c", d, R"({"name":"old","a":1})").ok());
    ASSERT_TRUE(testing::DeleteSync(*store_, "c", d).ok());
  }
  ASSERT_TRUE(MergePutSync(*store_, "c", "patched", R"({"a":2})").ok());
  ASSERT_TRUE(PutSync(*store_, "c", "put", R"({"a":2})").ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "patched"), R"({"a":2})");  // "name" does not come back
  EXPECT_EQ(GetOrDie(*store_, "c", "put"), R"({"a":2})");
}

TEST_F(MergePutTest, ListenersSeeOneEventPerEffectivePatchAndANoOpPatchHasNoSeq) {
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({"name":"n"})").ok());
  auto listener = std::make_shared<testing::RecordingListener>();
  store_->AddListener(listener);
  ASSERT_TRUE(MergePutSync(*store_, "c", "d", R"({"v":1,"w":{"x":true}})").ok());
  ASSERT_TRUE(listener->WaitFor(1));
  EXPECT_EQ(store_->LastSeq(), 2u);
  // Nothing changes: no seq, no event (the next effective write gets seq 3 and event 2).
  ASSERT_TRUE(MergePutSync(*store_, "c", "d", R"({"w":{"x":true}})").ok());
  ASSERT_TRUE(MergePutSync(*store_, "c", "d", "{}").ok());
  EXPECT_EQ(store_->LastSeq(), 2u);
  ASSERT_TRUE(MergePutSync(*store_, "c", "d", R"({"v":2})").ok());
  ASSERT_TRUE(listener->WaitFor(2));
  const auto events = listener->events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].seq, 2u);
  EXPECT_FALSE(events[0].deleted);
  EXPECT_EQ(events[0].json, R"({"name":"n","v":1,"w":{"x":true}})");  // the whole document
  EXPECT_EQ(events[1].seq, 3u);
  EXPECT_EQ(events[1].json, R"({"name":"n","v":2,"w":{"x":true}})");
}

TEST_F(MergePutTest, PatchesQueuedTogetherAllApply) {
  // Not waited for one by one: they share groups, each applied on the state the previous staged.
  constexpr int kPatches = 40;
  std::atomic<int> ok{0};
  std::promise<void> all;
  std::atomic<int> pending{kPatches};
  for (int i = 0; i < kPatches; ++i) {
    store_->MergePut("c", "d", R"({"k)" + std::to_string(i) + R"(":)" + std::to_string(i) + "}",
                     [&](Status s) {
                       if (s.ok()) ok.fetch_add(1);
                       if (pending.fetch_sub(1) == 1) all.set_value();
                     });
  }
  all.get_future().wait();
  EXPECT_EQ(ok.load(), kPatches);
  EXPECT_EQ(store_->LastSeq(), static_cast<uint64_t>(kPatches));
  const std::string json = GetOrDie(*store_, "c", "d");
  for (int i = 0; i < kPatches; ++i) {
    const std::string member = "\"k" + std::to_string(i) + "\":" + std::to_string(i);
    EXPECT_NE(json.find(member), std::string::npos) << member << " missing from " << json;
  }
}

TEST_F(MergePutTest, BadInputFailsLikeAPutAndChangesNothing) {
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({"keep":1})").ok());
  EXPECT_EQ(MergePutSync(*store_, "c", "d", "[1]").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MergePutSync(*store_, "c", "d", R"({"a":)").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MergePutSync(*store_, "c", "", R"({"a":1})").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MergePutSync(*store_, "", "d", R"({"a":1})").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GetOrDie(*store_, "c", "d"), R"({"keep":1})");
  EXPECT_EQ(store_->LastSeq(), 1u);
}

TEST(MergePutLimitTest, APatchedDocumentOverTheSizeLimitIsRejected) {
  TempDir dir;
  auto o = BaseOptions(dir.path());
  o.limits.max_document_bytes = 64;
  auto store = OpenOrDie(o);
  const std::string half(30, 'x');
  ASSERT_TRUE(PutSync(*store, "c", "d", R"({"a":")" + half + R"("})").ok());
  const Status s = MergePutSync(*store, "c", "d", R"({"b":")" + half + R"("})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("the patched document would be"), std::string::npos) << s.message();
  EXPECT_EQ(GetOrDie(*store, "c", "d"), R"({"a":")" + half + R"("})");
  EXPECT_EQ(store->LastSeq(), 1u);
  // The patch's own size is checked before it is queued, as a Put's is.
  EXPECT_EQ(MergePutSync(*store, "c", "e", R"({"b":")" + std::string(80, 'y') + R"("})").code(),
            StatusCode::kInvalidArgument);
}

// Two nodes, each with its own store and node tag; changes travel as the mesh carries them: each
// store's feed merged into the other.
class TwoReplicasTest : public ::testing::Test {
 protected:
  StoreOptions Options(const TempDir& dir, uint64_t tag, FakeClock& clock) {
    auto o = BaseOptions(dir.path());
    o.node_tag = tag;
    o.now_ms = clock.fn();
    if (encrypted_) o.encryption_key = key_.Copy();
    return o;
  }
  void Open() {
    a_ = OpenOrDie(Options(dir_a_, 0xA, clock_a_));
    b_ = OpenOrDie(Options(dir_b_, 0xB, clock_b_));
  }
  void Exchange() {
    const std::string peer_a(64, 'a'), peer_b(64, 'b');  // their endpoint ids
    ASSERT_TRUE(testing::MergeSync(*b_, peer_a, testing::FeedChanges(*a_)).ok());
    ASSERT_TRUE(testing::MergeSync(*a_, peer_b, testing::FeedChanges(*b_)).ok());
  }

  bool encrypted_ = false;
  SecureBytes key_ = testing::RandomKey();
  // A's clock runs 10 s ahead of B's: A's writes are the newer ones.
  FakeClock clock_a_{1'700'000'010'000};
  FakeClock clock_b_{1'700'000'000'000};
  TempDir dir_a_, dir_b_;
  std::unique_ptr<SqliteDocumentStore> a_, b_;
};

TEST_F(TwoReplicasTest, APatchConcurrentWithARemoteUpdateOfAnotherFieldConvergesToBoth) {
  Open();
  ASSERT_TRUE(PutSync(*a_, "nodes", "n1", R"({"last_seen":1,"name":"Alpha"})").ok());
  Exchange();
  ASSERT_EQ(GetOrDie(*b_, "nodes", "n1"), R"({"last_seen":1,"name":"Alpha"})");
  // Concurrently: a client on B renames the node (a Put of the whole document as B sees it), and
  // later, not having seen that yet, the watcher on A patches its keys. A whole-document write
  // from A would now drop "name" (A's timestamp is newer); the patch does not touch it.
  ASSERT_TRUE(PutSync(*b_, "nodes", "n1", R"({"last_seen":1,"name":"Alpha Edge"})").ok());
  clock_a_.Advance(1000);
  ASSERT_TRUE(MergePutSync(*a_, "nodes", "n1", R"({"last_seen":2,"version":"0.9.1"})").ok());
  Exchange();
  const std::string want = R"({"last_seen":2,"name":"Alpha Edge","version":"0.9.1"})";
  EXPECT_EQ(GetOrDie(*a_, "nodes", "n1"), want);
  EXPECT_EQ(GetOrDie(*b_, "nodes", "n1"), want);
  // Replicas stay converged: another exchange changes nothing on either side.
  const uint64_t seq_a = a_->LastSeq(), seq_b = b_->LastSeq();
  Exchange();
  EXPECT_EQ(a_->LastSeq(), seq_a);
  EXPECT_EQ(b_->LastSeq(), seq_b);
}

TEST_F(TwoReplicasTest, EncryptedStoresKeepPatchedAndUntouchedFieldsEncrypted) {
  encrypted_ = true;
  Open();
  ASSERT_TRUE(PutSync(*a_, "nodes", "n1", R"({"name":"CANARY-name-value"})").ok());
  const crdt::Document before = testing::RawFeedState(*a_, "nodes", "n1");
  ASSERT_TRUE(MergePutSync(*a_, "nodes", "n1", R"({"CANARYKEY":"CANARY-patch-value"})").ok());
  EXPECT_EQ(GetOrDie(*a_, "nodes", "n1"),
            R"({"CANARYKEY":"CANARY-patch-value","name":"CANARY-name-value"})");
  const crdt::Document after = testing::RawFeedState(*a_, "nodes", "n1");
  // Every stored register is opaque, and the untouched field kept its exact ciphertext and clock.
  for (const auto& [path, reg] : after.registers()) {
    EXPECT_EQ(path.find("CANARY"), std::string::npos);
    EXPECT_EQ(reg.value.find("CANARY"), std::string::npos);
  }
  for (const auto& [path, reg] : before.registers()) {
    if (path.empty()) continue;
    auto it = after.registers().find(path);
    ASSERT_NE(it, after.registers().end());
    EXPECT_EQ(it->second, reg);
  }
  std::string files;
  for (const char* suffix : {"", "-wal"}) {
    files += testing::ReadFileBytes(dir_a_.path() + "/peat.db" + suffix);
  }
  EXPECT_EQ(files.find("CANARY"), std::string::npos);
  // The peer with the same key reads the patched document.
  Exchange();
  EXPECT_EQ(GetOrDie(*b_, "nodes", "n1"),
            R"({"CANARYKEY":"CANARY-patch-value","name":"CANARY-name-value"})");
}

}  // namespace
}  // namespace peat::store

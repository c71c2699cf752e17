// The replication log's "feed advanced to N" signal (ReplicationLog::AddFeedObserver): called
// once per committed group that gave anything a seq — a merge batch, a group of local writes —
// with the new LastSeq, before the writes' `done` runs; never for groups that advanced nothing;
// never after RemoveFeedObserver. Also the writer's dispatch of every kind of WriteOp.

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "crdt/document.h"
#include "store/feed_observers.h"
#include "store/sqlite_document_store.h"
#include "store/store_test_util.h"

namespace peat::store {
namespace {

using testing::BaseOptions;
using testing::Change;
using testing::MergeSync;
using testing::OpenOrDie;
using testing::PutSync;
using testing::TempDir;

const std::string kPeer(64, 'a');

// Records every signal (writer thread) for the test thread.
class SignalLog {
 public:
  FeedObserver Observer() {
    return [this](uint64_t last_seq) {
      std::lock_guard lock(mu_);
      seqs_.push_back(last_seq);
    };
  }
  std::vector<uint64_t> seqs() const {
    std::lock_guard lock(mu_);
    return seqs_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<uint64_t> seqs_;
};

// Holds the writer thread inside the first group's listener call until released, so writes
// submitted meanwhile queue up and commit together as the next group (no sleeps needed).
class WriterGate : public ChangeListener {
 public:
  void OnChange(const ChangeEvent&) override {
    std::unique_lock lock(mu_);
    if (used_) return;
    used_ = true;
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
  }
  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool used_ = false, entered_ = false, released_ = false;
};

crdt::Document RemoteDoc(const std::string& json, uint64_t wall_ms) {
  crdt::Document d;
  EXPECT_TRUE(d.Put(json, crdt::Timestamp{wall_ms << 16, 0x9999}).ok());
  return d;
}

class FeedSignalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(BaseOptions(dir_.path()));
    ASSERT_NE(store_, nullptr);
    id_ = store_->AddFeedObserver(log_.Observer());
  }
  TempDir dir_;
  std::unique_ptr<SqliteDocumentStore> store_;
  SignalLog log_;
  uint64_t id_ = 0;
};

TEST_F(FeedSignalTest, AMergeBatchIsSignalledOnceWithTheNewHead) {
  std::vector<RemoteChange> batch;
  for (int i = 0; i < 20; ++i) {
    batch.push_back(Change("c", "d" + std::to_string(i), RemoteDoc(R"({"v":1})", 1000).Encode()));
  }
  ASSERT_TRUE(MergeSync(*store_, kPeer, batch, {"ep", 20}).ok());
  EXPECT_EQ(store_->LastSeq(), 20u);
  EXPECT_EQ(log_.seqs(), (std::vector<uint64_t>{20}));

  // The same batch again changes nothing: no seq, no signal (the checkpoint is still written).
  ASSERT_TRUE(MergeSync(*store_, kPeer, batch, {"ep", 21}).ok());
  EXPECT_EQ(log_.seqs(), (std::vector<uint64_t>{20}));

  // A merge that only moves a deleted document forward has no listener event, but a seq: it is
  // signalled (other peers must get it).
  crdt::Document gone = RemoteDoc(R"({"z":1})", 1000);
  gone.Delete(crdt::Timestamp{2000 << 16, 0x9999});
  ASSERT_TRUE(MergeSync(*store_, kPeer, {Change("c", "gone", gone.Encode())}).ok());
  EXPECT_EQ(store_->NotifiedSeq(), 20u);
  EXPECT_EQ(log_.seqs(), (std::vector<uint64_t>{20, 21}));
}

TEST_F(FeedSignalTest, AGroupOfLocalWritesIsSignalledOnce) {
  auto gate = std::make_shared<WriterGate>();
  store_->AddListener(gate);
  std::promise<Status> first;
  store_->Put("c", "first", R"({"v":0})", [&](Status s) { first.set_value(s); });
  gate->WaitEntered();  // the writer is inside group 1: the next writes queue up
  constexpr int kWrites = 10;
  std::vector<std::promise<Status>> done(kWrites);
  std::vector<uint64_t> seen_at_done(kWrites);
  for (int i = 0; i < kWrites; ++i) {
    store_->Put("c", "d" + std::to_string(i), R"({"v":1})", [&, i](Status s) {
      seen_at_done[i] = log_.seqs().empty() ? 0 : log_.seqs().back();
      done[i].set_value(s);
    });
  }
  gate->Release();
  ASSERT_TRUE(first.get_future().get().ok());
  for (auto& d : done) ASSERT_TRUE(d.get_future().get().ok());

  EXPECT_EQ(store_->LastSeq(), 1u + kWrites);
  EXPECT_EQ(store_->Stats().transactions, 2u);
  EXPECT_EQ(log_.seqs(), (std::vector<uint64_t>{1, 1 + kWrites}));
  // The signal came before the writes' `done`.
  for (uint64_t s : seen_at_done) EXPECT_EQ(s, 1u + kWrites);

  // A write that changes nothing, and peer-state writes, advance nothing: no signal.
  ASSERT_TRUE(PutSync(*store_, "c", "d0", R"({"v":1})").ok());
  ASSERT_TRUE(testing::Wait([&](WriteDone d) {
                store_->SavePeer(PeerRecord{kPeer, {"127.0.0.1:1"}, false}, std::move(d));
              }).ok());
  ASSERT_TRUE(
      testing::Wait([&](WriteDone d) { store_->SaveMemberAck(kPeer, 3, std::move(d)); }).ok());
  EXPECT_EQ(log_.seqs().size(), 2u);
}

TEST_F(FeedSignalTest, RemovedObserversAreNotCalled) {
  SignalLog other;
  const uint64_t other_id = store_->AddFeedObserver(other.Observer());
  ASSERT_TRUE(PutSync(*store_, "c", "a", R"({"v":1})").ok());
  store_->RemoveFeedObserver(id_);
  ASSERT_TRUE(PutSync(*store_, "c", "b", R"({"v":1})").ok());
  store_->RemoveFeedObserver(other_id);
  store_->RemoveFeedObserver(other_id);  // unknown id: no-op
  ASSERT_TRUE(PutSync(*store_, "c", "c", R"({"v":1})").ok());
  EXPECT_EQ(log_.seqs(), (std::vector<uint64_t>{1}));
  EXPECT_EQ(other.seqs(), (std::vector<uint64_t>{1, 2}));
}

TEST(FeedObserversTest, NotifiesInRegistrationOrder) {
  FeedObservers observers;
  std::vector<std::string> calls;
  observers.Add([&](uint64_t s) { calls.push_back("a" + std::to_string(s)); });
  const uint64_t b = observers.Add([&](uint64_t s) { calls.push_back("b" + std::to_string(s)); });
  observers.Notify(7);
  observers.Remove(b);
  observers.Notify(8);
  EXPECT_EQ(calls, (std::vector<std::string>{"a7", "b7", "a8"}));
}

// Every kind of WriteOp reaches its applier through the variant, and a failed precheck fails
// the op alone without touching the database.
TEST_F(FeedSignalTest, EveryWriteKindIsDispatchedToItsApplier) {
  CollectionConfig config;
  config.collection = "imm";
  config.deletion_policy = DeletionPolicy::kImmutable;
  ASSERT_TRUE(testing::SetConfigSync(*store_, config).ok());
  ASSERT_TRUE(PutSync(*store_, "imm", "x", R"({"v":1})").ok());
  EXPECT_EQ(testing::DeleteSync(*store_, "imm", "x").code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({"v":1})").ok());
  ASSERT_TRUE(testing::DeleteSync(*store_, "c", "d").ok());
  EXPECT_EQ(testing::GetOrDie(*store_, "c", "d"), "<absent>");
  EXPECT_EQ(PutSync(*store_, "", "d", R"({"v":1})").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PutSync(*store_, "c", "d", "[1]").code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(MergeSync(*store_, kPeer, {}, {"ep", 5}).ok());
  auto checkpoint = store_->GetCheckpoint(kPeer);
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(checkpoint->seq, 5u);

  ASSERT_TRUE(testing::Wait([&](WriteDone d) {
                store_->SavePeer(PeerRecord{kPeer, {"h:1", "h:2"}, true}, std::move(d));
              }).ok());
  ASSERT_EQ(store_->ListPeerRecords()->size(), 1u);
  EXPECT_EQ(store_->ListPeerRecords()->at(0).addresses, (std::vector<std::string>{"h:1", "h:2"}));
  ASSERT_TRUE(testing::Wait([&](WriteDone d) { store_->RemovePeer(kPeer, std::move(d)); }).ok());
  EXPECT_TRUE(store_->ListPeerRecords()->empty());

  ASSERT_TRUE(
      testing::Wait([&](WriteDone d) { store_->SaveMemberAck(kPeer, 9, std::move(d)); }).ok());
  ASSERT_TRUE(
      testing::Wait([&](WriteDone d) { store_->SaveMemberAck(kPeer, 4, std::move(d)); }).ok());
  ASSERT_EQ(store_->ListMemberAcks()->size(), 1u);
  EXPECT_EQ(store_->ListMemberAcks()->at(0).second, 9u);
  ASSERT_TRUE(testing::Wait([&](WriteDone d) { store_->RemoveMember(kPeer, std::move(d)); }).ok());
  EXPECT_TRUE(store_->ListMemberAcks()->empty());
  EXPECT_EQ(testing::Wait([&](WriteDone d) { store_->RemoveMember("", std::move(d)); }).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace peat::store

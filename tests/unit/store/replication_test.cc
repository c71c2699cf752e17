// Replication support in the store: MergeRemote (CRDT merge of peers' states in the group commit,
// with checkpoints in the same transaction), the change feed (ReadFeed), the peer registry, the
// v1 → v2 schema migration, encryption across keyed and keyless nodes, and storage faults.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "crdt/document.h"
#include "crypto/random.h"
#include "store/fault_injection_vfs.h"
#include "store/sqlite_connection.h"
#include "store/sqlite_document_store.h"
#include "store/store_schema.h"
#include "store/store_test_util.h"

namespace peat::store {
namespace {

using testing::BaseOptions;
using testing::Change;
using testing::DeleteSync;
using testing::FakeClock;
using testing::FeedChanges;
using testing::FeedOrDie;
using testing::GetOrDie;
using testing::MergeSync;
using testing::OpenOrDie;
using testing::PutSync;
using testing::RandomKey;
using testing::RecordingListener;
using testing::TempDir;

const std::string kPeerA(64, 'a');
const std::string kPeerB(64, 'b');
constexpr uint64_t kRemoteTag = 0x9999;

Status SavePeerSync(PeerStateStore& s, PeerRecord r) {
  return testing::Wait([&](WriteDone done) { s.SavePeer(r, std::move(done)); });
}
Status RemovePeerSync(PeerStateStore& s, const std::string& id) {
  return testing::Wait([&](WriteDone done) { s.RemovePeer(id, std::move(done)); });
}

crdt::Timestamp Ts(uint64_t wall_ms, uint64_t tag = kRemoteTag) {
  return crdt::Timestamp{wall_ms << 16, tag};
}

// A state written by another node: `json` put into a fresh document at `wall_ms`.
crdt::Document RemoteDoc(const std::string& json, uint64_t wall_ms, uint64_t tag = kRemoteTag) {
  crdt::Document d;
  auto r = d.Put(json, Ts(wall_ms, tag));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return d;
}

crdt::Document DecodeOrDie(const std::string& state) {
  auto d = crdt::Document::Decode(state);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : crdt::Document();
}

std::vector<uint64_t> Seqs(const FeedPage& p) {
  std::vector<uint64_t> out;
  for (const auto& e : p.entries) out.push_back(e.seq);
  return out;
}

ReplicationCheckpoint CheckpointOrDie(ReplicationLog& s, const std::string& peer) {
  auto cp = s.GetCheckpoint(peer);
  EXPECT_TRUE(cp.ok()) << cp.status().ToString();
  return cp.ok() ? *cp : ReplicationCheckpoint{"<error>", 0};
}

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = OpenOrDie(Options()); }
  StoreOptions Options() {
    auto o = BaseOptions(dir_.path());
    o.now_ms = clock_.fn();
    return o;
  }
  void Reopen() {
    store_.reset();
    store_ = OpenOrDie(Options());
  }
  uint64_t Now() const { return clock_.Now(); }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<SqliteDocumentStore> store_;
};

TEST_F(ReplicationTest, MergeIntoEmptyStoreIsReadableAndInTheFeedWithItsSourcePeer) {
  auto listener = std::make_shared<RecordingListener>();
  store_->AddListener(listener);
  const std::string state = RemoteDoc(R"({"x":1,"n":{"y":"z"}})", Now() - 10).Encode();
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {Change("c", "d", state)}).ok());

  EXPECT_EQ(GetOrDie(*store_, "c", "d"), R"({"n":{"y":"z"},"x":1})");
  EXPECT_EQ(*store_->List("c"), std::vector<std::string>{"d"});
  EXPECT_EQ(store_->LastSeq(), 1u);
  const FeedPage page = FeedOrDie(*store_);
  ASSERT_EQ(page.entries.size(), 1u);
  EXPECT_EQ(page.entries[0].seq, 1u);
  EXPECT_EQ(page.entries[0].collection, "c");
  EXPECT_EQ(page.entries[0].doc_id, "d");
  EXPECT_EQ(page.entries[0].state, state);
  EXPECT_EQ(page.entries[0].src_peer, kPeerA);
  EXPECT_EQ(page.scanned_through, 1u);

  ASSERT_TRUE(listener->WaitFor(1));
  const ChangeEvent e = listener->events()[0];
  EXPECT_EQ(e.seq, 1u);
  EXPECT_FALSE(e.deleted);
  EXPECT_EQ(e.json, R"({"n":{"y":"z"},"x":1})");
  EXPECT_EQ(store_->NotifiedSeq(), 1u);

  const StoreStats st = store_->Stats();
  EXPECT_EQ(st.remote_merged, 1u);
  EXPECT_EQ(st.remote_unchanged, 0u);
  EXPECT_EQ(st.remote_rejected, 0u);
  EXPECT_EQ(st.live_documents, 1u);

  // From disk (not the cache) after a reopen.
  Reopen();
  EXPECT_EQ(GetOrDie(*store_, "c", "d"), R"({"n":{"y":"z"},"x":1})");
  EXPECT_EQ(FeedOrDie(*store_).entries.at(0).src_peer, kPeerA);
}

TEST_F(ReplicationTest, MergingTheSameStateAgainChangesNothing) {
  auto listener = std::make_shared<RecordingListener>();
  store_->AddListener(listener);
  const std::string state = RemoteDoc(R"({"x":1})", Now()).Encode();
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {Change("c", "d", state)}).ok());
  const uint64_t seq = store_->LastSeq();
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {Change("c", "d", state)}).ok());
  ASSERT_TRUE(MergeSync(*store_, kPeerB, {Change("c", "d", state)}).ok());
  EXPECT_EQ(store_->LastSeq(), seq);
  EXPECT_EQ(listener->events().size(), 1u);
  EXPECT_EQ(store_->Stats().remote_unchanged, 2u);
  EXPECT_EQ(FeedOrDie(*store_).entries.at(0).src_peer, kPeerA);  // first sender kept
  // Also when the state is read back from disk.
  Reopen();
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {Change("c", "d", state)}).ok());
  EXPECT_EQ(store_->LastSeq(), seq);
  // An older state of the same document (a subset) changes nothing either.
  crdt::Document older = RemoteDoc(R"({"x":0})", Now() - 1000);
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {Change("c", "d", older.Encode())}).ok());
  EXPECT_EQ(store_->LastSeq(), seq);
  EXPECT_EQ(GetOrDie(*store_, "c", "d"), R"({"x":1})");
}

TEST_F(ReplicationTest, ConcurrentFieldEditsMergeAndTheResultIsNotAttributedToThePeer) {
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({"a":1})").ok());
  auto listener = std::make_shared<RecordingListener>();
  store_->AddListener(listener);
  const crdt::Document remote = RemoteDoc(R"({"b":2})", Now());
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {Change("c", "d", remote.Encode())}).ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "d"), R"({"a":1,"b":2})");
  EXPECT_EQ(store_->LastSeq(), 2u);
  ASSERT_TRUE(listener->WaitFor(1));
  EXPECT_EQ(listener->events()[0].json, R"({"a":1,"b":2})");
  EXPECT_EQ(listener->events()[0].seq, 2u);

  const FeedPage page = FeedOrDie(*store_);
  ASSERT_EQ(page.entries.size(), 1u);  // one entry per document: its latest state
  EXPECT_EQ(page.entries[0].seq, 2u);
  EXPECT_EQ(page.entries[0].src_peer, "");
  // Not equal to what A sent, so it must go back to A: not skipped for A.
  EXPECT_EQ(FeedOrDie(*store_, 0, 10, 1 << 20, kPeerA).entries.size(), 1u);

  // The peer merges our state: now it has everything, and its state merged back changes nothing.
  crdt::Document at_a = remote;
  EXPECT_TRUE(at_a.Merge(DecodeOrDie(page.entries[0].state)).changed);
  EXPECT_EQ(at_a.Render(), R"({"a":1,"b":2})");
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {Change("c", "d", at_a.Encode())}).ok());
  EXPECT_EQ(store_->LastSeq(), 2u);

  // A local put on top of the merged document keeps the remote field when it is still there.
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({"a":3,"b":2})").ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "d"), R"({"a":3,"b":2})");
  EXPECT_EQ(FeedOrDie(*store_).entries.at(0).src_peer, "");
}

TEST_F(ReplicationTest, RemoteDeleteOfALiveDocumentDeletesAndNotifies) {
  ASSERT_TRUE(PutSync(*store_, "c", "d", R"({"a":1})").ok());
  auto listener = std::make_shared<RecordingListener>();
  store_->AddListener(listener);
  // The peer has our state and deletes the document.
  crdt::Document remote = DecodeOrDie(FeedOrDie(*store_).entries.at(0).state);
  ASSERT_TRUE(remote.Delete(Ts(Now() + 5)).changed);
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {Change("c", "d", remote.Encode())}).ok());

  EXPECT_EQ(GetOrDie(*store_, "c", "d"), "<absent>");
  EXPECT_TRUE(store_->List("c")->empty());
  ASSERT_TRUE(listener->WaitFor(1));
  EXPECT_TRUE(listener->events()[0].deleted);
  EXPECT_EQ(listener->events()[0].json, "");
  EXPECT_EQ(listener->events()[0].seq, 2u);
  EXPECT_EQ(store_->Stats().live_documents, 0u);
  EXPECT_EQ(store_->Stats().tombstones, 1u);
  const FeedPage page = FeedOrDie(*store_);
  ASSERT_EQ(page.entries.size(), 1u);
  EXPECT_EQ(page.entries[0].src_peer, kPeerA);  // the tombstone is exactly A's state
  EXPECT_EQ(page.entries[0].state, remote.Encode());

  // A tombstone for a document we never had: stored (and in the feed) but no event.
  crdt::Document gone = RemoteDoc(R"({"z":1})", Now() - 100);
  gone.Delete(Ts(Now() - 50));
  ASSERT_TRUE(MergeSync(*store_, kPeerB, {Change("c", "gone", gone.Encode())}).ok());
  EXPECT_EQ(store_->LastSeq(), 3u);
  EXPECT_EQ(GetOrDie(*store_, "c", "gone"), "<absent>");
  EXPECT_EQ(store_->Stats().tombstones, 2u);
  EXPECT_EQ(FeedOrDie(*store_, 2).entries.size(), 1u);
  // A newer tombstone for a deleted document (recreated and deleted again elsewhere): new seq,
  // still no event.
  crdt::Document newer_delete;
  newer_delete.Merge(gone);
  crdt::Document d2 = RemoteDoc(R"({"z":2})", Now() + 200);
  newer_delete.Merge(d2);
  newer_delete.Delete(Ts(Now() + 300));
  ASSERT_TRUE(MergeSync(*store_, kPeerB, {Change("c", "gone", newer_delete.Encode())}).ok());
  EXPECT_EQ(store_->LastSeq(), 4u);
  EXPECT_EQ(store_->Stats().tombstones, 2u);
  EXPECT_EQ(listener->events().size(), 1u);
  // A remote state that brings the document back: UPSERT. Its writer had seen none of the deletes,
  // so the whole document comes back, with the fields the deletes covered ("never a fragment").
  const crdt::Document revived = RemoteDoc(R"({"back":true})", Now() + 400);
  ASSERT_TRUE(MergeSync(*store_, kPeerB, {Change("c", "gone", revived.Encode())}).ok());
  ASSERT_TRUE(listener->WaitFor(2));
  EXPECT_FALSE(listener->events()[1].deleted);
  EXPECT_EQ(listener->events()[1].json, R"({"back":true,"z":2})");
  EXPECT_EQ(GetOrDie(*store_, "c", "gone"), R"({"back":true,"z":2})");
  EXPECT_EQ(store_->Stats().tombstones, 1u);
  EXPECT_EQ(store_->Stats().live_documents, 1u);
  Reopen();
  EXPECT_EQ(store_->Stats().tombstones, 1u);
  EXPECT_EQ(store_->Stats().live_documents, 1u);
}

TEST_F(ReplicationTest, ImmutableCollectionsDoNotBlockRemoteMerges) {
  ASSERT_TRUE(testing::SetConfigSync(*store_, {"imm", DeletionPolicy::kImmutable, {}, {}}).ok());
  ASSERT_TRUE(PutSync(*store_, "imm", "d", R"({"a":1})").ok());
  EXPECT_EQ(DeleteSync(*store_, "imm", "d").code(), StatusCode::kFailedPrecondition);
  crdt::Document remote = DecodeOrDie(FeedOrDie(*store_).entries.at(0).state);
  remote.Delete(Ts(Now() + 1));
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {Change("imm", "d", remote.Encode())}).ok());
  EXPECT_EQ(GetOrDie(*store_, "imm", "d"), "<absent>");
}

TEST_F(ReplicationTest, SeveralChangesToOneDocumentInABatchAccumulate) {
  auto listener = std::make_shared<RecordingListener>();
  store_->AddListener(listener);
  const crdt::Document x = RemoteDoc(R"({"x":1})", Now(), 0x1);
  const crdt::Document y = RemoteDoc(R"({"y":2})", Now(), 0x2);
  ASSERT_TRUE(MergeSync(*store_, kPeerA,
                        {Change("c", "d", x.Encode()), Change("c", "d", y.Encode()),
                         Change("c", "e", x.Encode()), Change("c", "d", x.Encode())})
                  .ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "d"), R"({"x":1,"y":2})");
  EXPECT_EQ(GetOrDie(*store_, "c", "e"), R"({"x":1})");
  EXPECT_EQ(store_->LastSeq(), 3u);  // d, d again, e; the last change of d changed nothing
  ASSERT_TRUE(listener->WaitFor(3));
  EXPECT_EQ(listener->events().size(), 3u);
  EXPECT_EQ(listener->events()[1].json, R"({"x":1,"y":2})");
  const FeedPage page = FeedOrDie(*store_);
  EXPECT_EQ(Seqs(page), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(page.entries[0].doc_id, "d");
  EXPECT_EQ(page.entries[0].src_peer, "");  // equals neither x nor y alone
  EXPECT_EQ(page.entries[1].src_peer, kPeerA);
  EXPECT_EQ(store_->Stats().remote_merged, 3u);
  EXPECT_EQ(store_->Stats().remote_unchanged, 1u);
}

TEST_F(ReplicationTest, MergesAndLocalWritesShareGroupsInSeqOrder) {
  auto listener = std::make_shared<RecordingListener>();
  store_->AddListener(listener);
  std::vector<std::promise<Status>> results(200);
  for (int i = 0; i < 100; ++i) {
    store_->Put("c", "local" + std::to_string(i), R"({"i":1})",
                [&results, i](Status s) { results[2 * i].set_value(s); });
    store_->MergeRemote(
        kPeerA,
        {Change("c", "remote" + std::to_string(i), RemoteDoc(R"({"r":1})", Now()).Encode())},
        {"ep", static_cast<uint64_t>(i + 1)},
        [&results, i](Status s) { results[2 * i + 1].set_value(s); });
  }
  for (auto& r : results) EXPECT_TRUE(r.get_future().get().ok());
  EXPECT_EQ(store_->LastSeq(), 200u);
  ASSERT_TRUE(listener->WaitFor(200));
  const auto events = listener->events();
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].seq, i + 1);
  EXPECT_EQ(CheckpointOrDie(*store_, kPeerA).seq, 100u);
  const FeedPage page = FeedOrDie(*store_);
  EXPECT_EQ(page.entries.size(), 200u);
  EXPECT_EQ(FeedOrDie(*store_, 0, 1000, 1 << 30, kPeerA).entries.size(), 100u);
}

TEST_F(ReplicationTest, ReadFeedSkipsTheSourcePeerAndReportsHowFarItScanned) {
  ASSERT_TRUE(PutSync(*store_, "c", "l1", R"({"v":1})").ok());  // seq 1
  ASSERT_TRUE(
      MergeSync(*store_, kPeerA, {Change("c", "r1", RemoteDoc(R"({"v":2})", Now()).Encode())})
          .ok());                                               // seq 2
  ASSERT_TRUE(PutSync(*store_, "c", "l2", R"({"v":3})").ok());  // seq 3
  ASSERT_TRUE(
      MergeSync(*store_, kPeerA, {Change("c", "r2", RemoteDoc(R"({"v":4})", Now()).Encode())})
          .ok());  // seq 4
  ASSERT_TRUE(
      MergeSync(*store_, kPeerB, {Change("c", "r3", RemoteDoc(R"({"v":5})", Now()).Encode())})
          .ok());  // seq 5

  FeedPage all = FeedOrDie(*store_);
  EXPECT_EQ(Seqs(all), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(all.scanned_through, 5u);

  FeedPage for_a = FeedOrDie(*store_, 0, 10, 1 << 20, kPeerA);
  EXPECT_EQ(Seqs(for_a), (std::vector<uint64_t>{1, 3, 5}));
  EXPECT_EQ(for_a.scanned_through, 5u);
  FeedPage for_b = FeedOrDie(*store_, 0, 10, 1 << 20, kPeerB);
  EXPECT_EQ(Seqs(for_b), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(for_b.scanned_through, 5u);  // the skipped last entry still counts

  // A page ending in skipped entries: nothing returned, but the position moves.
  FeedPage tail = FeedOrDie(*store_, 3, 10, 1 << 20, kPeerA);
  EXPECT_EQ(Seqs(tail), (std::vector<uint64_t>{5}));
  EXPECT_EQ(tail.scanned_through, 5u);
  FeedPage only_skipped = FeedOrDie(*store_, 3, 10, 1 << 20, kPeerB);
  EXPECT_EQ(Seqs(only_skipped), (std::vector<uint64_t>{4}));
  EXPECT_EQ(only_skipped.scanned_through, 5u);
  FeedPage skipped_then_end = FeedOrDie(*store_, 4, 10, 1 << 20, kPeerB);
  EXPECT_TRUE(skipped_then_end.entries.empty());
  EXPECT_EQ(skipped_then_end.scanned_through, 5u);
  // Max entries cut the page after the last returned entry.
  FeedPage one = FeedOrDie(*store_, 0, 2, 1 << 20, kPeerA);
  EXPECT_EQ(Seqs(one), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(one.scanned_through, 3u);
  // Nothing after the end.
  FeedPage end = FeedOrDie(*store_, 5);
  EXPECT_TRUE(end.entries.empty());
  EXPECT_EQ(end.scanned_through, 5u);
  FeedPage beyond = FeedOrDie(*store_, 99);
  EXPECT_TRUE(beyond.entries.empty());
  EXPECT_EQ(beyond.scanned_through, 99u);
  // A document that changes again moves to the end of the feed (one entry per document).
  ASSERT_TRUE(PutSync(*store_, "c", "l1", R"({"v":6})").ok());  // seq 6
  EXPECT_EQ(Seqs(FeedOrDie(*store_)), (std::vector<uint64_t>{2, 3, 4, 5, 6}));
  EXPECT_EQ(FeedOrDie(*store_).entries.back().src_peer, "");
}

TEST_F(ReplicationTest, ReadFeedPagesByEntriesAndBytes) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(PutSync(*store_, "c", "d" + std::to_string(i), R"({"pad":"0123456789"})").ok());
  }
  const FeedPage all = FeedOrDie(*store_);
  ASSERT_EQ(all.entries.size(), 10u);
  const size_t state_bytes = all.entries[0].state.size();
  for (const auto& e : all.entries) ASSERT_EQ(e.state.size(), state_bytes);

  // By entries: 3, 3, 3, 1.
  uint64_t after = 0;
  std::vector<size_t> sizes;
  for (;;) {
    FeedPage p = FeedOrDie(*store_, after, 3);
    if (p.entries.empty()) {
      EXPECT_EQ(p.scanned_through, after);
      break;
    }
    sizes.push_back(p.entries.size());
    EXPECT_EQ(p.scanned_through, p.entries.back().seq);
    after = p.scanned_through;
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 3, 1}));

  // By bytes: stop before the budget would be exceeded.
  FeedPage p = FeedOrDie(*store_, 0, 100, state_bytes * 2 + state_bytes / 2);
  EXPECT_EQ(Seqs(p), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(p.scanned_through, 2u);
  p = FeedOrDie(*store_, 0, 100, state_bytes * 3);
  EXPECT_EQ(p.entries.size(), 3u);
  // At least one entry, however small the budget.
  p = FeedOrDie(*store_, 4, 100, 0);
  EXPECT_EQ(Seqs(p), (std::vector<uint64_t>{5}));
  EXPECT_EQ(p.scanned_through, 5u);
  p = FeedOrDie(*store_, 4, 100, 1);
  EXPECT_EQ(Seqs(p), (std::vector<uint64_t>{5}));
  // max_entries 0: an empty page that stays put.
  p = FeedOrDie(*store_, 4, 0, 1 << 20);
  EXPECT_TRUE(p.entries.empty());
  EXPECT_EQ(p.scanned_through, 4u);
}

TEST_F(ReplicationTest, PagingThroughALongFeedVisitsEveryEntryOnceAndBoundsSkipping) {
  // 5000 documents from A, then 10 local ones.
  for (int b = 0; b < 10; ++b) {
    std::vector<RemoteChange> batch;
    for (int i = 0; i < 500; ++i) {
      batch.push_back(
          Change("c", "r" + std::to_string(b * 500 + i), RemoteDoc(R"({"i":1})", Now()).Encode()));
    }
    ASSERT_TRUE(MergeSync(*store_, kPeerA, std::move(batch)).ok());
  }
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(PutSync(*store_, "c", "l" + std::to_string(i), R"({"l":1})").ok());
  }
  ASSERT_EQ(store_->LastSeq(), 5010u);

  // Without skipping: every entry exactly once, in order.
  uint64_t after = 0, expected = 1;
  int pages = 0;
  for (;;) {
    FeedPage p = FeedOrDie(*store_, after, 64);
    if (p.entries.empty()) break;
    for (const auto& e : p.entries) ASSERT_EQ(e.seq, expected++);
    after = p.scanned_through;
    ++pages;
  }
  EXPECT_EQ(expected, 5011u);
  EXPECT_EQ(pages, (5010 + 63) / 64);

  // Skipping A: a page examines at most max_entries + kFeedMaxSkipped rows, so the first page
  // comes back empty but moves on; the next one finds the local documents.
  FeedPage p = FeedOrDie(*store_, 0, 10, 1 << 20, kPeerA);
  EXPECT_TRUE(p.entries.empty());
  EXPECT_EQ(p.scanned_through, 10 + SqliteDocumentStore::kFeedMaxSkipped);
  p = FeedOrDie(*store_, p.scanned_through, 10, 1 << 20, kPeerA);
  EXPECT_EQ(Seqs(p),
            (std::vector<uint64_t>{5001, 5002, 5003, 5004, 5005, 5006, 5007, 5008, 5009, 5010}));
  EXPECT_EQ(p.scanned_through, 5010u);
}

TEST_F(ReplicationTest, CheckpointIsPersistedWithTheMergeAndSurvivesReopen) {
  EXPECT_EQ(CheckpointOrDie(*store_, kPeerA).epoch, "");
  EXPECT_EQ(CheckpointOrDie(*store_, kPeerA).seq, 0u);
  ASSERT_TRUE(MergeSync(*store_, kPeerA,
                        {Change("c", "d", RemoteDoc(R"({"a":1})", Now()).Encode())},
                        {"epoch-a", 42})
                  .ok());
  ReplicationCheckpoint cp = CheckpointOrDie(*store_, kPeerA);
  EXPECT_EQ(cp.epoch, "epoch-a");
  EXPECT_EQ(cp.seq, 42u);
  EXPECT_EQ(CheckpointOrDie(*store_, kPeerB).epoch, "");

  // A batch with nothing new (or no changes at all) still moves the checkpoint, without a seq.
  const uint64_t seq = store_->LastSeq();
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {}, {"epoch-a", 50}).ok());
  EXPECT_EQ(CheckpointOrDie(*store_, kPeerA).seq, 50u);
  EXPECT_EQ(store_->LastSeq(), seq);
  ASSERT_TRUE(MergeSync(*store_, kPeerB, {}, {"epoch-b", 7}).ok());

  Reopen();
  cp = CheckpointOrDie(*store_, kPeerA);
  EXPECT_EQ(cp.epoch, "epoch-a");
  EXPECT_EQ(cp.seq, 50u);
  EXPECT_EQ(CheckpointOrDie(*store_, kPeerB).epoch, "epoch-b");
  EXPECT_EQ(CheckpointOrDie(*store_, kPeerB).seq, 7u);
  // A new epoch replaces the old checkpoint.
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {}, {"epoch-a2", 1}).ok());
  EXPECT_EQ(CheckpointOrDie(*store_, kPeerA).epoch, "epoch-a2");
  EXPECT_EQ(CheckpointOrDie(*store_, kPeerA).seq, 1u);

  EXPECT_EQ(MergeSync(*store_, "", {}, {"e", 1}).code(), StatusCode::kInvalidArgument);
}

TEST_F(ReplicationTest, StatesMergedOnRequestLeaveTheCheckpointAlone) {
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {}, {"epoch-a", 42}).ok());
  const std::string state = RemoteDoc(R"({"a":1})", Now()).Encode();
  // An empty epoch: the states merge (with their source peer), the checkpoint does not move.
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {Change("c", "d", state)}, {"", 0}).ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "d"), R"({"a":1})");
  EXPECT_EQ(FeedOrDie(*store_).entries.at(0).src_peer, kPeerA);
  ReplicationCheckpoint cp = CheckpointOrDie(*store_, kPeerA);
  EXPECT_EQ(cp.epoch, "epoch-a");
  EXPECT_EQ(cp.seq, 42u);
  EXPECT_EQ(CheckpointOrDie(*store_, kPeerB).epoch, "");
}

TEST_F(ReplicationTest, ReadStatesGivesEachDocumentsStoredStateInOrder) {
  const std::string d1 = RemoteDoc(R"({"a":1})", Now()).Encode();
  const std::string d2 = RemoteDoc(R"({"b":2})", Now()).Encode();
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {Change("c", "d1", d1), Change("k", "d2", d2)}).ok());
  const std::vector<DocRef> refs = {{"k", "d2"}, {"c", "missing"}, {"c", "d1"}, {"k", "d1"}};
  auto states = store_->ReadStates(refs);
  ASSERT_TRUE(states.ok()) << states.status().ToString();
  EXPECT_EQ(*states, (std::vector<std::string>{d2, "", d1, ""}));
  // The same from disk (no cache) after a reopen; a deleted document keeps its state.
  ASSERT_TRUE(DeleteSync(*store_, "c", "d1").ok());
  Reopen();
  states = store_->ReadStates(refs);
  ASSERT_TRUE(states.ok()) << states.status().ToString();
  EXPECT_EQ((*states)[0], d2);
  EXPECT_EQ((*states)[1], "");
  EXPECT_EQ((*states)[2], FeedOrDie(*store_).entries.back().state);
  EXPECT_NE((*states)[2], d1);
  EXPECT_TRUE(store_->ReadStates({}).ok());
}

TEST_F(ReplicationTest, InvalidChangesAreSkippedAndCountedAndTheRestMerges) {
  auto listener = std::make_shared<RecordingListener>();
  store_->AddListener(listener);
  const std::string good1 = RemoteDoc(R"({"g":1})", Now()).Encode();
  const std::string good2 = RemoteDoc(R"({"g":2})", Now()).Encode();
  std::string corrupt = good1;
  corrupt.resize(corrupt.size() / 2);
  ASSERT_TRUE(
      MergeSync(*store_, kPeerA,
                {Change("c", "g1", good1), Change("c", "bad", corrupt), Change("c", "g2", good2)},
                {"ep", 3})
          .ok());
  EXPECT_EQ(store_->Stats().remote_rejected, 1u);
  EXPECT_EQ(store_->Stats().remote_merged, 2u);
  EXPECT_EQ(GetOrDie(*store_, "c", "g1"), R"({"g":1})");
  EXPECT_EQ(GetOrDie(*store_, "c", "g2"), R"({"g":2})");
  EXPECT_EQ(GetOrDie(*store_, "c", "bad"), "<absent>");
  EXPECT_EQ(store_->LastSeq(), 2u);
  EXPECT_EQ(CheckpointOrDie(*store_, kPeerA).seq, 3u);
  ASSERT_TRUE(listener->WaitFor(2));
  EXPECT_EQ(listener->events().size(), 2u);

  // Bad keys, garbage, and an unknown encoding version are skipped too.
  ASSERT_TRUE(MergeSync(*store_, kPeerA,
                        {Change("", "d", good1), Change("c", "", good1),
                         Change("c", std::string("a\0b", 3), good1),
                         Change("c", std::string(1025, 'x'), good1), Change("c", "e", ""),
                         Change("c", "f", "\xff\xff\xff garbage")})
                  .ok());
  EXPECT_EQ(store_->Stats().remote_rejected, 7u);
  EXPECT_EQ(store_->LastSeq(), 2u);
}

TEST_F(ReplicationTest, RemoteStatesMayBeUpToTwiceTheDocumentLimit) {
  store_.reset();
  auto o = Options();
  o.limits.max_document_bytes = 200;
  store_ = OpenOrDie(o);
  // Find documents whose encoded state is just within and just beyond 2 x 200 bytes.
  std::string within, beyond;
  for (size_t n = 1; n < 1000 && beyond.empty(); ++n) {
    std::string state = RemoteDoc("{\"p\":\"" + std::string(n, 'x') + "\"}", Now()).Encode();
    if (state.size() > 200 && state.size() <= 400) within = state;
    if (state.size() > 400) beyond = state;
  }
  ASSERT_FALSE(within.empty());
  ASSERT_FALSE(beyond.empty());
  ASSERT_TRUE(
      MergeSync(*store_, kPeerA, {Change("c", "in", within), Change("c", "out", beyond)}).ok());
  EXPECT_NE(GetOrDie(*store_, "c", "in"), "<absent>");
  EXPECT_EQ(GetOrDie(*store_, "c", "out"), "<absent>");
  EXPECT_EQ(store_->Stats().remote_rejected, 1u);
}

TEST_F(ReplicationTest, RemoteTimestampsAdvanceTheClockButFarFutureOnesAreClamped) {
  const uint64_t hlc0 = store_->LastHlc();
  ASSERT_TRUE(MergeSync(*store_, kPeerA,
                        {Change("c", "near", RemoteDoc(R"({"v":1})", Now() + 5000).Encode())})
                  .ok());
  EXPECT_GE(store_->LastHlc(), (Now() + 5000) << 16);
  EXPECT_GT(store_->LastHlc(), hlc0);

  // An hour ahead (max skew 60 s): merged as sent, but the clock only moves to now + skew.
  const crdt::Document future = RemoteDoc(R"({"v":"future"})", Now() + 3'600'000);
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {Change("c", "far", future.Encode())}).ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "far"), R"({"v":"future"})");
  EXPECT_LE(store_->LastHlc(), (Now() + 60'000 + 1) << 16);
  // A local write still wins over the far-future remote field.
  ASSERT_TRUE(PutSync(*store_, "c", "far", R"({"v":"local"})").ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "far"), R"({"v":"local"})");
  // The merged HLC survives a reopen.
  const uint64_t hlc = store_->LastHlc();
  Reopen();
  EXPECT_GE(store_->LastHlc(), hlc);
}

TEST_F(ReplicationTest, PeersAreSavedListedRemovedAndSurviveReopen) {
  EXPECT_TRUE(store_->ListPeerRecords()->empty());
  ASSERT_TRUE(SavePeerSync(*store_, {kPeerB, {"10.0.0.2:7000"}, false}).ok());
  ASSERT_TRUE(SavePeerSync(*store_, {kPeerA, {"10.0.0.1:7000", "[::1]:7001"}, true}).ok());
  ASSERT_TRUE(SavePeerSync(*store_, {std::string(64, 'c'), {}, false}).ok());
  // Saving again replaces.
  ASSERT_TRUE(SavePeerSync(*store_, {kPeerB, {"host.example:7002"}, true}).ok());

  auto check = [&](const char* when) {
    auto peers = store_->ListPeerRecords();
    ASSERT_TRUE(peers.ok()) << peers.status().ToString();
    ASSERT_EQ(peers->size(), 2u) << when;
    EXPECT_EQ((*peers)[0].endpoint_id, kPeerA) << when;
    EXPECT_EQ((*peers)[0].addresses, (std::vector<std::string>{"10.0.0.1:7000", "[::1]:7001"}));
    EXPECT_TRUE((*peers)[0].is_static);
    EXPECT_EQ((*peers)[1].endpoint_id, kPeerB) << when;
    EXPECT_EQ((*peers)[1].addresses, (std::vector<std::string>{"host.example:7002"}));
    EXPECT_TRUE((*peers)[1].is_static);
  };
  ASSERT_TRUE(RemovePeerSync(*store_, std::string(64, 'c')).ok());
  ASSERT_TRUE(RemovePeerSync(*store_, std::string(64, 'd')).ok());  // unknown: OK
  check("before reopen");
  Reopen();
  check("after reopen");
  ASSERT_TRUE(RemovePeerSync(*store_, kPeerB).ok());
  Reopen();
  auto peers = store_->ListPeerRecords();
  ASSERT_TRUE(peers.ok());
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].endpoint_id, kPeerA);

  EXPECT_EQ(SavePeerSync(*store_, {"", {"h:1"}, false}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SavePeerSync(*store_, {kPeerB, {"h:1\nh:2"}, false}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SavePeerSync(*store_, {kPeerB, {""}, false}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RemovePeerSync(*store_, "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ListPeerRecords()->size(), 1u);
}

TEST_F(ReplicationTest, RemoteMergeMetricsAreExported) {
  const std::string state = RemoteDoc(R"({"a":1})", Now()).Encode();
  ASSERT_TRUE(
      MergeSync(*store_, kPeerA,
                {Change("c", "d", state), Change("c", "d", state), Change("c", "x", "junk")})
          .ok());
  MetricsRegistry registry;
  store_->RegisterMetrics(registry);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("# TYPE peat_store_remote_merges_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("peat_store_remote_merges_total 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("peat_store_remote_unchanged_total 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("peat_store_remote_rejected_total 1\n"), std::string::npos) << text;
}

TEST_F(ReplicationTest, EpochIsStableAcrossReopen) {
  const std::string epoch = store_->Epoch();
  EXPECT_EQ(epoch.size(), 32u);
  EXPECT_EQ(epoch, store_->epoch());
  Reopen();
  EXPECT_EQ(store_->Epoch(), epoch);
  TempDir other;
  auto o = BaseOptions(other.path());
  auto s2 = OpenOrDie(o);
  EXPECT_NE(s2->Epoch(), epoch);
}

// Timing, not correctness; run with
//   store_test --gtest_also_run_disabled_tests --gtest_filter='*ReplicationThroughput*'
TEST(ReplicationThroughputTest, DISABLED_MergeAndFeedRates) {
  TempDir dir;
  auto s = OpenOrDie(BaseOptions(dir.path()));
  const int kDocs = 100'000, kBatch = 500;
  const std::string state =
      RemoteDoc(R"({"name":"sensor","reading":{"t":21.5,"h":40},"tags":["a","b"]})",
                1'700'000'000'000)
          .Encode();
  auto start = std::chrono::steady_clock::now();
  std::vector<std::promise<Status>> done(kDocs / kBatch);
  for (int b = 0; b < kDocs / kBatch; ++b) {
    std::vector<RemoteChange> batch;
    for (int i = 0; i < kBatch; ++i)
      batch.push_back(Change("c", std::to_string(b * kBatch + i), state));
    s->MergeRemote(kPeerA, std::move(batch), {"ep", static_cast<uint64_t>(b)},
                   [&done, b](Status st) { done[b].set_value(st); });
  }
  for (auto& d : done) ASSERT_TRUE(d.get_future().get().ok());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("MergeRemote: %d new documents in %.3f s = %.0f docs/s\n", kDocs, secs, kDocs / secs);

  for (const char* skip : {"", "a"}) {
    const std::string skip_peer = *skip ? kPeerA : "";
    start = std::chrono::steady_clock::now();
    uint64_t after = 0;
    size_t entries = 0;
    for (;;) {
      auto p = s->ReadFeed(FeedQuery{after, UINT64_MAX, 500, 1 << 20, skip_peer, {}, false});
      ASSERT_TRUE(p.ok());
      entries += p->entries.size();
      if (p->scanned_through == after) break;
      after = p->scanned_through;
    }
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("ReadFeed (skip %s): %zu entries, %d rows in %.3f s = %.0f rows/s\n",
                *skip ? "A" : "none", entries, kDocs, secs, kDocs / secs);
  }
}

// --- Schema migration ---

TEST(ReplicationMigrationTest, VersionOneStoreMigratesToTheCurrentSchema) {
  TempDir dir;
  const std::string path = dir.path() + "/peat.db";
  const crdt::Document doc = RemoteDoc(R"({"old":"data"})", 1'700'000'000'000);
  const std::string epoch = "0123456789abcdef0123456789abcdef";
  {
    auto db = SqliteConnection::Open(path, /*create=*/true, "", 1000);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    // The v1 schema as it was shipped.
    ASSERT_TRUE(db->Exec(R"sql(
PRAGMA journal_mode = WAL;
CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;
CREATE TABLE docs(
  collection TEXT NOT NULL, doc_id TEXT NOT NULL, state BLOB NOT NULL, live INTEGER NOT NULL,
  seq INTEGER NOT NULL, updated_ms INTEGER NOT NULL, PRIMARY KEY(collection, doc_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX docs_by_seq ON docs(seq);
CREATE INDEX docs_by_age ON docs(live, collection, updated_ms);
CREATE TABLE collection_configs(
  collection TEXT PRIMARY KEY NOT NULL, deletion_policy INTEGER NOT NULL,
  soft_delete_ttl_secs INTEGER, tombstone_ttl_secs INTEGER
) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES('schema_version', 1), ('last_seq', 7), ('hlc', 0);
)sql")
                    .ok());
    auto st = db->Prepare("INSERT INTO meta(key, value) VALUES('epoch', ?1)");
    ASSERT_TRUE(st.ok());
    st->BindText(1, epoch);
    ASSERT_TRUE(st->Run("epoch").ok());
    st = db->Prepare(
        "INSERT INTO docs(collection, doc_id, state, live, seq, updated_ms) "
        "VALUES('c', 'd', ?1, 1, 7, 1700000000000)");
    ASSERT_TRUE(st.ok());
    st->BindBlob(1, doc.Encode());
    ASSERT_TRUE(st->Run("doc").ok());
  }

  auto o = BaseOptions(dir.path());
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Epoch(), epoch);
  EXPECT_EQ(store->LastSeq(), 7u);
  EXPECT_EQ(GetOrDie(*store, "c", "d"), R"({"old":"data"})");
  FeedPage page = FeedOrDie(*store);
  ASSERT_EQ(page.entries.size(), 1u);
  EXPECT_EQ(page.entries[0].seq, 7u);
  EXPECT_EQ(page.entries[0].src_peer, "");
  EXPECT_EQ(page.entries[0].state, doc.Encode());
  // Everything new works on the migrated store.
  ASSERT_TRUE(SavePeerSync(*store, {kPeerA, {"h:1"}, false}).ok());
  ASSERT_TRUE(MergeSync(*store, kPeerA,
                        {Change("c", "r", RemoteDoc(R"({"new":1})", 1'700'000'000'001).Encode())},
                        {"ep", 9})
                  .ok());
  ASSERT_TRUE(PutSync(*store, "c", "d", R"({"old":"changed"})").ok());
  EXPECT_EQ(store->LastSeq(), 9u);
  store.reset();

  auto db = SqliteConnection::Open(path, false, "", 1000);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*db->QueryInt("SELECT value FROM meta WHERE key = 'schema_version'"), kSchemaVersion);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM docs WHERE src_peer = ''"), 1);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM member_acks"), 0);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM peers"), 1);
  EXPECT_EQ(*db->QueryInt("SELECT seq FROM peer_checkpoints"), 9);
  db->Close();

  // Reopening a current store migrates nothing.
  store = OpenOrDie(o);
  EXPECT_EQ(GetOrDie(*store, "c", "r"), R"({"new":1})");
  EXPECT_EQ(CheckpointOrDie(*store, kPeerA).epoch, "ep");
}

TEST(ReplicationMigrationTest, FreshStoreHasTheCurrentSchema) {
  TempDir dir;
  auto store = OpenOrDie(BaseOptions(dir.path()));
  store.reset();
  auto db = SqliteConnection::Open(dir.path() + "/peat.db", false, "", 1000);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*db->QueryInt("SELECT value FROM meta WHERE key = 'schema_version'"), kSchemaVersion);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM sqlite_master WHERE name IN "
                          "('peers', 'peer_checkpoints', 'member_acks')"),
            3);
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM pragma_table_info('docs') "
                          "WHERE name = 'src_peer'"),
            1);
}

// --- Encryption across keyed and keyless nodes ---

TEST(ReplicationEncryptionTest, KeylessRelaySeesCiphertextAndKeyedNodesSeePlaintext) {
  TempDir dir_a, dir_relay, dir_c, dir_wrong;
  const SecureBytes key = RandomKey();
  auto keyed_options = [&](const TempDir& d, const SecureBytes& k) {
    auto o = BaseOptions(d.path());
    o.encryption_key = k.Copy();
    return o;
  };
  auto a = OpenOrDie(keyed_options(dir_a, key));
  auto relay = OpenOrDie(BaseOptions(dir_relay.path()));
  auto c = OpenOrDie(keyed_options(dir_c, key));
  ASSERT_TRUE(a && relay && c);

  ASSERT_TRUE(PutSync(*a, "c", "d", R"({"secret":"s3cr3t","n":5})").ok());
  // A → relay: the relay merges ciphertext it cannot read.
  auto relay_listener = std::make_shared<RecordingListener>();
  relay->AddListener(relay_listener);
  ASSERT_TRUE(MergeSync(*relay, kPeerA, FeedChanges(*a)).ok());
  const std::string at_relay = GetOrDie(*relay, "c", "d");
  EXPECT_EQ(at_relay.find("s3cr3t"), std::string::npos) << at_relay;
  EXPECT_EQ(at_relay.find("secret"), std::string::npos) << at_relay;  // names are opaque too
  EXPECT_TRUE(at_relay.starts_with(R"({"ENC:n1:)")) << at_relay;
  EXPECT_NE(at_relay.find(R"(":"ENC:v1:)"), std::string::npos) << at_relay;
  EXPECT_NE(at_relay.find(R"(,"ENC:n1:)"), std::string::npos) << at_relay;
  ASSERT_TRUE(relay_listener->WaitFor(1));
  EXPECT_EQ(relay_listener->events()[0].json, at_relay);  // events show what Get shows
  EXPECT_EQ(FeedOrDie(*relay).entries.at(0).src_peer, kPeerA);
  EXPECT_EQ(FeedOrDie(*relay).entries.at(0).state, FeedOrDie(*a).entries.at(0).state);

  // relay → C (same key as A, never talked to A): plaintext.
  auto c_listener = std::make_shared<RecordingListener>();
  c->AddListener(c_listener);
  ASSERT_TRUE(MergeSync(*c, kPeerB, FeedChanges(*relay)).ok());
  EXPECT_EQ(GetOrDie(*c, "c", "d"), R"({"n":5,"secret":"s3cr3t"})");
  ASSERT_TRUE(c_listener->WaitFor(1));
  EXPECT_EQ(c_listener->events()[0].json, R"({"n":5,"secret":"s3cr3t"})");

  // relay → A: A already has it (the relay's state is A's own): nothing changes.
  const uint64_t a_seq = a->LastSeq();
  ASSERT_TRUE(MergeSync(*a, kPeerB, FeedChanges(*relay)).ok());
  EXPECT_EQ(a->LastSeq(), a_seq);

  // The relay adds a field locally (in clear: it has no key); merged back, A renders both.
  ASSERT_TRUE(
      PutSync(*relay, "c", "d", at_relay.substr(0, at_relay.size() - 1) + R"(,"z":1})").ok());
  ASSERT_TRUE(MergeSync(*a, kPeerB, FeedChanges(*relay)).ok());
  EXPECT_EQ(GetOrDie(*a, "c", "d"), R"({"n":5,"secret":"s3cr3t","z":1})");
  EXPECT_EQ(a->LastSeq(), a_seq + 1);
  EXPECT_EQ(FeedOrDie(*a).entries.at(0).src_peer, kPeerB);

  // A node with another key stores the state (it must relay it) but cannot read it.
  auto wrong = OpenOrDie(keyed_options(dir_wrong, RandomKey()));
  auto wrong_listener = std::make_shared<RecordingListener>();
  wrong->AddListener(wrong_listener);
  ASSERT_TRUE(MergeSync(*wrong, kPeerA, FeedChanges(*a), {"ep", 1}).ok());
  auto got = wrong->Get("c", "d");
  EXPECT_EQ(got.status().code(), StatusCode::kFailedPrecondition) << got.status().ToString();
  EXPECT_EQ(wrong->LastSeq(), 1u);
  ASSERT_TRUE(wrong_listener->WaitFor(1));
  EXPECT_FALSE(wrong_listener->events()[0].deleted);
  EXPECT_EQ(wrong_listener->events()[0].json, "");
  EXPECT_EQ(*wrong->List("c"), std::vector<std::string>{"d"});
  EXPECT_EQ(CheckpointOrDie(*wrong, kPeerA).seq, 1u);
  EXPECT_EQ(wrong->Stats().remote_rejected, 0u);
  // ... and relays it intact: a keyed node reads it.
  TempDir dir_d;
  auto d = OpenOrDie(keyed_options(dir_d, key));
  ASSERT_TRUE(MergeSync(*d, kPeerB, FeedChanges(*wrong)).ok());
  EXPECT_EQ(GetOrDie(*d, "c", "d"), R"({"n":5,"secret":"s3cr3t","z":1})");
}

// --- Storage faults ---

class ReplicationFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    auto vfs = FaultInjectionVfs::Register("peat-repl-fault-" + std::to_string(n.fetch_add(1)));
    ASSERT_TRUE(vfs.ok()) << vfs.status().ToString();
    vfs_ = std::move(vfs).value();
    Open();
  }
  void TearDown() override { store_.reset(); }
  void Open() {
    store_.reset();
    auto o = BaseOptions(dir_.path());
    o.sqlite_vfs = vfs_->name();
    store_ = OpenOrDie(o);
    ASSERT_NE(store_, nullptr);
  }

  TempDir dir_;
  std::unique_ptr<FaultInjectionVfs> vfs_;
  std::unique_ptr<SqliteDocumentStore> store_;
};

TEST_F(ReplicationFaultTest, StorageFailureDuringMergeLeavesDocsAndCheckpointUnchanged) {
  ASSERT_TRUE(PutSync(*store_, "c", "a", R"({"v":1})").ok());
  ASSERT_TRUE(MergeSync(*store_, kPeerA, {}, {"ep", 1}).ok());
  auto listener = std::make_shared<RecordingListener>();
  store_->AddListener(listener);
  const uint64_t seq = store_->LastSeq();
  const uint64_t hlc = store_->LastHlc();
  const FeedPage feed_before = FeedOrDie(*store_);

  // A remote field a little ahead of our clock (within the skew): a commit would advance the HLC.
  const uint64_t now =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  crdt::Document remote_a = DecodeOrDie(feed_before.entries.at(0).state);
  remote_a.Merge(RemoteDoc(R"({"w":2})", now + 30'000));
  std::vector<RemoteChange> batch = {
      Change("c", "a", remote_a.Encode()),
      Change("c", "new", RemoteDoc(R"({"n":1})", 1'700'000'000'000).Encode())};

  vfs_->FailWrites(FaultInjectionVfs::Fault::kDiskFull);
  Status s = MergeSync(*store_, kPeerA, batch, {"ep", 2});
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  vfs_->FailWrites(FaultInjectionVfs::Fault::kIoError);
  s = MergeSync(*store_, kPeerA, batch, {"ep", 2});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  vfs_->Clear();

  EXPECT_EQ(GetOrDie(*store_, "c", "a"), R"({"v":1})");
  EXPECT_EQ(GetOrDie(*store_, "c", "new"), "<absent>");
  EXPECT_EQ(CheckpointOrDie(*store_, kPeerA).seq, 1u);
  EXPECT_EQ(store_->LastSeq(), seq);
  EXPECT_EQ(store_->LastHlc(), hlc);  // the observed remote clock was rolled back too
  EXPECT_EQ(Seqs(FeedOrDie(*store_)), Seqs(feed_before));
  EXPECT_TRUE(listener->events().empty());
  EXPECT_EQ(store_->Stats().remote_merged, 0u);
  EXPECT_EQ(store_->Stats().live_documents, 1u);

  // The retry succeeds, and everything is there after a reopen.
  ASSERT_TRUE(MergeSync(*store_, kPeerA, batch, {"ep", 2}).ok());
  EXPECT_EQ(GetOrDie(*store_, "c", "a"), R"({"v":1,"w":2})");
  EXPECT_EQ(store_->LastSeq(), seq + 2);
  Open();
  EXPECT_EQ(GetOrDie(*store_, "c", "a"), R"({"v":1,"w":2})");
  EXPECT_EQ(GetOrDie(*store_, "c", "new"), R"({"n":1})");
  EXPECT_EQ(CheckpointOrDie(*store_, kPeerA).seq, 2u);
}

TEST_F(ReplicationFaultTest, StorageFailureDuringSavePeerChangesNothing) {
  ASSERT_TRUE(SavePeerSync(*store_, {kPeerA, {"h:1"}, false}).ok());
  vfs_->FailWrites(FaultInjectionVfs::Fault::kDiskFull);
  EXPECT_EQ(SavePeerSync(*store_, {kPeerB, {"h:2"}, false}).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(RemovePeerSync(*store_, kPeerA).code(), StatusCode::kResourceExhausted);
  vfs_->Clear();
  auto peers = store_->ListPeerRecords();
  ASSERT_TRUE(peers.ok());
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].endpoint_id, kPeerA);
}

TEST_F(ReplicationTest, MemberAcksKeepTheLargestPositionAndSurviveReopen) {
  auto save = [&](const std::string& peer, uint64_t seq) {
    return testing::Wait(
        [&](WriteDone done) { store_->SaveMemberAck(peer, seq, std::move(done)); });
  };
  ASSERT_TRUE(save(kPeerA, 5).ok());
  ASSERT_TRUE(save(kPeerA, 3).ok());  // an older ack never lowers it
  ASSERT_TRUE(save(kPeerB, 0).ok());
  auto acks = store_->ListMemberAcks();
  ASSERT_TRUE(acks.ok());
  EXPECT_EQ(*acks, (std::vector<std::pair<std::string, uint64_t>>{{kPeerA, 5}, {kPeerB, 0}}));
  ASSERT_TRUE(
      testing::Wait([&](WriteDone done) { store_->RemoveMember(kPeerB, std::move(done)); }).ok());
  Reopen();
  acks = store_->ListMemberAcks();
  ASSERT_TRUE(acks.ok());
  EXPECT_EQ(*acks, (std::vector<std::pair<std::string, uint64_t>>{{kPeerA, 5}}));
}

}  // namespace
}  // namespace peat::store

namespace peat::store {
namespace {

TEST_F(ReplicationTest, FeedQueryReadsOneLaneOfCollections) {
  // seqs: 1 logs/a, 2 alerts/x, 3 orders/o, 4 logs/b, 5 alerts/y
  ASSERT_TRUE(testing::PutSync(*store_, "logs", "a", R"({"v":1})").ok());
  ASSERT_TRUE(testing::PutSync(*store_, "alerts", "x", R"({"v":1})").ok());
  ASSERT_TRUE(testing::PutSync(*store_, "orders", "o", R"({"v":1})").ok());
  ASSERT_TRUE(testing::PutSync(*store_, "logs", "b", R"({"v":1})").ok());
  ASSERT_TRUE(testing::PutSync(*store_, "alerts", "y", R"({"v":1})").ok());
  auto ids = [](const FeedPage& p) {
    std::vector<std::string> v;
    for (const auto& e : p.entries) v.push_back(e.collection + "/" + e.doc_id);
    return v;
  };
  FeedQuery only_alerts;
  only_alerts.collections = {"alerts"};
  auto p = store_->ReadFeed(only_alerts);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(ids(*p), (std::vector<std::string>{"alerts/x", "alerts/y"}));
  EXPECT_EQ(p->scanned_through, 5u);

  FeedQuery rest;
  rest.collections = {"alerts", "logs"};
  rest.exclude_collections = true;
  p = store_->ReadFeed(rest);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(ids(*p), (std::vector<std::string>{"orders/o"}));
  EXPECT_EQ(p->scanned_through, 5u);  // ran out of rows: everything up to the head considered

  // A page cut by max_entries stops at its last entry; upto_seq bounds the range.
  FeedQuery logs;
  logs.collections = {"logs"};
  logs.max_entries = 1;
  p = store_->ReadFeed(logs);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(ids(*p), (std::vector<std::string>{"logs/a"}));
  EXPECT_EQ(p->scanned_through, 1u);
  logs.after_seq = 1;
  logs.upto_seq = 3;
  p = store_->ReadFeed(logs);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->entries.empty());
  EXPECT_EQ(p->scanned_through, 3u);

  // A collection name that needs JSON escaping still matches exactly.
  ASSERT_TRUE(testing::PutSync(*store_, "we\"ird\\name", "q", R"({"v":1})").ok());
  FeedQuery weird;
  weird.collections = {"we\"ird\\name"};
  p = store_->ReadFeed(weird);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(ids(*p), (std::vector<std::string>{"we\"ird\\name/q"}));
}

}  // namespace
}  // namespace peat::store

// AttachmentManager on one node (the sender's side): real SQLite store, blob store and registry
// in a temp dir, a fake clock for timers, a fake wall clock for documents, and target status
// documents written into the store the way replication would deliver them.
#include "attach/attachment_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "common/fake_clock.h"
#include "common/hex.h"
#include "crypto/sha256.h"
#include "store/sqlite_document_store.h"
#include "temp_dir.h"

namespace peat::attach {
namespace {

const std::string kSelf(64, 'a');
const std::string kPeerB = std::string(10, 'b') + std::string(54, '0');
const std::string kPeerC = std::string(10, 'c') + std::string(54, '0');

std::string Sha256Raw(const std::string& bytes) {
  Sha256 h;
  h.Update(std::string_view(bytes));
  const Sha256Digest d = *h.Finish();
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

template <typename T>
T Await(const std::function<void(std::function<void(T)>)>& op) {
  std::promise<T> p;
  auto f = p.get_future();
  op([&p](T v) { p.set_value(std::move(v)); });
  return f.get();
}

class RecordingSink : public BundleSink {
 public:
  bool OnFrame(const ProgressFrame& frame) override {
    std::lock_guard lock(mu_);
    frames_.push_back(frame);
    return true;
  }
  void OnEnd(const Status& status) override { end_.set_value(status); }
  std::vector<ProgressFrame> frames() const {
    std::lock_guard lock(mu_);
    return frames_;
  }
  Status WaitEnd() { return end_future_.get(); }

 private:
  mutable std::mutex mu_;
  std::vector<ProgressFrame> frames_;
  std::promise<Status> end_;
  std::shared_future<Status> end_future_ = end_.get_future().share();
};

class AttachmentManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() + "/root";
    std::filesystem::create_directories(root_ + "/sub");
    WriteFile("a.txt", "hello attachments");
    WriteFile("sub/b.bin", std::string(300 * 1024, 'x'));
    store::StoreOptions so;
    so.data_dir = dir_.path() + "/data";
    std::filesystem::create_directories(so.data_dir);
    so.node_tag = 7;
    so.gc_interval = std::chrono::milliseconds(0);
    auto store = store::SqliteDocumentStore::Open(so);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    blob::BlobStoreOptions bo;
    bo.root_dir = dir_.path() + "/data/blobs";
    auto blobs = blob::BlobStore::Open(std::move(bo));
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    blobs_ = std::move(*blobs);
    StartManager();
  }
  void TearDown() override {
    if (manager_) manager_->Stop();
  }

  void StartManager() {
    AttachmentOptions o;
    o.roots = {{"media", root_}};
    o.registry_path = dir_.path() + "/data/attachments.db";
    o.max_concurrent_distributions = 2;
    o.discovery_grace = std::chrono::seconds(30);
    o.endpoint_id = kSelf;
    o.node_id = "alpha";
    o.handle_retention = retention_;
    o.blob_retention = blob_retention_;
    o.queue_when_full = queue_when_full_;
    AttachmentManager::Dependencies deps;
    deps.store = store_.get();
    deps.blobs = blobs_.get();
    deps.clock = &clock_;
    deps.wall_clock_ms = [this] { return wall_ms_.load(); };
    auto m = AttachmentManager::Create(std::move(o), deps);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(*m);
    ASSERT_TRUE(manager_->Start().ok());
  }
  void RestartManager() {
    manager_->Stop();
    manager_.reset();
    StartManager();
  }

  void WriteFile(const std::string& rel, const std::string& content) {
    std::ofstream(root_ + "/" + rel, std::ios::binary) << content;
    contents_[rel] = content;
  }

  FileSpec Spec(const std::string& rel) {
    FileSpec f;
    f.root_name = "media";
    f.relative_path = rel;
    f.size_bytes = contents_[rel].size();
    f.sha256 = Sha256Raw(contents_[rel]);
    return f;
  }
  SendRequest NodeList(std::vector<std::string> ids, std::vector<std::string> files,
                       std::optional<std::string> bundle_id = std::nullopt) {
    SendRequest r;
    for (const auto& f : files) r.files.push_back(Spec(f));
    r.scope = ScopeKind::kNodeList;
    r.node_ids = std::move(ids);
    r.bundle_id = std::move(bundle_id);
    return r;
  }

  StatusOr<SendResult> Send(SendRequest r) {
    return Await<StatusOr<SendResult>>(
        [&](auto done) { manager_->Send(std::move(r), std::move(done)); });
  }
  StatusOr<DistributionView> Get(const std::string& id) {
    return Await<StatusOr<DistributionView>>(
        [&](auto done) { manager_->Get(id, std::move(done)); });
  }
  StatusOr<bool> Cancel(const std::string& id) {
    return Await<StatusOr<bool>>([&](auto done) { manager_->Cancel(id, std::move(done)); });
  }
  // A target's status document, as replication would bring it.
  void TargetReports(const std::string& distribution_id, const std::string& short_id,
                     TransferState state, uint64_t progress, uint64_t total,
                     std::optional<std::string> error = std::nullopt) {
    TargetStatusDoc s;
    s.distribution_id = distribution_id;
    s.node_id = short_id;
    s.endpoint_id = short_id + std::string(54, '0');
    s.status = state;
    s.progress_bytes = progress;
    s.total_bytes = total;
    s.error = std::move(error);
    s.updated_at_ms = wall_ms_.load();
    std::promise<Status> p;
    store_->Put(std::string(kStatusCollection), StatusDocId(distribution_id, short_id),
                EncodeTargetStatusDoc(s), [&p](Status st) { p.set_value(st); });
    ASSERT_TRUE(p.get_future().get().ok());
  }
  // Polls `fn` (with a deadline) until it holds: the manager reacts to store events on its loop.
  static bool Eventually(const std::function<bool()>& fn) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (fn()) return true;
      std::this_thread::yield();
    }
    return fn();
  }

  peat::testing::TempDir dir_;
  std::string root_;
  std::map<std::string, std::string> contents_;
  peat::testing::FakeClock clock_;
  std::atomic<int64_t> wall_ms_{1'700'000'000'000};
  std::chrono::seconds retention_{86400};
  std::chrono::seconds blob_retention_{86400};
  bool queue_when_full_ = false;
  std::unique_ptr<store::SqliteDocumentStore> store_;
  std::unique_ptr<blob::BlobStore> blobs_;
  std::unique_ptr<AttachmentManager> manager_;
};

TEST_F(AttachmentManagerTest, SendWritesOneDistributionDocumentPerFile) {
  auto r = Send(NodeList({"bbbbbbbbbb", kPeerC}, {"a.txt", "sub/b.bin"}, "bundle-1"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->bundle_id, "bundle-1");
  ASSERT_EQ(r->handles.size(), 2u);
  EXPECT_EQ(r->handles[0].file_index, 0u);
  EXPECT_EQ(r->handles[1].file_index, 1u);
  EXPECT_NE(r->handles[0].distribution_id, r->handles[1].distribution_id);
  EXPECT_EQ(r->handles[0].blob_token.size(), 64u);

  auto json = store_->Get(std::string(kDistributionsCollection), r->handles[1].distribution_id);
  ASSERT_TRUE(json.ok() && *json);
  auto doc = ParseDistributionDoc(**json);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->name, "sub/b.bin");
  EXPECT_EQ(doc->blob_size, 300u * 1024);
  EXPECT_EQ(doc->targets, (std::vector<std::string>{"bbbbbbbbbb", "cccccccccc"}));
  EXPECT_EQ(doc->sender_short_id, "aaaaaaaaaa");
  auto root = blob::ParseBlobToken(r->handles[1].blob_token);
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(blobs_->Has(*root));

  auto view = Get(r->handles[0].distribution_id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->status, TransferState::kPending);
  EXPECT_EQ(view->bytes_total, 2 * contents_["a.txt"].size());
  ASSERT_EQ(view->per_node.size(), 2u);
  EXPECT_EQ(view->per_node[0].node_id, "bbbbbbbbbb");
}

TEST_F(AttachmentManagerTest, SelfAndDuplicatesAreDroppedFromTargets) {
  auto r = Send(NodeList({"alpha", kSelf, "aaaaaaaaaa", "bbbbbbbbbb", kPeerB}, {"a.txt"}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto view = Get(r->handles[0].distribution_id);
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->per_node.size(), 1u);
  EXPECT_EQ(view->per_node[0].node_id, "bbbbbbbbbb");
}

TEST_F(AttachmentManagerTest, AllNodesWithNoKnownPeerCompletesAtOnce) {
  SendRequest req;
  req.files.push_back(Spec("a.txt"));
  req.scope = ScopeKind::kAllNodes;
  auto r = Send(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->bundle_id.size(), 36u);  // a UUIDv4
  auto view = Get(r->handles[0].distribution_id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->status, TransferState::kCompleted);
  EXPECT_EQ(view->bytes_total, contents_["a.txt"].size());
  EXPECT_TRUE(view->per_node.empty());
}

TEST_F(AttachmentManagerTest, IdempotencyConflictAndTheCap) {
  auto first = Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "one"));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "two")).ok());
  // The cap (2 running bundles) refuses a third new bundle...
  auto third = Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "three"));
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted) << third.status().ToString();
  // ...but an identical resubmit is answered with the same handles (Q1).
  auto again = Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "one"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->handles[0].distribution_id, first->handles[0].distribution_id);
  // Same id, other files: step 6, so the cap (step 5) answers first while it is reached...
  auto other = Send(NodeList({"bbbbbbbbbb"}, {"sub/b.bin"}, "one"));
  EXPECT_EQ(other.status().code(), StatusCode::kResourceExhausted) << other.status().ToString();
  // ...and ALREADY_EXISTS once there is room.
  auto second = Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "two"));
  ASSERT_TRUE(second.ok());
  TargetReports(second->handles[0].distribution_id, "bbbbbbbbbb", TransferState::kCompleted, 17,
                17);
  ASSERT_TRUE(Eventually([&] {
    return Send(NodeList({"bbbbbbbbbb"}, {"sub/b.bin"}, "one")).status().code() ==
           StatusCode::kAlreadyExists;
  }));
}

TEST_F(AttachmentManagerTest, ConcurrentIdenticalSendsGetIdenticalHandles) {
  std::promise<StatusOr<SendResult>> p1, p2;
  manager_->Send(NodeList({"bbbbbbbbbb"}, {"sub/b.bin"}, "same"),
                 [&](StatusOr<SendResult> r) { p1.set_value(r); });
  manager_->Send(NodeList({"bbbbbbbbbb"}, {"sub/b.bin"}, "same"),
                 [&](StatusOr<SendResult> r) { p2.set_value(r); });
  auto a = p1.get_future().get();
  auto b = p2.get_future().get();
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().ToString() << " / " << b.status().ToString();
  EXPECT_EQ(a->handles[0].distribution_id, b->handles[0].distribution_id);
}

TEST_F(AttachmentManagerTest, ShaMismatchLeavesNoBlobNoDocumentNoRow) {
  auto req = NodeList({"bbbbbbbbbb"}, {"a.txt"}, "bad");
  req.files[0].sha256 = Sha256Raw("something else");
  auto r = Send(req);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("files[0].sha256: ", 0), 0u) << r.status().ToString();
  EXPECT_EQ(blobs_->Usage().complete_bytes, 0u);
  auto docs = store_->List(std::string(kDistributionsCollection));
  ASSERT_TRUE(docs.ok());
  EXPECT_TRUE(docs->empty());
  // The bundle id is free: a correct send under it works.
  EXPECT_TRUE(Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "bad")).ok());
}

TEST_F(AttachmentManagerTest, TargetsReportAndTheDistributionBecomesPartial) {
  auto r = Send(NodeList({"bbbbbbbbbb", "cccccccccc"}, {"a.txt"}, "b1"));
  ASSERT_TRUE(r.ok());
  const std::string id = r->handles[0].distribution_id;
  const uint64_t size = contents_["a.txt"].size();
  auto sink = std::make_shared<RecordingSink>();
  manager_->Subscribe("b1", sink);
  TargetReports(id, "bbbbbbbbbb", TransferState::kInProgress, 5, size);
  ASSERT_TRUE(Eventually([&] {
    auto v = Get(id);
    return v.ok() && v->status == TransferState::kInProgress;
  }));
  TargetReports(id, "bbbbbbbbbb", TransferState::kCompleted, size, size);
  TargetReports(id, "cccccccccc", TransferState::kFailed, 0, size, "disk on fire");
  EXPECT_TRUE(sink->WaitEnd().ok());
  auto v = Get(id);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, TransferState::kPartial);
  EXPECT_EQ(v->error, "disk on fire");
  EXPECT_EQ(v->bytes_transferred, size);
  EXPECT_EQ(v->bytes_total, 2 * size);
  // Exactly one terminal frame, the last one; every frame names the distribution.
  auto frames = sink->frames();
  ASSERT_FALSE(frames.empty());
  int terminal = 0;
  for (const auto& f : frames) terminal += IsTerminal(f.view.status) ? 1 : 0;
  EXPECT_EQ(terminal, 1);
  EXPECT_EQ(frames.back().view.status, TransferState::kPartial);
  // A later subscriber gets the terminal frame from the snapshot, then the end.
  auto late = std::make_shared<RecordingSink>();
  manager_->Subscribe("b1", late);
  EXPECT_TRUE(late->WaitEnd().ok());
  ASSERT_EQ(late->frames().size(), 1u);
  EXPECT_EQ(late->frames()[0].view.status, TransferState::kPartial);
}

TEST_F(AttachmentManagerTest, ProgressFramesAreAtMostFourASecondAndCoalesce) {
  auto r = Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "p1"));
  ASSERT_TRUE(r.ok());
  const std::string id = r->handles[0].distribution_id;
  const uint64_t size = contents_["a.txt"].size();
  ASSERT_GT(size, 13u);
  auto sink = std::make_shared<RecordingSink>();
  manager_->Subscribe("p1", sink);
  ASSERT_TRUE(Eventually([&] { return sink->frames().size() == 1; }));   // the snapshot
  TargetReports(id, "bbbbbbbbbb", TransferState::kInProgress, 1, size);  // a state change
  ASSERT_TRUE(Eventually([&] { return sink->frames().size() == 2; }))
      << sink->frames().size();                                          // snapshot + it
  TargetReports(id, "bbbbbbbbbb", TransferState::kInProgress, 2, size);  // progress: sent
  ASSERT_TRUE(Eventually([&] { return sink->frames().size() == 3; }));
  // Ten more progress reports within the same 250 ms: none is sent yet...
  for (uint64_t p = 3; p <= 12; ++p)
    TargetReports(id, "bbbbbbbbbb", TransferState::kInProgress, p, size);
  ASSERT_TRUE(Eventually([&] {
    auto v = Get(id);
    return v.ok() && v->bytes_transferred == 12;
  }));
  EXPECT_EQ(sink->frames().size(), 3u);
  // ...when the interval ends, one frame carries the latest.
  clock_.Advance(std::chrono::milliseconds(250));
  ASSERT_TRUE(Eventually([&] { return sink->frames().size() == 4; }));
  EXPECT_EQ(sink->frames().back().view.bytes_transferred, 12u);
  // A state change is never held back.
  TargetReports(id, "bbbbbbbbbb", TransferState::kInProgress, 13, size);  // progress: held
  TargetReports(id, "bbbbbbbbbb", TransferState::kCompleted, size, size);
  EXPECT_TRUE(sink->WaitEnd().ok());
  EXPECT_EQ(sink->frames().back().view.status, TransferState::kCompleted);
}

TEST_F(AttachmentManagerTest, MalformedDocumentsFromPeersAreSkippedAndCounted) {
  auto r = Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "g1"));
  ASSERT_TRUE(r.ok());
  const std::string id = r->handles[0].distribution_id;
  auto put = [this](std::string_view collection, const std::string& doc_id,
                    const std::string& json) {
    std::promise<Status> p;
    store_->Put(std::string(collection), doc_id, json, [&p](Status st) { p.set_value(st); });
    ASSERT_TRUE(p.get_future().get().ok());
  };
  // A status doc of our distribution with a wrong type, and a distribution doc missing fields.
  put(kStatusCollection, StatusDocId(id, "bbbbbbbbbb"), R"({"status":42,"progress_bytes":"x"})");
  put(kDistributionsCollection, "not-a-uuid", R"({"kind":"nope"})");
  auto count = [this](const std::string& collection) {
    std::string out;
    manager_->AppendMetrics(out);
    const std::string key =
        "peat_attachment_bad_documents_total{collection=\"" + collection + "\"} ";
    const auto at = out.find(key);
    return at == std::string::npos ? -1.0 : std::stod(out.substr(at + key.size()));
  };
  ASSERT_TRUE(Eventually(
      [&] { return count("file_distribution_status") == 1 && count("file_distributions") == 1; }));
  // The distribution reads as if the target had not reported; a good report still counts.
  auto v = Get(id);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, TransferState::kPending);
  const uint64_t size = contents_["a.txt"].size();
  TargetReports(id, "bbbbbbbbbb", TransferState::kCompleted, size, size);
  EXPECT_TRUE(Eventually([&] {
    auto c = Get(id);
    return c.ok() && c->status == TransferState::kCompleted;
  }));
  EXPECT_EQ(count("file_distribution_status"), 1);
}

TEST_F(AttachmentManagerTest, CancelFlipsAtOnceAndFreesTheBundleId) {
  auto r = Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "c1"));
  ASSERT_TRUE(r.ok());
  const std::string id = r->handles[0].distribution_id;
  auto cancelled = Cancel(id);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_TRUE(*cancelled);
  auto v = Get(id);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, TransferState::kCancelled);
  auto root = blob::ParseBlobToken(r->handles[0].blob_token);
  EXPECT_FALSE(manager_->MayServe(*root));
  // A second cancel of a terminal distribution answers false (Q12).
  auto again = Cancel(id);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  // The bundle ends CANCELLED; the same id may be sent again, with new ids.
  ASSERT_TRUE(Eventually([&] {
    auto s = std::make_shared<RecordingSink>();
    manager_->Subscribe("c1", s);
    return s->WaitEnd().ok();
  }));
  auto fresh = Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "c1"));
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_NE(fresh->handles[0].distribution_id, id);
  EXPECT_EQ(Get(id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Cancel("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(AttachmentManagerTest, GraceFailsTargetsThatNeverAppeared) {
  auto r = Send(NodeList({"ghost-node", "bbbbbbbbbb"}, {"a.txt"}, "g1"));
  ASSERT_TRUE(r.ok());
  const std::string id = r->handles[0].distribution_id;
  TargetReports(id, "bbbbbbbbbb", TransferState::kInProgress, 0, 1);
  clock_.Advance(std::chrono::seconds(31));
  ASSERT_TRUE(Eventually([&] {
    auto v = Get(id);
    return v.ok() && v->per_node.size() == 2 && v->per_node[1].node_id == "ghost-node" &&
           v->per_node[1].status == TransferState::kFailed;
  }));
  auto v = Get(id);
  EXPECT_EQ(v->status, TransferState::kInProgress);  // b still runs (Q5)
  EXPECT_EQ(v->error, "discovery grace expired: peer never connected");
}

TEST_F(AttachmentManagerTest, DeadlineFailsEveryTargetStillRunning) {
  auto r = Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "d1"));
  ASSERT_TRUE(r.ok());
  const std::string id = r->handles[0].distribution_id;
  TargetReports(id, "bbbbbbbbbb", TransferState::kInProgress, 3, 17);
  wall_ms_ += 86'400'000;
  clock_.Advance(std::chrono::hours(24));
  ASSERT_TRUE(Eventually([&] {
    auto v = Get(id);
    return v.ok() && v->status == TransferState::kFailed;
  }));
  EXPECT_EQ(Get(id)->error, "delivery timeout");
}

TEST_F(AttachmentManagerTest, EverythingSurvivesARestart) {
  auto r = Send(NodeList({"bbbbbbbbbb"}, {"a.txt", "sub/b.bin"}, "r1"));
  ASSERT_TRUE(r.ok());
  RestartManager();
  auto v = Get(r->handles[1].distribution_id);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->status, TransferState::kPending);
  auto again = Send(NodeList({"bbbbbbbbbb"}, {"a.txt", "sub/b.bin"}, "r1"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->handles[1].distribution_id, r->handles[1].distribution_id);
  auto sink = std::make_shared<RecordingSink>();
  manager_->Subscribe("r1", sink);
  TargetReports(r->handles[0].distribution_id, "bbbbbbbbbb", TransferState::kCompleted, 17, 17);
  TargetReports(r->handles[1].distribution_id, "bbbbbbbbbb", TransferState::kCompleted, 300 * 1024,
                300 * 1024);
  EXPECT_TRUE(sink->WaitEnd().ok());
}

TEST_F(AttachmentManagerTest, RetentionDropsFinishedBundles) {
  manager_->Stop();
  manager_.reset();
  retention_ = std::chrono::seconds(2);
  StartManager();
  auto r = Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "old"));
  ASSERT_TRUE(r.ok());
  const std::string id = r->handles[0].distribution_id;
  TargetReports(id, "bbbbbbbbbb", TransferState::kCompleted, 17, 17);
  ASSERT_TRUE(Eventually([&] { return Get(id)->status == TransferState::kCompleted; }));
  wall_ms_ += 3000;
  clock_.Advance(std::chrono::seconds(3));
  ASSERT_TRUE(Eventually([&] { return Get(id).status().code() == StatusCode::kNotFound; }));
  auto root = blob::ParseBlobToken(r->handles[0].blob_token);
  EXPECT_FALSE(blobs_->Has(*root));  // no retained bundle references it any more
}

TEST_F(AttachmentManagerTest, UnreferencedBlobsAreCollectedAtStart) {
  auto r = Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "kept"));
  ASSERT_TRUE(r.ok());
  // A blob no bundle references, as an ingest cut short by kill -9 leaves it.
  auto orphan = blobs_->Ingest(root_ + "/sub/b.bin");
  ASSERT_TRUE(orphan.ok());
  manager_->Stop();
  manager_.reset();
  blob_retention_ = std::chrono::seconds(0);
  StartManager();
  EXPECT_FALSE(blobs_->Has(orphan->root));
  EXPECT_TRUE(blobs_->Has(*blob::ParseBlobToken(r->handles[0].blob_token)));
}

TEST_F(AttachmentManagerTest, QueueWhenFullHoldsBundlesPendingUntilASlotFrees) {
  manager_->Stop();
  manager_.reset();
  queue_when_full_ = true;  // cap 2
  StartManager();
  auto first = Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "q1"));
  ASSERT_TRUE(Send(NodeList({"bbbbbbbbbb"}, {"a.txt"}, "q2")).ok());
  auto third = Send(NodeList({"bbbbbbbbbb"}, {"sub/b.bin"}, "q3"));
  ASSERT_TRUE(first.ok() && third.ok()) << third.status().ToString();
  const std::string waiting = third->handles[0].distribution_id;
  auto v = Get(waiting);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->status, TransferState::kPending);
  ASSERT_EQ(v->per_node.size(), 1u);
  auto doc = store_->Get(std::string(kDistributionsCollection), waiting);
  ASSERT_TRUE(doc.ok());
  EXPECT_FALSE(doc->has_value()) << "a queued distribution is not sent to anyone yet";
  // It survives a restart in the queue.
  RestartManager();
  EXPECT_EQ(Get(waiting)->status, TransferState::kPending);
  // The first bundle ends: the queued one starts.
  TargetReports(first->handles[0].distribution_id, "bbbbbbbbbb", TransferState::kCompleted, 17, 17);
  ASSERT_TRUE(Eventually([&] {
    auto d = store_->Get(std::string(kDistributionsCollection), waiting);
    return d.ok() && d->has_value();
  }));
}

TEST_F(AttachmentManagerTest, UnknownIdsAreNotFound) {
  EXPECT_EQ(Get("").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Get("x").status().message(), "distribution_id `x` not found");
  auto sink = std::make_shared<RecordingSink>();
  manager_->Subscribe("nope", sink);
  Status end = sink->WaitEnd();
  EXPECT_EQ(end.code(), StatusCode::kNotFound);
  EXPECT_EQ(end.message(), "bundle_id `nope` not found");
}

}  // namespace
}  // namespace peat::attach

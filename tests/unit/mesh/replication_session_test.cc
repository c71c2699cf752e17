// ReplicationSession over an in-memory connection pair between two real SQLite stores: the
// formation handshake, two-way replication, echo suppression, pause/resume, checkpointed
// catch-up and an epoch change.
#include "mesh/replication_session.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <deque>
#include <future>
#include <mutex>

#include "common/fake_clock.h"
#include "mesh/blob_frames.h"
#include "mesh/loopback_connection.h"
#include "mesh/member_ack_tracker.h"
#include "peat/mesh/v1/mesh.pb.h"
#include "store/store_test_util.h"

namespace peat::mesh {
namespace {

using store::testing::BaseOptions;
using store::testing::OpenOrDie;
using store::testing::PutSync;
using store::testing::TempDir;

const std::string kIdA(64, 'a');
const std::string kIdB(64, 'b');

FormationKey Key(const std::string& app, const std::string& secret) {
  auto k = FormationKey::Derive(
      app,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(secret.data()), secret.size()));
  EXPECT_TRUE(k.ok());
  return std::move(*k);
}

struct Side {
  Side(const std::string& id, uint64_t tag, FormationKey key, const std::string& app,
       const std::function<void(store::StoreOptions&)>& tweak = nullptr)
      : formation(std::move(key)) {
    auto o = BaseOptions(dir.path());
    o.node_tag = tag;
    if (tweak) tweak(o);
    store = OpenOrDie(o);
    env.store = store.get();
    env.endpoint_id = id;
    env.node_id = "node-" + id.substr(0, 1);
    env.formation_key = &formation;
    env.app_id_hash = AppIdHash(app);
    env.counters = &counters;
  }
  void Reopen() {
    store.reset();
    auto o = BaseOptions(dir.path());
    store = OpenOrDie(o);
    env.store = store.get();
  }
  TempDir dir;
  FormationKey formation;
  std::unique_ptr<store::SqliteDocumentStore> store;
  MeshCounters counters;
  SessionEnvironment env;
  std::shared_ptr<ReplicationSession> session;
  bool established = false;
  bool closed = false;
  std::string failure;
  uint64_t feed_observer = 0;
};

class ReplicationSessionTest : public ::testing::Test {
 protected:
  void SetUpSides(const std::string& app_a, const std::string& key_a, const std::string& app_b,
                  const std::string& key_b) {
    a_ = std::make_unique<Side>(kIdA, 0xA, Key(app_a, key_a), app_a);
    b_ = std::make_unique<Side>(kIdB, 0xB, Key(app_b, key_b), app_b);
    Watch(*a_);
    Watch(*b_);
  }
  // Forwards "feed advanced" to the side's session (the Mesh does this in production).
  void Watch(Side& s) {
    s.feed_observer = s.store->AddFeedObserver([this, &s](uint64_t) {
      boost::asio::post(io_, [&s] {
        if (s.session) s.session->OnFeedAdvanced();
      });
    });
  }
  void Connect(bool sync_a = true, bool sync_b = true, uint8_t binding = 7) {
    auto [ca, cb] = testing::LoopbackConnection::Pair(io_, kIdA, kIdB, binding);
    a_conn_ = ca;
    b_conn_ = cb;
    a_->session = MakeSession(*a_, ca);
    b_->session = MakeSession(*b_, cb);
    a_->session->Start(sync_a);
    b_->session->Start(sync_b);
  }
  std::shared_ptr<ReplicationSession> MakeSession(Side& s, std::shared_ptr<MeshConnection> c) {
    s.established = s.closed = false;
    s.failure.clear();
    ReplicationSession::Callbacks cb;
    cb.on_established = [&s](const auto&) { s.established = true; };
    cb.on_closed = [&s](const auto&, const Status&, const std::string& failure) {
      s.closed = true;
      s.failure = failure;
    };
    return std::make_shared<ReplicationSession>(io_, s.env, std::move(c), std::move(cb));
  }
  // Runs the loop until `pred` holds (store callbacks arrive from writer threads).
  bool RunUntil(const std::function<bool()>& pred, int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_for(std::chrono::milliseconds(2));
    }
    return true;
  }
  // Nothing in flight: every requested stream is acknowledged through its head and every
  // commit was announced (true also before any stream was requested).
  bool Idle() {
    return a_->session->OutboundCaughtUp() && b_->session->OutboundCaughtUp() &&
           a_->store->NotifiedSeq() == a_->store->LastSeq() &&
           b_->store->NotifiedSeq() == b_->store->LastSeq();
  }
  // Synced both ways: each side merged the other's feed through its head, and nothing is in
  // flight.
  bool Quiet() {
    return a_->established && b_->established &&
           a_->session->inbound_checkpoint() >= b_->store->LastSeq() &&
           b_->session->inbound_checkpoint() >= a_->store->LastSeq() && Idle();
  }
  std::optional<std::string> Get(Side& s, const std::string& c, const std::string& d) {
    auto r = s.store->Get(c, d);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::nullopt;
  }
  void TearDown() override {
    for (auto* s : {a_.get(), b_.get()}) {
      if (s && s->session) s->session->Close("test over");
    }
    io_.run_for(std::chrono::milliseconds(20));
  }

  peat::testing::FakeClock fake_clock_;  // for the tests that opt in (env.clock); outlives sessions
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::unique_ptr<Side> a_, b_;
  std::shared_ptr<testing::LoopbackConnection> a_conn_, b_conn_;
};

TEST_F(ReplicationSessionTest, ReplicatesBothWaysWithoutEchoes) {
  SetUpSides("app", "secret", "app", "secret");
  ASSERT_TRUE(PutSync(*a_->store, "c", "before", R"({"x":1})").ok());
  Connect();
  ASSERT_TRUE(RunUntil([&] { return a_->established && b_->established; }));
  ASSERT_TRUE(RunUntil([&] { return Get(*b_, "c", "before").has_value(); }));
  ASSERT_TRUE(PutSync(*b_->store, "c", "from-b", R"({"y":2})").ok());
  ASSERT_TRUE(RunUntil([&] { return Get(*a_, "c", "from-b").has_value(); }));
  EXPECT_EQ(*Get(*a_, "c", "from-b"), R"({"y":2})");
  ASSERT_TRUE(RunUntil([&] { return Quiet(); }));
  // Each document crossed once, in one direction: B did not send A's document back.
  EXPECT_EQ(a_->counters.changes_sent.Value(), 1u);
  EXPECT_EQ(b_->counters.changes_sent.Value(), 1u);
  // The merged copies carry their source, so the feeds skip them for that peer.
  auto feed = b_->store->ReadFeed(store::FeedQuery{});
  ASSERT_TRUE(feed.ok());
  ASSERT_EQ(feed->entries.size(), 2u);
  EXPECT_EQ(feed->entries[0].src_peer, kIdA);
  EXPECT_EQ(feed->entries[1].src_peer, "");
}

TEST_F(ReplicationSessionTest, ConcurrentFieldWritesMergePerField) {
  SetUpSides("app", "secret", "app", "secret");
  ASSERT_TRUE(PutSync(*a_->store, "c", "d", R"({"a":1,"shared":0})").ok());
  ASSERT_TRUE(PutSync(*b_->store, "c", "d", R"({"b":2,"shared":0})").ok());
  Connect();
  ASSERT_TRUE(RunUntil([&] { return a_->established && b_->established; }));
  ASSERT_TRUE(RunUntil([&] { return Quiet() && Get(*a_, "c", "d") == Get(*b_, "c", "d"); }));
  auto merged = Get(*a_, "c", "d");
  ASSERT_TRUE(merged.has_value());
  // Both writers' own fields survive whatever the last-writer order of the shared ones.
  EXPECT_NE(merged->find(R"("shared":0)"), std::string::npos) << *merged;
}

TEST_F(ReplicationSessionTest, DeletesPropagate) {
  SetUpSides("app", "secret", "app", "secret");
  Connect();
  ASSERT_TRUE(RunUntil([&] { return a_->established && b_->established; }));
  ASSERT_TRUE(PutSync(*a_->store, "c", "d", R"({"v":1})").ok());
  ASSERT_TRUE(RunUntil([&] { return Get(*b_, "c", "d").has_value(); }));
  ASSERT_TRUE(store::testing::DeleteSync(*b_->store, "c", "d").ok());
  ASSERT_TRUE(RunUntil([&] { return !Get(*a_, "c", "d").has_value(); }));
}

TEST_F(ReplicationSessionTest, WrongAppIdIsRefusedAndNothingCrosses) {
  SetUpSides("app-1", "secret", "app-2", "secret");
  ASSERT_TRUE(PutSync(*a_->store, "c", "d", R"({"v":1})").ok());
  Connect();
  ASSERT_TRUE(RunUntil([&] { return a_->closed && b_->closed; }));
  EXPECT_FALSE(a_->established);
  EXPECT_FALSE(b_->established);
  EXPECT_EQ(a_->failure, "app_id_mismatch");
  EXPECT_EQ(b_->failure, "app_id_mismatch");
  EXPECT_FALSE(Get(*b_, "c", "d").has_value());
  EXPECT_EQ(a_->counters.handshake_failures()["app_id_mismatch"], 1u);
}

TEST_F(ReplicationSessionTest, WrongSharedKeyIsRefusedOnBothSides) {
  SetUpSides("app", "secret-1", "app", "secret-2");
  ASSERT_TRUE(PutSync(*a_->store, "c", "d", R"({"v":1})").ok());
  ASSERT_TRUE(PutSync(*b_->store, "c", "e", R"({"v":2})").ok());
  Connect();
  ASSERT_TRUE(RunUntil([&] { return a_->closed && b_->closed; }));
  EXPECT_EQ(a_->failure, "bad_proof");
  EXPECT_EQ(b_->failure, "bad_proof");
  EXPECT_FALSE(Get(*b_, "c", "d").has_value());
  EXPECT_FALSE(Get(*a_, "c", "e").has_value());
}

TEST_F(ReplicationSessionTest, StopSyncKeepsWritesLocalAndStartSyncSendsThem) {
  SetUpSides("app", "secret", "app", "secret");
  Connect();
  ASSERT_TRUE(RunUntil([&] { return a_->established && b_->established; }));
  a_->session->SetSyncActive(false);
  ASSERT_TRUE(PutSync(*a_->store, "c", "paused", R"({"v":1})").ok());
  ASSERT_TRUE(PutSync(*b_->store, "c", "paused-b", R"({"v":2})").ok());
  // Give every frame a chance to cross: the loop runs until nothing is left to do.
  ASSERT_TRUE(RunUntil([&] { return Idle(); }));
  io_.run_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(Get(*b_, "c", "paused").has_value());
  EXPECT_FALSE(Get(*a_, "c", "paused-b").has_value());
  a_->session->SetSyncActive(true);
  ASSERT_TRUE(RunUntil([&] { return Get(*b_, "c", "paused").has_value(); }));
  ASSERT_TRUE(RunUntil([&] { return Get(*a_, "c", "paused-b").has_value(); }));
}

TEST_F(ReplicationSessionTest, ReconnectMovesOnlyWhatChanged) {
  SetUpSides("app", "secret", "app", "secret");
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(PutSync(*a_->store, "c", "d" + std::to_string(i), R"({"v":0})").ok());
  }
  Connect();
  ASSERT_TRUE(RunUntil([&] { return a_->established && b_->established && Quiet(); }));
  ASSERT_EQ(b_->store->List("c")->size(), 200u);
  a_->session->Close("partition");
  ASSERT_TRUE(RunUntil([&] { return a_->closed && b_->closed; }));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(PutSync(*a_->store, "c", "d" + std::to_string(i), R"({"v":1})").ok());
  }
  const uint64_t sent_before = a_->counters.changes_sent.Value();
  Connect(true, true, 9);
  ASSERT_TRUE(RunUntil([&] { return a_->established && b_->established && Quiet(); }));
  EXPECT_EQ(a_->counters.changes_sent.Value() - sent_before, 10u);
  EXPECT_EQ(*Get(*b_, "c", "d3"), R"({"v":1})");
}

TEST_F(ReplicationSessionTest, PeerThatLostItsDataIsResyncedFromZero) {
  SetUpSides("app", "secret", "app", "secret");
  ASSERT_TRUE(PutSync(*a_->store, "c", "d", R"({"v":1})").ok());
  ASSERT_TRUE(PutSync(*b_->store, "c", "b1", R"({"v":1})").ok());
  ASSERT_TRUE(PutSync(*b_->store, "c", "b2", R"({"v":1})").ok());
  Connect();
  ASSERT_TRUE(RunUntil([&] { return Get(*b_, "c", "d").has_value() && Quiet(); }));
  ASSERT_TRUE(Get(*a_, "c", "b2").has_value());  // A's checkpoint of B's feed is now 3
  a_->session->Close("b wipes its disk");
  ASSERT_TRUE(RunUntil([&] { return a_->closed && b_->closed; }));
  // B loses everything: a new store (new epoch) whose feed restarts at seq 1.
  b_->store->RemoveFeedObserver(b_->feed_observer);
  b_->session.reset();
  b_ = std::make_unique<Side>(kIdB, 0xB, Key("app", "secret"), "app");
  Watch(*b_);
  ASSERT_TRUE(PutSync(*b_->store, "c", "new-b", R"({"v":2})").ok());
  Connect(true, true, 11);
  // A notices the new epoch and reads B's feed from zero (else it would skip seq 1); B, with no
  // checkpoint, gets A's whole feed.
  ASSERT_TRUE(RunUntil([&] { return Get(*a_, "c", "new-b").has_value(); }));
  ASSERT_TRUE(RunUntil([&] { return Get(*b_, "c", "d").has_value(); }));
}

class OrderRecorder : public store::ChangeListener {
 public:
  void OnChange(const store::ChangeEvent& e) override {
    std::lock_guard lock(mu_);
    order_.push_back(e.collection + "/" + e.doc_id);
  }
  std::vector<std::string> order() {
    std::lock_guard lock(mu_);
    return order_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> order_;
};

TEST_F(ReplicationSessionTest, CriticalChangesOvertakeABulkBacklog) {
  SetUpSides("app", "secret", "app", "secret");
  a_->env.lanes = BuildPriorityLanes({{"alerts", 5}, {"logs", 1}});
  a_->env.options.batch_max_entries = 100;
  a_->env.options.window_batches = 4;
  b_->env.options.window_batches = 4;
  // A backlog: logs (bulk), then routine docs, then one critical alert, written last.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(PutSync(*a_->store, "logs", "l" + std::to_string(i), R"({"v":0})").ok());
  }
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(PutSync(*a_->store, "orders", "o" + std::to_string(i), R"({"v":0})").ok());
  }
  ASSERT_TRUE(PutSync(*a_->store, "alerts", "fire", R"({"v":1})").ok());
  auto recorder = std::make_shared<OrderRecorder>();
  b_->store->AddListener(recorder);
  Connect();
  ASSERT_TRUE(RunUntil([&] { return recorder->order().size() == 1301 && Quiet(); }));
  auto order = recorder->order();
  // Catch-up serves the highest class first: the alert before any routine doc, every routine
  // doc before any bulk one.
  EXPECT_EQ(order.front(), "alerts/fire");
  size_t last_order = 0, first_log = order.size();
  for (size_t i = 0; i < order.size(); ++i) {
    if (order[i].rfind("orders/", 0) == 0) last_order = i;
    if (order[i].rfind("logs/", 0) == 0) first_log = std::min(first_log, i);
  }
  EXPECT_LT(last_order, first_log);

  // Live: a new bulk burst is in flight when another alert commits; the alert does not wait for
  // the burst to drain.
  recorder = std::make_shared<OrderRecorder>();
  b_->store->AddListener(recorder);
  std::vector<std::future<Status>> writes;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(PutSync(*a_->store, "logs", "m" + std::to_string(i), R"({"v":1})").ok());
  }
  ASSERT_TRUE(PutSync(*a_->store, "alerts", "fire2", R"({"v":2})").ok());
  ASSERT_TRUE(RunUntil([&] { return recorder->order().size() == 1001 && Quiet(); }));
  order = recorder->order();
  const auto pos = std::find(order.begin(), order.end(), "alerts/fire2") - order.begin();
  EXPECT_LT(pos, 1000) << "the alert arrived after the whole bulk burst";
}

TEST_F(ReplicationSessionTest, WatchdogRestartsAStreamThatStalled) {
  // Pings, the stall timeout and the watchdog run on a fake clock: time moves only when the test
  // moves it, so the outcome does not depend on how fast the machine is.
  SetUpSides("app", "secret", "app", "secret");
  a_->env.clock = &fake_clock_;
  b_->env.clock = &fake_clock_;
  b_->env.options.stall_timeout = std::chrono::milliseconds(300);
  b_->env.options.liveness.ping_interval = std::chrono::milliseconds(100);
  a_->env.options.liveness.ping_interval = std::chrono::milliseconds(100);
  Connect();
  ASSERT_TRUE(RunUntil([&] { return a_->established && b_->established; }));
  // The link eats the next change batch from A (and A then waits for its ack forever).
  auto dropped = std::make_shared<bool>(false);  // the hook outlives this test body
  a_conn_->drop_outgoing = [dropped](const std::string& frame) {
    if (*dropped || frame.size() < 40) return false;  // pings, acks and empty batches pass
    *dropped = true;
    return true;
  };
  ASSERT_TRUE(PutSync(*a_->store, "c", "lost-once", R"({"payload":"0123456789abcdef"})").ok());
  ASSERT_TRUE(RunUntil([&] { return *dropped; }));
  // Nothing arrives while the clock stands still.
  EXPECT_FALSE(RunUntil([&] { return Get(*b_, "c", "lost-once").has_value(); }, 50));
  EXPECT_EQ(b_->counters.stalls.Value(), 0u);
  // B learns A's head from pings, sees no progress for the stall timeout, and asks again.
  const auto arrived = [&] { return Get(*b_, "c", "lost-once").has_value(); };
  for (int step = 0; step < 40 && !arrived(); ++step) {
    fake_clock_.Advance(std::chrono::milliseconds(50));
    RunUntil(arrived, 20);  // let the loop handle what the step made due
  }
  ASSERT_TRUE(RunUntil(arrived));
  EXPECT_GE(b_->counters.stalls.Value(), 1u);
}

// Liveness on a fake clock (link_liveness.h): both sides on the default options (Ping after 1 s of
// send silence, dead after 2.5 s of silence on a link whose RTT is ~0).
class LivenessTest : public ReplicationSessionTest {
 protected:
  void SetUp() override {
    SetUpSides("app", "secret", "app", "secret");
    a_->env.clock = &fake_clock_;
    b_->env.clock = &fake_clock_;
    Connect();
    ASSERT_TRUE(RunUntil([&] { return a_->established && b_->established; }));
    io_.poll();
  }
  // Moves the clock `total` forward in `step`s, running what each step made due.
  void Pass(std::chrono::milliseconds total, std::chrono::milliseconds step,
            const std::function<bool()>& stop = nullptr) {
    for (std::chrono::milliseconds t{0}; t < total; t += step) {
      fake_clock_.Advance(step);
      io_.poll();
      if (stop && stop()) return;
    }
  }
};

TEST_F(LivenessTest, ASilentPeerIsDeadAtTheFloorAndTheSessionEndsAtOnce) {
  Pass(std::chrono::seconds(5), std::chrono::milliseconds(10));  // pings flow: all is well
  ASSERT_FALSE(a_->closed);
  // B's frames stop arriving (its process is stopped, or the link is cut one way).
  b_conn_->drop_outgoing = [](const std::string&) { return true; };
  const auto silent_from = fake_clock_.Now();
  Pass(std::chrono::seconds(5), std::chrono::milliseconds(10), [&] { return a_->closed; });
  ASSERT_TRUE(a_->closed);
  const auto took = fake_clock_.Now() - silent_from;
  EXPECT_GE(took, std::chrono::milliseconds(2490));  // the last Pong may precede the cut a bit
  EXPECT_LE(took, std::chrono::milliseconds(2510));
  EXPECT_EQ(a_->counters.dead_links.Value(), 1u);
  EXPECT_EQ(b_->counters.dead_links.Value(), 0u);
}

TEST_F(LivenessTest, APeerThatAnswersStaysUpAndItsPongsAreTimed) {
  Pass(std::chrono::seconds(120), std::chrono::milliseconds(100));
  EXPECT_FALSE(a_->closed);
  EXPECT_FALSE(b_->closed);
  EXPECT_EQ(a_->counters.dead_links.Value() + b_->counters.dead_links.Value(), 0u);
  ASSERT_TRUE(a_->session->liveness().srtt().has_value());
  EXPECT_EQ(a_->session->liveness().DeadAfter(), std::chrono::milliseconds(2500));
}

TEST_F(LivenessTest, ASlowLinkRaisesTheBoundAndDoesNotFlap) {
  // Everything B sends reaches A 600 ms late (a slow link, or TCP repairing losses).
  struct Held {
    Clock::TimePoint at;
    std::string frame;
  };
  auto held = std::make_shared<std::deque<Held>>();
  auto releasing = std::make_shared<bool>(false);
  b_conn_->drop_outgoing = [held, releasing, this](const std::string& frame) {
    if (*releasing) return false;
    held->push_back(Held{fake_clock_.Now(), frame});
    return true;
  };
  for (int step = 0; step < 1200; ++step) {  // 60 s
    fake_clock_.Advance(std::chrono::milliseconds(50));
    while (!held->empty() &&
           fake_clock_.Now() - held->front().at >= std::chrono::milliseconds(600)) {
      *releasing = true;
      b_conn_->Send(std::move(held->front().frame));
      *releasing = false;
      held->pop_front();
    }
    io_.poll();
  }
  EXPECT_FALSE(a_->closed);
  EXPECT_EQ(a_->counters.dead_links.Value(), 0u);
  ASSERT_TRUE(a_->session->liveness().srtt().has_value());
  EXPECT_GE(*a_->session->liveness().srtt(), std::chrono::milliseconds(550));
  EXPECT_GE(a_->session->liveness().DeadAfter(), std::chrono::milliseconds(1000 + 16 * 600));
}

TEST_F(LivenessTest, OurOwnStallIsNotThePeersSilence) {
  b_conn_->drop_outgoing = [](const std::string&) { return true; };
  // The loop (or the process) did not run for a minute: the timer fires 60 s late.
  fake_clock_.Advance(std::chrono::seconds(60));
  io_.poll();
  EXPECT_FALSE(a_->closed);
  // From now on the silence counts.
  Pass(std::chrono::seconds(5), std::chrono::milliseconds(10), [&] { return a_->closed; });
  EXPECT_TRUE(a_->closed);
  EXPECT_EQ(a_->counters.dead_links.Value(), 1u);
}

TEST_F(ReplicationSessionTest, TombstoneIsPurgedOnlyAfterEveryMemberHasTheDelete) {
  auto tracker = std::make_shared<MemberAckTracker>();
  store::testing::FakeClock clock;
  a_ = std::make_unique<Side>(kIdA, 0xA, Key("app", "secret"), "app", [&](store::StoreOptions& o) {
    o.ack_tracker = tracker;
    o.now_ms = clock.fn();
  });
  b_ = std::make_unique<Side>(kIdB, 0xB, Key("app", "secret"), "app");
  Watch(*a_);
  Watch(*b_);
  a_->env.peer_acked = [&](const std::string& peer, uint64_t seq) {
    tracker->Acknowledge(peer, seq);
  };
  store::CollectionConfig cfg;
  cfg.collection = "t";
  cfg.deletion_policy = store::DeletionPolicy::kTombstone;
  cfg.tombstone_ttl_secs = 60;
  ASSERT_TRUE(store::testing::SetConfigSync(*a_->store, cfg).ok());
  // B saw the document, then went offline: it is a member that has not seen the delete.
  ASSERT_TRUE(PutSync(*a_->store, "t", "x", R"({"v":1})").ok());
  tracker->AddMember(kIdB);
  Connect();
  ASSERT_TRUE(RunUntil([&] { return Get(*b_, "t", "x").has_value() && Quiet(); }));
  a_->session->Close("b goes offline");
  ASSERT_TRUE(RunUntil([&] { return a_->closed && b_->closed; }));
  ASSERT_TRUE(store::testing::DeleteSync(*a_->store, "t", "x").ok());
  clock.Advance(61'000);
  ASSERT_TRUE(store::testing::GcSync(*a_->store).ok());
  EXPECT_EQ(a_->store->Stats().tombstones, 1u) << "purged before member B saw the delete";
  // B comes back, receives the delete, acknowledges it: now the tombstone may go.
  Connect(true, true, 13);
  ASSERT_TRUE(RunUntil([&] { return !Get(*b_, "t", "x").has_value() && Quiet(); }));
  ASSERT_TRUE(RunUntil([&] { return tracker->members()[kIdB] >= a_->store->LastSeq(); }));
  ASSERT_TRUE(store::testing::GcSync(*a_->store).ok());
  EXPECT_EQ(a_->store->Stats().tombstones, 0u);
  EXPECT_EQ(a_->store->Stats().tombstones_force_purged, 0u);
}

TEST_F(ReplicationSessionTest, CheckpointAdvancesPastEchoesAndPurgedRows) {
  SetUpSides("app", "secret", "app", "secret");
  Connect();
  ASSERT_TRUE(RunUntil([&] { return a_->established && b_->established; }));
  ASSERT_TRUE(PutSync(*a_->store, "c", "d", R"({"v":1})").ok());
  ASSERT_TRUE(RunUntil([&] { return Get(*b_, "c", "d").has_value() && Quiet(); }));
  // B's feed holds only A's echo: A's checkpoint of B still reaches B's head.
  ASSERT_TRUE(RunUntil([&] { return a_->session->inbound_checkpoint() == b_->store->LastSeq(); }));
  EXPECT_EQ(b_->counters.changes_sent.Value(), 0u);
}

}  // namespace
}  // namespace peat::mesh

namespace peat::mesh {
namespace {

// Records the blob frames a session hands on.
class RecordingBlobHandler : public BlobFrameHandler {
 public:
  void OnBlobFrame(const std::shared_ptr<ReplicationSession>&, const v1::Frame& frame) override {
    kinds.push_back(frame.body_case());
  }
  void OnPieceSent(const std::string&, int, size_t) override {}
  std::vector<v1::Frame::BodyCase> kinds;
};

TEST_F(ReplicationSessionTest, GarbageBlobFramesAreDroppedAndCountedAndTheSessionStaysUp) {
  SetUpSides("app", "secret", "app", "secret");
  RecordingBlobHandler handler;
  b_->env.blob_handler = &handler;
  Connect();
  ASSERT_TRUE(RunUntil([&] { return a_->established && b_->established; }));
  const std::string root(32, 'r');
  std::vector<v1::Frame> bad(6);
  bad[0].mutable_blob_want()->set_request_id(1);  // no root
  bad[1].mutable_blob_want()->set_request_id(1);
  bad[1].mutable_blob_want()->set_root(root);
  bad[1].mutable_blob_want()->set_priority_class(9);
  bad[2].mutable_blob_piece()->set_request_id(1);
  bad[2].mutable_blob_piece()->set_root(root);
  bad[2].mutable_blob_piece()->set_data(std::string(kMaxBlobPieceBytes + 1, 'x'));
  bad[3].mutable_blob_error()->set_request_id(1);
  bad[3].mutable_blob_error()->set_reason(static_cast<v1::BlobError::Reason>(42));
  bad[4].mutable_blob_cancel()->set_request_id(0);
  bad[5].mutable_blob_have()->set_root("short");
  for (const auto& f : bad) a_conn_->Send(f.SerializeAsString());
  v1::Frame good;
  good.mutable_blob_error()->set_request_id(3);
  good.mutable_blob_error()->set_reason(v1::BlobError::REASON_BUSY);
  a_conn_->Send(good.SerializeAsString());
  ASSERT_TRUE(RunUntil([&] { return !handler.kinds.empty(); }));
  EXPECT_EQ(handler.kinds, std::vector<v1::Frame::BodyCase>{v1::Frame::kBlobError});
  EXPECT_EQ(b_->counters.blob_bad_frames.Value(), bad.size());
  EXPECT_EQ(b_->counters.bad_frames.Value(), 0u);
  EXPECT_FALSE(b_->closed);
  // Documents still flow.
  ASSERT_TRUE(PutSync(*a_->store, "c", "after", R"({"ok":1})").ok());
  ASSERT_TRUE(RunUntil([&] { return Get(*b_, "c", "after").has_value(); }));
}

}  // namespace
}  // namespace peat::mesh

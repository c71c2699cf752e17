// AgentWatcher against the fake agent (a node child process) and a real SQLite store: the §4
// documents, change-only writes and the refresh, the nodes/<id> patch, stale removal with its
// guards (§6), failures isolated per call, write errors, skipped items, the metrics, and a Stop
// that cancels a hanging call. The cycle timer runs on a FakeClock: a next cycle starts only when
// a test advances it, so every test knows which cycle it looks at. Without node: SKIPPED.
#include "watcher/agent_watcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "common/fake_clock.h"
#include "fake_agent_process.h"
#include "store/store_test_util.h"
#include "temp_dir.h"

namespace peat::watcher {
namespace {

using store::testing::DeleteSync;
using store::testing::Eventually;
using store::testing::MergePutSync;
using store::testing::PutSync;
using store::testing::SetConfigSync;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kT0 = 1767225600;
const std::string kNode = "alpha-agent";

// Canonical documents of the default fixtures (WATCHER.md §4 and §7) at `t`.
std::string NodeDoc(int64_t t) {
  return R"({"agent_id":"alpha-agent","architecture":"amd64","classification":"UNCLASSIFIED",)"
         R"("k8s_node_status":"Ready","k8s_version":"v1.30.2","last_seen":)" +
         std::to_string(t) +
         R"(,"node_type":"uds-remote-agent","run_mode":"cluster","version":"0.9.1",)"
         R"("zarf_version":"v0.40.1"})";
}
std::string NginxDoc(int64_t t) {
  return R"({"agent_id":"alpha-agent","annotations":{"team":"edge"},"flavor":"upstream",)"
         R"("last_seen":)" +
         std::to_string(t) +
         R"(,"namespace_override":null,"package":"nginx","status":3,"version":"1.25.3"})";
}
std::string PulledDoc(int64_t t) {
  return R"({"agent_id":"alpha-agent","arch":"amd64","last_seen":)" + std::to_string(t) +
         R"(,"package":"uds-core","pull_status":2,"reference":"0.1.0",)"
         R"("registry":"registry.local","total_bytes":1234,"version":"0.1.0"})";
}

class AgentWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveNode()) GTEST_SKIP() << "SKIPPED: node is not installed; the fake agent needs it";
    fake_ = FakeAgent::Start({});
    ASSERT_NE(fake_, nullptr) << "the fake agent did not start";
    store_ = store::testing::OpenOrDie(store::testing::BaseOptions(dir_.path()));
  }
  void TearDown() override {
    if (watcher_) watcher_->Stop();
  }

  AgentWatcherOptions Options() const {
    AgentWatcherOptions o;
    o.client.addr = "http://127.0.0.1:" + std::to_string(fake_->port());
    o.client.call_timeout = std::chrono::milliseconds(1500);  // hang / drip end sooner here
    o.node_id = kNode;
    o.poll_interval = std::chrono::seconds(10);
    return o;
  }
  void Launch(AgentWatcherOptions o) {
    AgentWatcher::Dependencies deps;
    deps.store = store_.get();
    deps.clock = &clock_;
    deps.unix_seconds = [this] { return now_.load(); };
    auto w = AgentWatcher::Create(std::move(o), std::move(deps));
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    watcher_ = std::move(*w);
    watcher_->Start();
  }
  void StartWatcher(std::chrono::seconds refresh = std::chrono::seconds(300)) {
    AgentWatcherOptions o = Options();
    o.refresh = refresh;
    Launch(std::move(o));
    WaitCycles(1);
  }
  // Waits until `n` cycles completed.
  void WaitCycles(uint64_t n) {
    ASSERT_TRUE(Eventually([&] { return watcher_->cycles_completed() >= n; }))
        << "cycles completed: " << watcher_->cycles_completed() << ", waited for " << n;
  }
  // Advances the fake clock one interval (and the wall clock `secs`), then waits for the cycle.
  void NextCycle(int64_t secs = 10) {
    const uint64_t done = watcher_->cycles_completed();
    now_ += secs;
    clock_.Advance(std::chrono::seconds(10));
    WaitCycles(done + 1);
  }
  std::optional<std::string> Doc(const std::string& collection, const std::string& id) {
    auto d = store_->Get(collection, id);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : std::nullopt;
  }
  std::string Metrics() const {
    std::string out;
    watcher_->AppendMetrics(out);
    return out;
  }
  uint64_t Seq() { return store_->LastSeq(); }
  void Fixtures(const std::string& json) {
    EXPECT_THAT(fake_->Control(R"({"op":"fixtures",)" + json + "}"), HasSubstr("\"ok\":true"));
  }

  peat::testing::TempDir dir_{"agent-watcher-test"};
  peat::testing::FakeClock clock_;
  std::atomic<int64_t> now_{kT0};
  std::unique_ptr<FakeAgent> fake_;
  std::unique_ptr<store::SqliteDocumentStore> store_;
  std::unique_ptr<AgentWatcher> watcher_;
};

TEST_F(AgentWatcherTest, TheFirstCycleWritesTheSpecDocuments) {
  StartWatcher();
  EXPECT_EQ(Doc("nodes", kNode), NodeDoc(kT0));
  EXPECT_EQ(Doc("deployments", kNode + ":nginx"), NginxDoc(kT0));
  EXPECT_THAT(Doc("deployments", kNode + ":podinfo").value_or(""),
              HasSubstr(R"("package":"podinfo","status":3,"version":"6.7.0")"));
  EXPECT_EQ(Doc("packages", kNode + ":0.1.0-amd64"), PulledDoc(kT0));
  const std::string m = Metrics();
  EXPECT_THAT(m, HasSubstr("peat_agent_up 1\n"));
  EXPECT_THAT(m, HasSubstr("peat_agent_polls_total{call=\"status\",result=\"ok\"} 1\n"));
  EXPECT_THAT(m,
              HasSubstr("peat_agent_polls_total{call=\"list_pulled_packages\",result=\"ok\"} 1"));
  EXPECT_THAT(m, HasSubstr("peat_agent_docs_written_total{collection=\"deployments\"} 2\n"));
  EXPECT_THAT(m, HasSubstr("peat_agent_docs_written_total{collection=\"packages\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("peat_agent_last_success_timestamp_seconds{call=\"status\"} " +
                           std::to_string(kT0)));
  EXPECT_THAT(m, HasSubstr("peat_agent_poll_duration_seconds_count{call=\"list_packages\"} 1"));
}

TEST_F(AgentWatcherTest, SteadyStateWritesOnlyTheHeartbeatUntilTheRefresh) {
  StartWatcher(std::chrono::seconds(300));
  const uint64_t after_first = Seq();
  for (int i = 1; i <= 5; ++i) NextCycle(10);
  EXPECT_EQ(Seq(), after_first + 5) << "one change per cycle: nodes/<id>'s last_seen";
  EXPECT_EQ(Doc("nodes", kNode), NodeDoc(kT0 + 50));
  EXPECT_EQ(Doc("deployments", kNode + ":nginx"), NginxDoc(kT0)) << "unchanged: not rewritten";
  // A changed field is written at once.
  Fixtures(R"("packages":[{"name":"nginx","version":"1.27.0","status":3,"flavor":"upstream",)"
           R"("annotations":{"team":"edge"}},{"name":"podinfo","version":"6.7.0","status":3}])");
  NextCycle(10);
  EXPECT_THAT(Doc("deployments", kNode + ":nginx").value_or(""),
              HasSubstr("\"version\":\"1.27.0\""));
  EXPECT_THAT(Doc("deployments", kNode + ":podinfo").value_or(""),
              HasSubstr("\"last_seen\":" + std::to_string(kT0)));
  // After the refresh period, unchanged documents are written again (last_seen moves).
  NextCycle(300);
  EXPECT_THAT(Doc("deployments", kNode + ":podinfo").value_or(""),
              HasSubstr("\"last_seen\":" + std::to_string(kT0 + 360)));
  EXPECT_EQ(Doc("packages", kNode + ":0.1.0-amd64"), PulledDoc(kT0 + 360));
}

TEST_F(AgentWatcherTest, ARestartDoesNotRewriteUnchangedDocuments) {
  StartWatcher();
  watcher_->Stop();
  watcher_.reset();
  const uint64_t before = Seq();
  now_ += 20;
  StartWatcher();
  EXPECT_EQ(Seq(), before + 1) << "only the heartbeat";
  EXPECT_EQ(Doc("deployments", kNode + ":nginx"), NginxDoc(kT0));
}

TEST_F(AgentWatcherTest, TheNodeDocumentIsAPatch) {
  ASSERT_TRUE(PutSync(*store_, "nodes", kNode, R"({"name":"Alpha Edge","status":1})").ok());
  StartWatcher();
  auto doc = Doc("nodes", kNode).value_or("");
  EXPECT_THAT(doc, HasSubstr("\"name\":\"Alpha Edge\""));
  EXPECT_THAT(doc, HasSubstr("\"node_type\":\"uds-remote-agent\""));
  NextCycle();
  EXPECT_THAT(Doc("nodes", kNode).value_or(""), HasSubstr("\"name\":\"Alpha Edge\""));
}

TEST_F(AgentWatcherTest, StaleDocumentsAreDeletedBehindTheGuards) {
  // Another agent's document, and one of ours from before (a leftover): the leftover goes at once.
  ASSERT_TRUE(PutSync(*store_, "deployments", "bravo:nginx", R"({"agent_id":"bravo"})").ok());
  ASSERT_TRUE(
      PutSync(*store_, "deployments", kNode + ":old", R"({"agent_id":"alpha-agent"})").ok());
  ASSERT_TRUE(PutSync(*store_, "deployments", kNode + ":foreign", R"({"agent_id":"bravo"})").ok());
  StartWatcher();
  EXPECT_FALSE(Doc("deployments", kNode + ":old").has_value()) << "a leftover is cleaned";
  EXPECT_TRUE(Doc("deployments", "bravo:nginx").has_value());
  EXPECT_TRUE(Doc("deployments", kNode + ":foreign").has_value()) << "agent_id is not ours";

  // podinfo removed: deleted at the next poll.
  Fixtures(R"("packages":[{"name":"nginx","version":"1.25.3","status":3,"flavor":"upstream",)"
           R"("annotations":{"team":"edge"}}])");
  NextCycle();
  EXPECT_FALSE(Doc("deployments", kNode + ":podinfo").has_value());
  EXPECT_TRUE(Doc("deployments", kNode + ":nginx").has_value());

  // A failure after a success deletes nothing.
  Fixtures(R"("packages":[])");
  fake_->Behaviour("packages", "status:500");
  NextCycle();
  EXPECT_TRUE(Doc("deployments", kNode + ":nginx").has_value());
  EXPECT_THAT(
      Metrics(),
      HasSubstr("peat_agent_polls_total{call=\"list_packages\",result=\"http_error\"} 1\n"));

  // An empty list deletes only when two consecutive successful polls agree.
  fake_->Behaviour("packages", "ok");
  NextCycle();
  EXPECT_TRUE(Doc("deployments", kNode + ":nginx").has_value()) << "the first empty list";
  NextCycle();
  EXPECT_FALSE(Doc("deployments", kNode + ":nginx").has_value()) << "the second one agrees";
  EXPECT_TRUE(Doc("deployments", "bravo:nginx").has_value());
  EXPECT_THAT(Metrics(),
              HasSubstr("peat_agent_docs_deleted_total{collection=\"deployments\"} 3\n"));
  EXPECT_TRUE(Doc("nodes", kNode).has_value()) << "nodes/<id> is never deleted";
}

TEST_F(AgentWatcherTest, EachFailureModeOfOneCallLeavesTheOthersWriting) {
  StartWatcher();
  const std::pair<const char*, const char*> modes[] = {
      {"status:500", "http_error"}, {"garbage", "parse_error"}, {"wrong_types", "parse_error"},
      {"truncated", "parse_error"}, {"huge:8", "parse_error"},  {"hang", "timeout"},
      {"drip", "timeout"},          {"reset", "http_error"}};
  const std::pair<const char*, const char*> calls[] = {
      {"status", "status"}, {"packages", "list_packages"}, {"pulled", "list_pulled_packages"}};
  std::map<std::string, int> expected;  // "call/result" → count
  for (const auto& [route, call] : calls) {
    for (const auto& [mode, result] : modes) {
      fake_->Behaviour(route, mode);
      NextCycle(1);
      ++expected[std::string(call) + "/" + result];
      const std::string m = Metrics();
      const std::string line = "peat_agent_polls_total{call=\"" + std::string(call) +
                               "\",result=\"" + result + "\"} " +
                               std::to_string(expected[std::string(call) + "/" + result]) + "\n";
      EXPECT_THAT(m, HasSubstr(line)) << route << " " << mode;
      // The other calls still wrote (nodes/<id> last_seen moves with every successful status).
      if (std::string(route) != "status") {
        EXPECT_EQ(Doc("nodes", kNode), NodeDoc(now_.load())) << route << " " << mode;
      }
      EXPECT_TRUE(Doc("deployments", kNode + ":podinfo").has_value()) << route << " " << mode;
      EXPECT_TRUE(Doc("packages", kNode + ":0.1.0-amd64").has_value()) << route << " " << mode;
    }
    fake_->Behaviour(route, "ok");
  }
  EXPECT_THAT(Metrics(), HasSubstr("peat_agent_docs_deleted_total{collection=\"deployments\"} 0"));
}

TEST_F(AgentWatcherTest, AFailedDeleteIsAWriteError) {
  StartWatcher();
  ASSERT_TRUE(
      SetConfigSync(*store_, {"deployments", store::DeletionPolicy::kImmutable, {}, {}}).ok());
  Fixtures(R"("packages":[{"name":"nginx","version":"1.25.3","status":3,"flavor":"upstream",)"
           R"("annotations":{"team":"edge"}}])");
  NextCycle();
  EXPECT_TRUE(Doc("deployments", kNode + ":podinfo").has_value());
  const std::string m = Metrics();
  EXPECT_THAT(
      m, HasSubstr("peat_agent_polls_total{call=\"list_packages\",result=\"write_error\"} 1\n"));
  EXPECT_THAT(m,
              HasSubstr("peat_agent_polls_total{call=\"list_pulled_packages\",result=\"ok\"} 2\n"));
}

TEST_F(AgentWatcherTest, InvalidItemsAreSkippedAndCounted) {
  Fixtures(R"("packages":[{"name":"bad\u0000name","version":"1"},{"name":")" +
           std::string(2048, 'x') + R"(","version":"1"},{"name":"nginx","version":"1.25.3"}])");
  StartWatcher();
  EXPECT_TRUE(Doc("deployments", kNode + ":nginx").has_value());
  EXPECT_EQ(store_->List("deployments")->size(), 1u);
  const std::string m = Metrics();
  EXPECT_THAT(
      m, HasSubstr("peat_agent_items_skipped_total{call=\"list_packages\",reason=\"nul\"} 1\n"));
  EXPECT_THAT(
      m,
      HasSubstr("peat_agent_items_skipped_total{call=\"list_packages\",reason=\"too_long\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("peat_agent_polls_total{call=\"list_packages\",result=\"ok\"} 1\n"));
}

TEST_F(AgentWatcherTest, AnAgentDownWritesNothingAndCountsConnectErrors) {
  AgentWatcherOptions o = Options();
  fake_.reset();  // nothing listens on its port now
  Launch(std::move(o));
  WaitCycles(1);
  EXPECT_EQ(Seq(), 0u);
  const std::string m = Metrics();
  EXPECT_THAT(m, HasSubstr("peat_agent_up 0\n"));
  EXPECT_THAT(m, HasSubstr("peat_agent_polls_total{call=\"status\",result=\"connect_error\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("peat_agent_last_success_timestamp_seconds{call=\"status\"} 0\n"));
}

TEST_F(AgentWatcherTest, StopCancelsAHangingCallAtOnce) {
  fake_->Behaviour("status", "hang");
  AgentWatcherOptions o = Options();
  o.client.call_timeout = std::chrono::milliseconds(5000);  // the default: longer than the test
  Launch(std::move(o));
  ASSERT_TRUE(Eventually([&] {
    return fake_->Control(R"({"op":"counts"})").find("\"status\":1") != std::string::npos;
  }));
  const auto t0 = std::chrono::steady_clock::now();
  watcher_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(watcher_->cycles_completed(), 0u);
  EXPECT_EQ(Seq(), 0u) << "nothing written after the stop";
}

TEST_F(AgentWatcherTest, BadOptionsAreRefused) {
  AgentWatcherOptions o;
  o.client.addr = "ftp://agent";
  o.node_id = kNode;
  AgentWatcher::Dependencies deps;
  deps.store = store_.get();
  EXPECT_EQ(AgentWatcher::Create(o, deps).status().code(), StatusCode::kInvalidArgument);
  o.client.addr = "http://127.0.0.1:1";
  o.poll_interval = std::chrono::seconds(0);
  EXPECT_THAT(AgentWatcher::Create(o, deps).status().message(), HasSubstr("--agent-poll-interval"));
  o.poll_interval = std::chrono::seconds(1);
  EXPECT_TRUE(AgentWatcher::Create(o, deps).ok());
  deps.store = nullptr;
  EXPECT_FALSE(AgentWatcher::Create(o, deps).ok());
}

}  // namespace
}  // namespace peat::watcher

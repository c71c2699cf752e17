// ConsoleSite (console/console_site.h) on a fake exchange: the routes under /console, the
// security headers on every answer, gzip negotiation, ETag revalidation, --console=false, a
// binary without the bundle, /console/api/mesh from a fake store and mesh, and the JSON shape.
#include "console/console_site.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "console/mesh_overview.h"
#include "rpc/fake_exchange.h"
#include "service/fake_document_store.h"

namespace peat::console {
namespace {

using rpc::testing::FakeExchange;

constexpr ConsoleAsset kFiles[] = {
    {"index.html", "text/html; charset=utf-8", "\"abc\"", "<!doctype html>", "GZ-INDEX"},
    {"console.js", "text/javascript; charset=utf-8", "\"def\"", "console.log(1)", "GZ-JS"},
};

class FakePeers : public PeerControl {
 public:
  std::vector<PeerView> views;
  void ConnectPeer(std::string, std::vector<std::string>, Done done) override {
    done(Status::Ok());
  }
  void DisconnectPeer(std::string, Done done) override { done(Status::Ok()); }
  void ListPeers(std::function<void(std::vector<PeerView>)> done) override { done(views); }
  void SetSyncActive(bool) override {}
  bool sync_active() const override { return true; }
  void GetSyncStats(std::function<void(SyncStats)> done) override { done(SyncStats{}); }
};

class ConsoleSiteTest : public ::testing::Test {
 protected:
  ConsoleSiteOptions Options() {
    ConsoleSiteOptions o;
    o.assets = kFiles;
    o.node_id = std::string(64, 'a');
    o.store = &store_;
    o.peers = &peers_;
    o.feed_seq = [] { return uint64_t{7}; };
    o.blocking = pool_.get_executor();
    return o;
  }
  // Runs `path` through a site; returns the exchange once it has an answer.
  std::shared_ptr<FakeExchange> Get(const ConsoleSite& site, const std::string& path,
                                    rpc::HeaderList headers = {}, bool* handled = nullptr) {
    rpc::HttpRequest req;
    req.method = "GET";
    req.path = path;
    req.headers = std::move(headers);
    auto ex = std::make_shared<FakeExchange>(io_, req);
    // Keeps run_one_for waiting while the answer is still on the pool's thread.
    auto work = boost::asio::make_work_guard(io_);
    const bool h = site.Handle(ex);
    if (handled) *handled = h;
    io_.restart();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (h && ex->status() == 0 && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_for(std::chrono::milliseconds(100));
    }
    return ex;
  }
  static void ExpectSecurityHeaders(const FakeExchange& ex) {
    EXPECT_EQ(ex.ResponseHeader("content-security-policy"), std::string(kContentSecurityPolicy));
    EXPECT_EQ(ex.ResponseHeader("x-content-type-options"), "nosniff");
    EXPECT_EQ(ex.ResponseHeader("referrer-policy"), "no-referrer");
    EXPECT_EQ(ex.ResponseHeader("x-frame-options"), "DENY");
  }

  boost::asio::io_context io_;
  boost::asio::thread_pool pool_{1};
  store::testing::FakeDocumentStore store_;
  FakePeers peers_;
};

TEST_F(ConsoleSiteTest, ServesIndexAndFilesWithTheirTypesAndSecurityHeaders) {
  ConsoleSite site(Options());
  auto index = Get(site, "/console/");
  EXPECT_EQ(index->status(), 200);
  EXPECT_EQ(index->body(), "<!doctype html>");
  EXPECT_EQ(index->ResponseHeader("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index->ResponseHeader("cache-control"), "no-cache");
  EXPECT_EQ(index->ResponseHeader("etag"), "\"abc\"");
  EXPECT_FALSE(index->ResponseHeader("content-encoding"));
  ExpectSecurityHeaders(*index);

  auto js = Get(site, "/console/console.js");
  EXPECT_EQ(js->status(), 200);
  EXPECT_EQ(js->body(), "console.log(1)");
  EXPECT_EQ(js->ResponseHeader("content-type"), "text/javascript; charset=utf-8");

  auto bare = Get(site, "/console");
  EXPECT_EQ(bare->status(), 308);
  EXPECT_EQ(bare->ResponseHeader("location"), "/console/");

  auto missing = Get(site, "/console/nope.js");
  EXPECT_EQ(missing->status(), 404);
  ExpectSecurityHeaders(*missing);
  auto traversal = Get(site, "/console/../metrics");
  EXPECT_EQ(traversal->status(), 404);
}

TEST_F(ConsoleSiteTest, LeavesOtherPathsToTheRouter) {
  ConsoleSite site(Options());
  for (const char* path :
       {"/", "/consoles", "/metrics", "/peat.sidecar.v1.PeatSidecar/GetStatus"}) {
    bool handled = true;
    auto ex = Get(site, path, {}, &handled);
    EXPECT_FALSE(handled) << path;
    EXPECT_EQ(ex->status(), 0) << path;
  }
}

TEST_F(ConsoleSiteTest, GzipWhenAcceptedAndNotWhenRefused) {
  ConsoleSite site(Options());
  auto gz = Get(site, "/console/", {{"accept-encoding", "br, gzip, deflate"}});
  EXPECT_EQ(gz->body(), "GZ-INDEX");
  EXPECT_EQ(gz->ResponseHeader("content-encoding"), "gzip");
  EXPECT_EQ(gz->ResponseHeader("vary"), "accept-encoding");
  auto star = Get(site, "/console/", {{"accept-encoding", "*"}});
  EXPECT_EQ(star->body(), "GZ-INDEX");
  auto refused = Get(site, "/console/", {{"accept-encoding", "gzip;q=0, identity"}});
  EXPECT_EQ(refused->body(), "<!doctype html>");
  EXPECT_FALSE(refused->ResponseHeader("content-encoding"));
  auto weighted = Get(site, "/console/", {{"accept-encoding", "gzip; q=0.5"}});
  EXPECT_EQ(weighted->body(), "GZ-INDEX");
}

TEST_F(ConsoleSiteTest, AMatchingETagAnswers304WithoutABody) {
  ConsoleSite site(Options());
  auto same = Get(site, "/console/console.js", {{"if-none-match", "\"def\""}});
  EXPECT_EQ(same->status(), 304);
  EXPECT_EQ(same->body(), "");
  auto other = Get(site, "/console/console.js", {{"if-none-match", "\"abc\""}});
  EXPECT_EQ(other->status(), 200);
}

TEST_F(ConsoleSiteTest, OffByFlagOrNotBuiltAnswers404SayingWhy) {
  auto options = Options();
  options.enabled = false;
  ConsoleSite off(options);
  for (const char* path : {"/console/", "/console", "/console/api/mesh", "/console/console.js"}) {
    auto ex = Get(off, path);
    EXPECT_EQ(ex->status(), 404) << path;
    EXPECT_NE(ex->body().find("--console=false"), std::string::npos) << ex->body();
  }
  options = Options();
  options.assets = {};
  ConsoleSite unbuilt(options);
  auto ex = Get(unbuilt, "/console/");
  EXPECT_EQ(ex->status(), 404);
  EXPECT_NE(ex->body().find("built without the web console"), std::string::npos);
}

TEST_F(ConsoleSiteTest, MeshOverviewCombinesPeersAndCollectionCounts) {
  for (auto [c, d] : {std::pair{"sensors", "a"}, {"sensors", "b"}, {"alerts", "x"}}) {
    Status put = InternalError("not called");
    store_.Put(c, d, "{}", [&put](Status st) { put = st; });  // inline mode: done before return
    ASSERT_TRUE(put.ok()) << put.ToString();
  }
  PeerLink link;
  link.unacked_changes = 3;
  link.last_contact_ms = 850;
  link.rtt_ms = 0.5;
  link.bytes_sent = 10;
  link.bytes_received = 20;
  peers_.views = {PeerView{std::string(64, 'b'), {"10.0.0.2:4433"}, true, link},
                  PeerView{std::string(64, 'c'), {"10.0.0.3:4433"}, false, std::nullopt}};
  ConsoleSite site(Options());
  auto ex = Get(site, "/console/api/mesh");
  ASSERT_EQ(ex->status(), 200) << ex->body();
  EXPECT_EQ(ex->ResponseHeader("content-type"), "application/json");
  EXPECT_EQ(ex->ResponseHeader("cache-control"), "no-store");
  ExpectSecurityHeaders(*ex);
  auto j = nlohmann::json::parse(ex->body());
  EXPECT_EQ(j["node_id"], std::string(64, 'a'));
  EXPECT_EQ(j["feed_seq"], 7);
  ASSERT_EQ(j["peers"].size(), 2u);
  EXPECT_EQ(j["peers"][0]["connected"], true);
  EXPECT_EQ(j["peers"][0]["lag_changes"], 3);
  EXPECT_EQ(j["peers"][0]["behind_changes"], 0);
  EXPECT_EQ(j["peers"][0]["last_contact_ms"], 850);
  EXPECT_EQ(j["peers"][0]["rtt_ms"], 0.5);
  EXPECT_EQ(j["peers"][0]["bytes_sent"], 10);
  EXPECT_EQ(j["peers"][0]["bytes_received"], 20);
  EXPECT_EQ(j["peers"][0]["addresses"], nlohmann::json::array({"10.0.0.2:4433"}));
  EXPECT_EQ(j["peers"][1]["connected"], false);
  EXPECT_TRUE(j["peers"][1]["lag_changes"].is_null());
  EXPECT_TRUE(j["peers"][1]["last_contact_ms"].is_null());
  EXPECT_EQ(j["collections"], nlohmann::json::parse(R"([{"name":"alerts","documents":1},
                                      {"name":"sensors","documents":2}])"));
}

TEST_F(ConsoleSiteTest, AStoreFailureIsA503WithTheReason) {
  store_.FailNextRead(UnavailableError("disk gone"));
  ConsoleSite site(Options());
  auto ex = Get(site, "/console/api/mesh");
  EXPECT_EQ(ex->status(), 503);
  EXPECT_NE(ex->body().find("disk gone"), std::string::npos) << ex->body();
}

TEST(MeshOverviewJsonTest, InvalidUtf8InNamesIsReplacedNotThrown) {
  std::string json = MeshOverviewJson("n", 0, {}, {{"bad\xff", 1}});
  auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["collections"][0]["name"], "bad\xef\xbf\xbd");
}

}  // namespace
}  // namespace peat::console

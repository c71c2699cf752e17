// AgentClient against the fake agent of WATCHER.md §7 (tests/integration/lib/fake_agent.mjs run
// as a CLI with node): h2c, TLS, mTLS, every failure mode and its `result`, certificate rotation.
// Without node the tests are SKIPPED (loudly), never passed.
#include "watcher/agent_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fake_agent_process.h"
#include "temp_dir.h"
#include "watcher/agent_responses.h"

namespace peat::watcher {
namespace {

using ::testing::HasSubstr;
using Ms = std::chrono::milliseconds;
namespace asio = boost::asio;
namespace http = boost::beast::http;

// The fakes of this file, each started on first use and shared by the tests that run in the same
// process (CTest runs each test alone: a test starts only the fakes it uses).
struct Fakes {
  testing::TempDir dir{"agent-client-test"};
  std::string certs = dir.path() + "/pki";
  std::unique_ptr<FakeAgent> h2c_, tls_, mtls_;
  std::string Cert(const std::string& name) const { return certs + "/" + name; }
  // The first TLS fake makes the certificates in certs/, a second reuses them.
  FakeAgent* Get(std::unique_ptr<FakeAgent>& slot, std::vector<std::string> args) {
    if (!slot) {
      slot = FakeAgent::Start(std::move(args));
    } else {
      EXPECT_THAT(slot->Control(R"({"op":"reset"})"), HasSubstr("\"ok\":true"));
    }
    return slot.get();
  }
};

Fakes* fakes = nullptr;

class AgentClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (HaveNode()) fakes = new Fakes();
  }
  static void TearDownTestSuite() {
    delete fakes;
    fakes = nullptr;
  }
  void SetUp() override {
    if (fakes == nullptr) GTEST_SKIP() << "SKIPPED: node is not installed; the fake agent needs it";
  }
  // The fake of each kind, started (or reset to its defaults) for this test.
  FakeAgent& H2cFake() { return Checked(fakes->Get(fakes->h2c_, {})); }
  FakeAgent& TlsFake() {
    return Checked(fakes->Get(fakes->tls_, {"--tls", "--certs-dir", fakes->certs}));
  }
  FakeAgent& MtlsFake() {
    return Checked(fakes->Get(fakes->mtls_, {"--mtls", "--certs-dir", fakes->certs}));
  }
  static FakeAgent& Checked(FakeAgent* f) {
    if (f == nullptr) {
      ADD_FAILURE() << "the fake agent did not start";
      std::abort();
    }
    return *f;
  }

  static AgentClientOptions Opts(std::string addr, AgentTlsFiles tls = {}) {
    AgentClientOptions o;
    o.addr = std::move(addr);
    o.tls = std::move(tls);
    return o;
  }
  std::unique_ptr<AgentClient> Client(AgentClientOptions o) {
    StatusOr<std::unique_ptr<AgentClient>> client = AgentClient::Create(io_, std::move(o));
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    if (!client.ok()) return nullptr;
    return std::move(*client);
  }
  static std::string H2c(const FakeAgent& f) {
    return "http://127.0.0.1:" + std::to_string(f.port());
  }
  static std::string Tls(const FakeAgent& f, const std::string& host = "127.0.0.1") {
    return "https://" + host + ":" + std::to_string(f.port());
  }
  static AgentTlsFiles Mtls(const std::string& cert = "client", const std::string& ca = "ca.crt") {
    return {fakes->Cert(cert + ".crt"), fakes->Cert(cert + ".key"), fakes->Cert(ca)};
  }

  // Runs the calls at once; the replies in the same order.
  std::vector<AgentReply> Run(AgentClient& client, const std::vector<AgentCall>& calls) {
    std::vector<AgentReply> replies(calls.size());
    size_t done = 0;
    for (size_t i = 0; i < calls.size(); ++i) {
      client.Call(calls[i], [&replies, &done, i](AgentReply r) {
        replies[i] = std::move(r);
        ++done;
      });
    }
    io_.restart();
    while (done < calls.size() && io_.run_one() > 0) {
    }
    EXPECT_EQ(done, calls.size());
    EXPECT_EQ(client.in_flight(), 0u);
    return replies;
  }
  AgentReply RunOne(AgentClient& client, AgentCall call) { return Run(client, {call})[0]; }

  asio::io_context io_;
};

constexpr AgentCall kAll[] = {AgentCall::kStatus, AgentCall::kListPackages,
                              AgentCall::kListPulledPackages};

TEST_F(AgentClientTest, H2cAnswersAllThreeCallsWithTheRightRequests) {
  FakeAgent& fake = H2cFake();
  auto client = Client(Opts(H2c(fake) + "/"));
  ASSERT_NE(client, nullptr);
  auto replies = Run(*client, {kAll[0], kAll[1], kAll[2]});
  for (const AgentReply& r : replies) {
    EXPECT_EQ(r.result, CallResult::kOk) << r.message;
    EXPECT_EQ(r.http_status, 200);
    EXPECT_EQ(r.protocol, "h2c");
  }
  auto status = ParseAgentStatus(replies[0].body);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->version, "0.9.1");
  auto packages = ParsePackageList(replies[1].body);
  ASSERT_TRUE(packages.ok());
  EXPECT_EQ(packages->packages.size(), 2u);
  auto pulled = ParsePulledList(replies[2].body);
  ASSERT_TRUE(pulled.ok());
  EXPECT_EQ(pulled->TagCount(), 1u);

  const std::string records = fake.Control(R"({"op":"records"})");
  EXPECT_THAT(records, HasSubstr(R"("method":"GET","path":"/status")"));
  EXPECT_THAT(records,
              HasSubstr(R"("method":"POST","path":"/zarfapi.v1.ZarfAPIService/ListPackages")"));
  EXPECT_THAT(records, HasSubstr(R"("path":"/registryapi.v1.RegistryService/ListPulledPackages")"));
  EXPECT_THAT(records, HasSubstr(R"("content-type":"application/json")"));
  EXPECT_THAT(records, HasSubstr(R"("connect-protocol-version":"1")"));
  EXPECT_THAT(records, HasSubstr(R"("accept":"application/json")"));
  EXPECT_THAT(records, HasSubstr(R"("user-agent":"peat-node/)"));
  EXPECT_THAT(records, HasSubstr(R"("body":"{}")"));
  EXPECT_THAT(records, HasSubstr(R"("httpVersion":"2.0")"));
}

TEST_F(AgentClientTest, TlsWithTheSystemStoreOrThePinnedCa) {
  FakeAgent& fake = TlsFake();
  // https:// without TLS flags: the system store, which does not know the fake's CA …
  auto client = Client(Opts(Tls(fake)));
  ASSERT_NE(client, nullptr);
  AgentReply r = RunOne(*client, AgentCall::kStatus);
  EXPECT_EQ(r.result, CallResult::kTlsError) << r.message;
  // … unless OpenSSL's default file (SSL_CERT_FILE) is the fake's CA: then ok, and no client
  // certificate is sent.
  ::setenv("SSL_CERT_FILE", fakes->Cert("ca.crt").c_str(), 1);
  auto system = Client(Opts(Tls(fake)));
  ::unsetenv("SSL_CERT_FILE");
  ASSERT_NE(system, nullptr);
  r = RunOne(*system, AgentCall::kStatus);
  EXPECT_EQ(r.result, CallResult::kOk) << r.message;
  EXPECT_THAT(fake.Control(R"({"op":"records"})"), HasSubstr(R"("clientCertSubject":null)"));

  // The CA pinned, the host a name (SNI + name verification).
  auto pinned = Client(Opts(Tls(fake, "localhost"), Mtls()));
  ASSERT_NE(pinned, nullptr);
  r = RunOne(*pinned, AgentCall::kListPackages);
  EXPECT_EQ(r.result, CallResult::kOk) << r.message;
  EXPECT_EQ(r.protocol, "h2");
}

TEST_F(AgentClientTest, Http1FallbackWhenTheAgentDoesNotSelectH2) {
  FakeAgent& fake = MtlsFake();
  AgentClientOptions o = Opts(Tls(fake), Mtls());
  o.offer_h2 = false;  // the agent then answers over HTTP/1.1 (allowHTTP1)
  auto client = Client(std::move(o));
  ASSERT_NE(client, nullptr);
  fake.Behaviour("pulled", "status:503");
  fake.Behaviour("packages", "huge:8");
  auto replies = Run(*client, {kAll[0], kAll[1], kAll[2]});
  EXPECT_EQ(replies[0].result, CallResult::kOk) << replies[0].message;
  EXPECT_EQ(replies[0].protocol, "http/1.1");
  EXPECT_TRUE(ParseAgentStatus(replies[0].body).ok());
  EXPECT_EQ(replies[1].result, CallResult::kParseError) << replies[1].message;
  EXPECT_EQ(replies[2].result, CallResult::kHttpError) << replies[2].message;
  EXPECT_THAT(replies[2].message, HasSubstr("HTTP 503, Connect code unavailable"));
  const std::string records = fake.Control(R"({"op":"records"})");
  EXPECT_THAT(records, HasSubstr(R"("httpVersion":"1.1")"));
  EXPECT_THAT(records, HasSubstr(R"("connect-protocol-version":"1")"));
  EXPECT_THAT(records, HasSubstr("CN=peat-node-watcher"));
}

TEST_F(AgentClientTest, MtlsPresentsTheClientCertificate) {
  FakeAgent& fake = MtlsFake();
  auto client = Client(Opts(Tls(fake), Mtls()));
  ASSERT_NE(client, nullptr);
  AgentReply r = RunOne(*client, AgentCall::kStatus);
  EXPECT_EQ(r.result, CallResult::kOk) << r.message;
  EXPECT_EQ(r.protocol, "h2");
  EXPECT_THAT(fake.Control(R"({"op":"records"})"), HasSubstr("CN=peat-node-watcher"));
}

TEST_F(AgentClientTest, WrongServerCaAndWrongClientCaAreTlsErrors) {
  // We pin other-ca; the agent's certificate is signed by ca.
  FakeAgent& fake = MtlsFake();
  auto wrong_server = Client(Opts(Tls(fake), Mtls("client", "other-ca.crt")));
  ASSERT_NE(wrong_server, nullptr);
  AgentReply r = RunOne(*wrong_server, AgentCall::kStatus);
  EXPECT_EQ(r.result, CallResult::kTlsError) << r.message;
  EXPECT_THAT(r.message, HasSubstr("certificate verify failed"));
  // Our certificate is signed by other-ca, which the agent does not trust (TLS 1.3: the client
  // learns it on its first read).
  auto wrong_client = Client(Opts(Tls(fake), Mtls("other-client")));
  ASSERT_NE(wrong_client, nullptr);
  r = RunOne(*wrong_client, AgentCall::kStatus);
  EXPECT_EQ(r.result, CallResult::kTlsError) << r.message;
  EXPECT_THAT(fake.Control(R"({"op":"counts"})"), HasSubstr(R"("status":0)"));
}

TEST_F(AgentClientTest, FailureModesAreClassified) {
  struct Case {
    std::string behaviour;
    CallResult want;
    std::string in_message;
  };
  // Three at a time, one per route, so the two slow ones (hang, drip) overlap.
  const std::vector<std::vector<Case>> rounds = {
      {{"status:500", CallResult::kHttpError, "HTTP 500, Connect code internal"},
       {"garbage", CallResult::kOk, ""},
       {"truncated", CallResult::kParseError, "cut short"}},
      {{"huge:8", CallResult::kParseError, "over 4194304 bytes"},
       {"reset", CallResult::kHttpError, "reset the stream"},
       {"close", CallResult::kConnectError, "before an answer"}},
      {{"hang", CallResult::kTimeout, "no complete answer within 5000 ms"},
       {"drip", CallResult::kTimeout, "no complete answer"},
       {"status:404", CallResult::kHttpError, "Connect code not_found"}},
  };
  FakeAgent& fake = H2cFake();
  auto client = Client(Opts(H2c(fake)));
  ASSERT_NE(client, nullptr);
  for (const auto& round : rounds) {
    for (size_t i = 0; i < round.size(); ++i) {
      const char* route = i == 0 ? "status" : i == 1 ? "packages" : "pulled";
      fake.Behaviour(route, round[i].behaviour);
    }
    const auto start = std::chrono::steady_clock::now();
    auto replies = Run(*client, {kAll[0], kAll[1], kAll[2]});
    EXPECT_LT(std::chrono::steady_clock::now() - start, Ms(6000));
    for (size_t i = 0; i < round.size(); ++i) {
      SCOPED_TRACE(round[i].behaviour);
      EXPECT_EQ(CallResultLabel(replies[i].result), CallResultLabel(round[i].want))
          << replies[i].message;
      EXPECT_THAT(replies[i].message, HasSubstr(round[i].in_message));
      EXPECT_LE(replies[i].elapsed, Ms(5500));
    }
  }
  // garbage is a complete 2xx answer: the parser makes it the call's parse_error.
  fake.Behaviour("packages", "garbage");
  AgentReply r = RunOne(*client, AgentCall::kListPackages);
  ASSERT_EQ(r.result, CallResult::kOk);
  EXPECT_FALSE(ParsePackageList(r.body).ok());
}

TEST_F(AgentClientTest, ConnectErrorWhenNothingListens) {
  // A port nobody listens on: bind one, read its number, close it.
  asio::ip::tcp::acceptor probe(io_, {asio::ip::make_address("127.0.0.1"), 0});
  const int port = probe.local_endpoint().port();
  probe.close();
  auto client = Client(Opts("http://127.0.0.1:" + std::to_string(port)));
  ASSERT_NE(client, nullptr);
  AgentReply r = RunOne(*client, AgentCall::kStatus);
  EXPECT_EQ(r.result, CallResult::kConnectError) << r.message;
  EXPECT_THAT(r.message, HasSubstr("connect"));
}

TEST_F(AgentClientTest, CancelAllEndsCallsAtOnce) {
  FakeAgent& fake = H2cFake();
  fake.Behaviour("all", "hang");
  auto client = Client(Opts(H2c(fake)));
  ASSERT_NE(client, nullptr);
  std::vector<AgentReply> replies;
  for (AgentCall c : kAll) client->Call(c, [&](AgentReply r) { replies.push_back(std::move(r)); });
  // Let the requests reach the agent (it records each), then drain.
  const auto deadline = std::chrono::steady_clock::now() + Ms(3000);
  while (fake.Control(R"({"op":"records"})").find("ListPulledPackages") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    io_.run_for(Ms(20));
  }
  EXPECT_EQ(client->in_flight(), 3u);
  const auto start = std::chrono::steady_clock::now();
  client->CancelAll();
  EXPECT_EQ(client->in_flight(), 0u);
  io_.restart();
  while (replies.size() < 3 && io_.run_one() > 0) {
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, Ms(500));
  ASSERT_EQ(replies.size(), 3u);
  for (const AgentReply& r : replies) EXPECT_EQ(r.result, CallResult::kCancelled);
}

TEST_F(AgentClientTest, RotatedClientCertificateIsPresentedOnTheNextCall) {
  // Our own copies of the client files, which the test then replaces.
  testing::TempDir dir("agent-client-rotation");
  const std::string cert = dir.path() + "/tls.crt";
  const std::string key = dir.path() + "/tls.key";
  FakeAgent& fake = MtlsFake();  // makes the certificates
  std::filesystem::copy_file(fakes->Cert("client.crt"), cert);
  std::filesystem::copy_file(fakes->Cert("client.key"), key);
  auto client = Client(Opts(Tls(fake), {cert, key, fakes->Cert("ca.crt")}));
  ASSERT_NE(client, nullptr);
  AgentReply r = RunOne(*client, AgentCall::kStatus);
  ASSERT_EQ(r.result, CallResult::kOk) << r.message;

  // A new client certificate of the same CA, CN=peat-node-rotated, written next to the old files
  // and renamed over them (as a Kubernetes secret update does).
  const std::string ca = fakes->Cert("ca");
  const std::string cmd =
      "cd " + dir.path() +
      " && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout new.key "
      "-out new.csr -subj /O=peat-fake-agent/CN=peat-node-rotated 2>/dev/null && openssl x509 "
      "-req -in new.csr -CA " +
      ca + ".crt -CAkey " + ca +
      ".key -set_serial 7 -days 1 -out new.crt 2>/dev/null && mv new.key tls.key && mv new.crt "
      "tls.crt";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  r = RunOne(*client, AgentCall::kStatus);
  ASSERT_EQ(r.result, CallResult::kOk) << r.message;
  EXPECT_EQ(client->credential_reloads(), 1u);
  const std::string records = fake.Control(R"({"op":"records"})");
  EXPECT_THAT(records, HasSubstr("CN=peat-node-watcher"));
  EXPECT_THAT(records, HasSubstr("CN=peat-node-rotated"));

  // A broken replacement keeps the working credentials, counted once.
  std::filesystem::remove(cert);
  {
    std::FILE* f = std::fopen(cert.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("not a certificate\n", f);
    std::fclose(f);
  }
  for (int i = 0; i < 2; ++i) {
    r = RunOne(*client, AgentCall::kStatus);
    EXPECT_EQ(r.result, CallResult::kOk) << r.message;
  }
  EXPECT_EQ(client->credential_reload_failures(), 1u);
}

TEST_F(AgentClientTest, CreateRejectsBadAddressesAndFiles) {
  EXPECT_FALSE(AgentClient::Create(io_, Opts("agent:1")).ok());
  EXPECT_FALSE(AgentClient::Create(io_, Opts("http://a:1", Mtls())).ok());
  auto bad = AgentClient::Create(io_, Opts("https://a:1", {"/nonexistent", "", ""}));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("--agent-tls-cert: cannot read /nonexistent"));
}

}  // namespace
}  // namespace peat::watcher

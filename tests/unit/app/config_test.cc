#include "app/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "app/derive_id.h"
#include "common/host_port.h"
#include "temp_dir.h"

namespace peat {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kZeros[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
constexpr char kStars[] = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";
const std::string kPeerId = "035254fa2cdf94cdd5fbf7ef7fe27efd26e1490d7db3b03b1bf30859be447634";

struct Env {
  std::map<std::string, std::string> vars;
  GetenvFn fn() const {
    return [this](const std::string& name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
};

StatusOr<ParsedCommand> Parse(std::vector<std::string> args, const Env& env = {}) {
  return ParseArguments(args, env.fn());
}

NodeConfig RunConfig(std::vector<std::string> args, const Env& env = {}) {
  auto cmd = Parse(std::move(args), env);
  EXPECT_TRUE(cmd.ok()) << cmd.status().ToString();
  if (!cmd.ok()) return NodeConfig{};
  EXPECT_EQ(cmd->kind, ParsedCommand::Kind::kRun);
  return cmd->config;
}

std::string ErrorOf(std::vector<std::string> args, const Env& env = {}) {
  auto cmd = Parse(std::move(args), env);
  EXPECT_FALSE(cmd.ok()) << "expected an error";
  if (cmd.ok()) return "";
  EXPECT_EQ(cmd.status().code(), StatusCode::kInvalidArgument);
  return cmd.status().message();
}

// PEM files for the agent TLS flags, made once with the openssl CLI: a self-signed certificate
// (usable as client certificate and as CA), its key, another key, and a file that is not PEM.
struct AgentPki {
  testing::TempDir dir{"config-test-pki"};
  std::string cert = dir.path() + "/c.pem";
  std::string key = dir.path() + "/k.pem";
  std::string other_key = dir.path() + "/other.pem";
  std::string not_pem = dir.path() + "/junk.pem";
  std::string missing = dir.path() + "/missing.pem";
  AgentPki() {
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "
        "/CN=config-test -keyout " +
        key + " -out " + cert +
        " 2>/dev/null && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " +
        other_key + " 2>/dev/null && echo 'not a certificate' > " + not_pem;
    if (std::system(cmd.c_str()) != 0) std::abort();
  }
};

const AgentPki& Pki() {
  static const AgentPki pki;  // made on first use, removed at exit
  return pki;
}

TEST(ConfigTest, Defaults) {
  NodeConfig c = RunConfig({});
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].ToString(), "tcp://127.0.0.1:50051");
  EXPECT_EQ(c.data_dir, "/data/peat-node");
  EXPECT_TRUE(c.data_dir_is_default);
  EXPECT_EQ(c.unix_socket_mode, 0660u);
  EXPECT_EQ(c.node_id, "");
  EXPECT_EQ(c.app_id, "peat-default");
  EXPECT_TRUE(c.auto_sync);
  EXPECT_FALSE(c.print_config);
  EXPECT_EQ(c.tombstone_ttl_hours, 168u);
  EXPECT_EQ(c.gc_interval_secs, 300u);
  EXPECT_EQ(c.gc_batch_size, 1000u);
  EXPECT_EQ(c.attachment_default_priority, "routine");
  EXPECT_EQ(c.rpc_default_timeout_secs, 120u);
  EXPECT_EQ(c.rpc_max_timeout_secs, 300u);
  EXPECT_EQ(c.http2_max_concurrent_streams, 128u);
  EXPECT_EQ(c.mesh_listen, "tcp://127.0.0.1:0");  // no --shared-key: loopback only
  EXPECT_FALSE(c.allow_keyless_mesh);
  EXPECT_EQ(c.log_format, "text");
  EXPECT_EQ(c.log_level, "info");
}

TEST(ConfigTest, FlagsSetValues) {
  NodeConfig c = RunConfig({"--data-dir",
                            "/tmp/x",
                            "--node-id=alpha",
                            "--app-id",
                            "fleet",
                            "--shared-key",
                            kZeros,
                            "--encryption-key",
                            kStars,
                            "--gc-batch-size",
                            "7",
                            "--http2-max-concurrent-streams",
                            "64",
                            "--log-format",
                            "json",
                            "--log-level",
                            "debug",
                            "--attachment-default-priority",
                            "CRITICAL",
                            "--max-document-bytes",
                            "2048",
                            "--io-threads",
                            "3"});
  EXPECT_EQ(c.data_dir, "/tmp/x");
  EXPECT_EQ(c.node_id, "alpha");
  EXPECT_EQ(c.app_id, "fleet");
  EXPECT_EQ(c.shared_key_b64, kZeros);
  EXPECT_EQ(c.encryption_key_b64, kStars);
  EXPECT_EQ(c.gc_batch_size, 7u);
  EXPECT_EQ(c.http2_max_concurrent_streams, 64u);
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.attachment_default_priority, "critical");
  EXPECT_EQ(c.max_document_bytes, 2048u);
  EXPECT_EQ(c.io_threads, 3u);
}

TEST(ConfigTest, EnvironmentVariablesApply) {
  Env env{{{"PEAT_NODE_DATA_DIR", "/srv/peat"},
           {"PEAT_NODE_HTTP2_MAX_CONCURRENT_STREAMS", "32"},
           {"PEAT_NODE_AUTO_SYNC", "false"},
           {"PEAT_NODE_DISABLE_MDNS", "yes"},
           {"PEAT_NODE_SHARED_KEY", kStars}}};
  NodeConfig c = RunConfig({}, env);
  EXPECT_EQ(c.data_dir, "/srv/peat");
  EXPECT_EQ(c.http2_max_concurrent_streams, 32u);
  EXPECT_FALSE(c.auto_sync);
  EXPECT_TRUE(c.disable_mdns);
  EXPECT_EQ(c.shared_key_b64, kStars);
}

TEST(ConfigTest, EmptyEnvironmentVariableCountsAsUnset) {
  Env env{{{"PEAT_NODE_SHARED_KEY", ""},
           {"PEAT_NODE_ENCRYPTION_KEY", ""},
           {"PEAT_NODE_GC_INTERVAL_SECS", ""},
           {"PEAT_NODE_AUTO_SYNC", ""},
           {"PEAT_NODE_LISTEN", ""},
           {"PEAT_NODE_PEERS", ""},
           {"PEAT_NODE_AGENT_TLS_CERT", ""},
           {"PEAT_NODE_LOG_FORMAT", ""},
           {"PEAT_NODE_NODE_ID", ""}}};
  NodeConfig c = RunConfig({}, env);
  EXPECT_EQ(c.shared_key_b64, "");
  EXPECT_EQ(c.encryption_key_b64, "");
  EXPECT_EQ(c.gc_interval_secs, 300u);
  EXPECT_TRUE(c.auto_sync);
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].ToString(), "tcp://127.0.0.1:50051");
  EXPECT_TRUE(c.peers.empty());
  EXPECT_EQ(c.log_format, "text");
  EXPECT_EQ(c.node_id, "");
}

TEST(ConfigTest, EmptyCommandLineValueCountsAsUnset) {
  Env env{{{"PEAT_NODE_DATA_DIR", "/from/env"}}};
  NodeConfig c = RunConfig({"--data-dir", "", "--agent-addr", ""}, env);
  EXPECT_EQ(c.data_dir, "/from/env");
  EXPECT_EQ(c.agent_addr, "");
}

TEST(ConfigTest, CommandLineBeatsEnvironment) {
  Env env{{{"PEAT_NODE_DATA_DIR", "/from/env"},
           {"PEAT_NODE_GC_BATCH_SIZE", "5"},
           {"PEAT_NODE_AUTO_SYNC", "true"},
           {"PEAT_NODE_LISTEN", "tcp://127.0.0.1:1,tcp://127.0.0.1:2"},
           {"PEAT_NODE_SHARED_KEY", "this is not even base64"}}};
  NodeConfig c = RunConfig({"--data-dir", "/from/cli", "--gc-batch-size", "9", "--auto-sync", "no",
                            "--listen", "127.0.0.1:3", "--shared-key", kZeros},
                           env);
  EXPECT_EQ(c.data_dir, "/from/cli");
  EXPECT_EQ(c.gc_batch_size, 9u);
  EXPECT_FALSE(c.auto_sync);
  ASSERT_EQ(c.listen.size(), 1u);  // the CLI list replaces the env list
  EXPECT_EQ(c.listen[0].ToString(), "tcp://127.0.0.1:3");
  EXPECT_EQ(c.shared_key_b64, kZeros);  // the bad env value is never looked at
}

TEST(ConfigTest, LastOccurrenceOfAScalarFlagWins) {
  NodeConfig c = RunConfig({"--data-dir", "/a", "--data-dir", "/b"});
  EXPECT_EQ(c.data_dir, "/b");
}

TEST(ConfigTest, ListEnvironmentVariablesAreCommaSeparated) {
  const std::string peer2 = "70de0ba0781a5e9698106335b7fa8733813db4063c110a375f0c5ed798f4e6f9";
  Env env{{{"PEAT_NODE_PEERS", kPeerId + "@10.0.0.1:4000, " + peer2 + "@node-b.local:4001,"},
           {"PEAT_NODE_LISTEN", "tcp://127.0.0.1:7000,unix:///run/peat/api.sock"},
           {"PEAT_NODE_ATTACHMENT_ROOTS", "media=/srv/media,logs=/var/log/peat"}}};
  NodeConfig c = RunConfig({}, env);
  ASSERT_EQ(c.peers.size(), 2u);
  EXPECT_EQ(c.peers[0].endpoint_id, kPeerId);
  EXPECT_EQ(c.peers[0].address, "10.0.0.1:4000");
  EXPECT_EQ(c.peers[1].endpoint_id, peer2);
  EXPECT_EQ(c.peers[1].address, "node-b.local:4001");
  ASSERT_EQ(c.listen.size(), 2u);
  EXPECT_EQ(c.listen[0].ToString(), "tcp://127.0.0.1:7000");
  EXPECT_EQ(c.listen[1].ToString(), "unix:///run/peat/api.sock");
  ASSERT_EQ(c.attachment_roots.size(), 2u);
  EXPECT_EQ(c.attachment_roots.at("media"), "/srv/media");
  EXPECT_EQ(c.attachment_roots.at("logs"), "/var/log/peat");
}

TEST(ConfigTest, SingularListEnvNamesAreAcceptedToo) {
  Env env{{{"PEAT_NODE_ATTACHMENT_ROOT", "a=/x"}, {"PEAT_NODE_PEER", kPeerId + "@h:1"}}};
  NodeConfig c = RunConfig({}, env);
  EXPECT_EQ(c.attachment_roots.size(), 1u);
  EXPECT_EQ(c.peers.size(), 1u);
  Env both{{{"PEAT_NODE_ATTACHMENT_ROOT", "a=/x"}, {"PEAT_NODE_ATTACHMENT_ROOTS", "b=/y"}}};
  EXPECT_THAT(ErrorOf({}, both), HasSubstr("--attachment-root"));
}

TEST(ConfigTest, RepeatedListFlags) {
  NodeConfig c =
      RunConfig({"--listen", "tcp://127.0.0.1:1", "--listen", "unix:///tmp/a.sock", "--peer",
                 kPeerId + "@[::1]:9", "--attachment-root", "a=/x", "--attachment-root", "b=/y"});
  ASSERT_EQ(c.listen.size(), 2u);
  ASSERT_EQ(c.peers.size(), 1u);
  EXPECT_EQ(c.peers[0].address, "[::1]:9");
  EXPECT_EQ(c.attachment_roots.size(), 2u);
}

TEST(ConfigTest, ListenAddressForms) {
  struct Case {
    const char* in;
    ListenAddress::Kind kind;
    const char* host;
    uint16_t port;
    const char* path;
    const char* canonical;
  };
  const Case cases[] = {
      {"tcp://127.0.0.1:50051", ListenAddress::Kind::kTcp, "127.0.0.1", 50051, "",
       "tcp://127.0.0.1:50051"},
      {"0.0.0.0:8080", ListenAddress::Kind::kTcp, "0.0.0.0", 8080, "", "tcp://0.0.0.0:8080"},
      {"[::1]:9000", ListenAddress::Kind::kTcp, "::1", 9000, "", "tcp://[::1]:9000"},
      {"tcp://[::]:0", ListenAddress::Kind::kTcp, "::", 0, "", "tcp://[::]:0"},
      {"localhost:1234", ListenAddress::Kind::kTcp, "localhost", 1234, "", "tcp://localhost:1234"},
      {":7000", ListenAddress::Kind::kTcp, "0.0.0.0", 7000, "", "tcp://0.0.0.0:7000"},
      {"unix:///run/peat/api.sock", ListenAddress::Kind::kUnix, "", 0, "/run/peat/api.sock",
       "unix:///run/peat/api.sock"},
  };
  for (const auto& c : cases) {
    auto a = ParseListenAddress(c.in);
    ASSERT_TRUE(a.ok()) << c.in << ": " << a.status().ToString();
    EXPECT_EQ(a->kind, c.kind) << c.in;
    EXPECT_EQ(a->host, c.host) << c.in;
    EXPECT_EQ(a->port, c.port) << c.in;
    EXPECT_EQ(a->unix_path, c.path) << c.in;
    EXPECT_EQ(a->ToString(), c.canonical) << c.in;
  }
}

TEST(ConfigTest, BadListenAddressesNameTheFlag) {
  for (const char* bad :
       {"unix://relative/path.sock", "unix://", "http://0.0.0.0:80", "127.0.0.1", "127.0.0.1:70000",
        "127.0.0.1:abc", "::1:9000", "[::1]9000", "[zz::1]:80", "999.1.1.1:80", "bad host:80"}) {
    EXPECT_THAT(ErrorOf({"--listen", bad}), HasSubstr("--listen")) << bad;
  }
  EXPECT_THAT(ErrorOf({"--listen", "unix://relative.sock"}), HasSubstr("absolute"));
  EXPECT_THAT(ErrorOf({}, Env{{{"PEAT_NODE_LISTEN", "unix://rel"}}}),
              HasSubstr("--listen (from PEAT_NODE_LISTEN)"));
  EXPECT_THAT(ErrorOf({"--listen", "127.0.0.1:1", "--listen", "tcp://127.0.0.1:1"}),
              HasSubstr("duplicate"));
}

TEST(ConfigTest, PeerAddressesFollowTheGrammarConnectPeerUses) {
  // The same inputs as mesh_test's ConnectPeerRefusesWhatPeerRefusesAndSaysWhy: --peer refuses
  // each with the reason common/host_port gives, which is the reason ConnectPeer gives there.
  for (const std::string bad :
       {"bad host:4002", "bad!host:4002", "999.1.1.1:4002", "[zz::1]:4002", "::1:4002",
        "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1", ":4002"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ErrorOf({"--peer", kPeerId + "@" + bad}),
              "--peer: " + ParseHostPort(bad).status().message());
  }
  for (const std::string good : {"10.0.0.2:4433", "[fd00::2]:4433", "peer-b.local:4433"}) {
    SCOPED_TRACE(good);
    ASSERT_EQ(RunConfig({"--peer", kPeerId + "@" + good}).peers.size(), 1u);
  }
}

TEST(ConfigTest, BooleanForms) {
  for (const char* t : {"true", "1", "yes", "TRUE", "Yes", "on"}) {
    EXPECT_TRUE(RunConfig({"--disable-mdns", t}).disable_mdns) << t;
    EXPECT_TRUE(RunConfig({}, Env{{{"PEAT_NODE_DISABLE_MDNS", t}}}).disable_mdns) << t;
  }
  for (const char* f : {"false", "0", "no", "FALSE", "off"}) {
    EXPECT_FALSE(RunConfig({"--auto-sync", f}).auto_sync) << f;
    EXPECT_FALSE(RunConfig({"--auto-sync=" + std::string(f)}).auto_sync) << f;
    EXPECT_FALSE(RunConfig({}, Env{{{"PEAT_NODE_AUTO_SYNC", f}}}).auto_sync) << f;
  }
  EXPECT_TRUE(RunConfig({"--disable-mdns"}).disable_mdns);  // bare flag = true
  EXPECT_TRUE(RunConfig({"--print-config", "--disable-mdns"}).print_config);
  EXPECT_THAT(ErrorOf({"--auto-sync", "maybe"}), HasSubstr("--auto-sync"));
  EXPECT_THAT(ErrorOf({}, Env{{{"PEAT_NODE_AUTO_SYNC", "2"}}}),
              HasSubstr("--auto-sync (from PEAT_NODE_AUTO_SYNC)"));
}

TEST(ConfigTest, IrohUdpPortAliasSetsTheMeshPort) {
  EXPECT_EQ(RunConfig({"--iroh-udp-port", "11204"}).mesh_listen, "tcp://127.0.0.1:11204");
  EXPECT_EQ(RunConfig({}, Env{{{"PEAT_NODE_IROH_UDP_PORT", "11205"}}}).mesh_listen,
            "tcp://127.0.0.1:11205");
  // Keeps the host of --mesh-listen.
  EXPECT_EQ(RunConfig({"--mesh-listen", "tcp://127.0.0.2:0", "--iroh-udp-port", "7"}).mesh_listen,
            "tcp://127.0.0.2:7");
  EXPECT_EQ(RunConfig({"--mesh-listen", "127.0.0.2:9"}).mesh_listen, "tcp://127.0.0.2:9");
  // CLI beats env across the two spellings.
  EXPECT_EQ(RunConfig({"--mesh-listen", "tcp://127.0.0.1:4000"},
                      Env{{{"PEAT_NODE_IROH_UDP_PORT", "11204"}}})
                .mesh_listen,
            "tcp://127.0.0.1:4000");
  EXPECT_EQ(RunConfig({"--iroh-udp-port", "5000"},
                      Env{{{"PEAT_NODE_MESH_LISTEN", "tcp://127.0.0.1:4000"}}})
                .mesh_listen,
            "tcp://127.0.0.1:5000");
  // Same level, different ports: an error naming the alias.
  EXPECT_THAT(ErrorOf({"--mesh-listen", "tcp://127.0.0.1:4000", "--iroh-udp-port", "5000"}),
              HasSubstr("--iroh-udp-port"));
  EXPECT_THAT(ErrorOf({"--iroh-udp-port", "65536"}), HasSubstr("--iroh-udp-port"));
  EXPECT_THAT(ErrorOf({"--mesh-listen", "unix:///tmp/m.sock"}), HasSubstr("--mesh-listen"));
}

TEST(ConfigTest, KeylessMeshListensOnLoopbackOnly) {
  const std::string key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";  // 32 zero bytes
  // The default host follows the key: every interface with one, loopback without.
  EXPECT_EQ(RunConfig({"--shared-key", key}).mesh_listen, "tcp://0.0.0.0:0");
  EXPECT_EQ(RunConfig({}).mesh_listen, "tcp://127.0.0.1:0");
  EXPECT_EQ(RunConfig({"--iroh-udp-port", "4433"}).mesh_listen, "tcp://127.0.0.1:4433");
  // A loopback address is fine without a key, IPv4 (all of 127/8) or IPv6.
  EXPECT_EQ(RunConfig({"--mesh-listen", "tcp://127.9.9.9:7"}).mesh_listen, "tcp://127.9.9.9:7");
  EXPECT_EQ(RunConfig({"--mesh-listen", "tcp://[::1]:7"}).mesh_listen, "tcp://[::1]:7");
  // Anything another machine could reach is refused, naming --shared-key and the way out.
  for (const std::string exposed :
       {"tcp://0.0.0.0:4433", "tcp://10.0.0.5:4433", "tcp://[::]:4433", "tcp://[fd00::1]:4433"}) {
    SCOPED_TRACE(exposed);
    const std::string error = ErrorOf({"--mesh-listen", exposed});
    EXPECT_THAT(error, ::testing::StartsWith("--shared-key: not set"));
    EXPECT_THAT(error, HasSubstr("--allow-keyless-mesh"));
    EXPECT_THAT(ErrorOf({}, Env{{{"PEAT_NODE_MESH_LISTEN", exposed}}}),
                ::testing::StartsWith("--shared-key"));
    // With a key, or with the explicit opt-in, the address is taken as given.
    EXPECT_EQ(RunConfig({"--mesh-listen", exposed, "--shared-key", key}).mesh_listen, exposed);
    const NodeConfig opted = RunConfig({"--mesh-listen", exposed, "--allow-keyless-mesh"});
    EXPECT_EQ(opted.mesh_listen, exposed);
    EXPECT_TRUE(opted.allow_keyless_mesh);
  }
  EXPECT_TRUE(RunConfig({"--mesh-listen", "tcp://0.0.0.0:1"},
                        Env{{{"PEAT_NODE_ALLOW_KEYLESS_MESH", "true"}}})
                  .allow_keyless_mesh);
}

TEST(ConfigTest, ValidationErrorsNameTheirFlag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--shared-key", "AAAA"}, "--shared-key: must be base64 of exactly 32 bytes"},
      {{"--shared-key", "%%%notbase64%%%"}, "--shared-key: must be base64 of exactly 32 bytes"},
      {{"--encryption-key", "AAAA"}, "--encryption-key: must be base64 of exactly 32 bytes"},
      {{"--peer", "abc@10.0.0.1:1"}, "--peer"},
      {{"--peer", std::string(64, 'A') + "@10.0.0.1:1"}, "--peer"},
      {{"--peer", kPeerId}, "--peer"},
      {{"--peer", kPeerId + "@10.0.0.1"}, "--peer"},
      {{"--peer", kPeerId + "@10.0.0.1:0"}, "--peer"},
      {{"--peer", kPeerId + "@:80"}, "--peer"},
      {{"--attachment-default-priority", "urgent"}, "--attachment-default-priority"},
      {{"--attachment-root", "nopath"}, "--attachment-root"},
      {{"--attachment-root", "a=/x", "--attachment-root", "a=/y"}, "--attachment-root"},
      {{"--attachment-root", "a/b=/x"}, "--attachment-root"},
      {{"--log-format", "xml"}, "--log-format"},
      {{"--log-level", "loud"}, "--log-level"},
      {{"--gc-interval-secs", "abc"}, "--gc-interval-secs"},
      {{"--gc-interval-secs", "-5"}, "--gc-interval-secs"},
      {{"--gc-interval-secs", "0"}, "--gc-interval-secs"},
      {{"--max-connections", "99999999999999999999999"}, "--max-connections"},
      {{"--http2-max-concurrent-streams", "4294967296"}, "--http2-max-concurrent-streams"},
      {{"--io-threads", "100000"}, "--io-threads"},
      {{"--rpc-default-timeout-secs", "400"}, "--rpc-default-timeout-secs"},
      {{"--rpc-default-timeout-secs", "30", "--rpc-max-timeout-secs", "20"},
       "--rpc-default-timeout-secs: must not exceed --rpc-max-timeout-secs"},
      {{"--agent-addr", "http://a:1", "--agent-tls-cert", "/c.pem"}, "--agent-tls-cert"},
      {{"--agent-addr", "http://a:1", "--agent-tls-key", "/k.pem"}, "--agent-tls-key"},
      {{"--agent-addr", "http://a:1", "--agent-tls-ca", "/ca.pem"}, "--agent-tls-ca"},
      {{"--agent-tls-cert", "/c.pem", "--agent-tls-key", "/k.pem"}, "--agent-addr"},
      {{"--node-id", std::string("a\x01", 2)}, "--node-id"},
      {{"--node-id", std::string(2000, 'n')}, "--node-id"},
      {{"--listen"}, "--listen"},
      {{"--bogus-flag"}, "--bogus-flag"},
      {{"stray-positional"}, "unexpected argument: stray-positional"},
      {{"--unix-socket-mode", "999"}, "--unix-socket-mode: must be an octal mode"},
  };
  for (const auto& [args, expected] : cases) {
    EXPECT_THAT(ErrorOf(args), HasSubstr(expected)) << ::testing::PrintToString(args);
  }
  // Complete agent TLS config is fine.
  NodeConfig c = RunConfig({"--agent-addr", "https://agent:8443", "--agent-tls-cert", Pki().cert,
                            "--agent-tls-key", Pki().key, "--agent-tls-ca", Pki().cert});
  EXPECT_EQ(c.agent_tls_ca, Pki().cert);
}

TEST(ConfigTest, AgentAddrMustBeAnHttpUrl) {
  for (const std::string bad :
       {"agent:8080", "ftp://agent", "http://", "http://:80", "http://agent:", "http://agent:0",
        "http://agent:65536", "http://agent:80x", "http://agent/api", "http://agent:1//",
        "http://user@agent", "http://agent?x=1", "https://[::1", "https://[zz]:1", "http://a b"}) {
    EXPECT_THAT(ErrorOf({"--agent-addr", bad}), HasSubstr("--agent-addr: must be http://")) << bad;
  }
  EXPECT_EQ(RunConfig({"--agent-addr", "http://agent:8080/"}).agent_addr, "http://agent:8080");
  EXPECT_EQ(RunConfig({"--agent-addr", "http://10.0.0.1"}).agent_addr, "http://10.0.0.1");
  EXPECT_EQ(RunConfig({"--agent-addr", "https://[::1]:8443/"}).agent_addr, "https://[::1]:8443");
  // From the environment too, with the variable named.
  EXPECT_THAT(ErrorOf({}, Env{{{"PEAT_NODE_AGENT_ADDR", "agent"}}}),
              HasSubstr("PEAT_NODE_AGENT_ADDR"));
}

TEST(ConfigTest, AgentTlsFilesAreCheckedAtStartup) {
  const AgentPki& p = Pki();
  auto tls = [&](std::string addr, std::string cert, std::string key, std::string ca) {
    std::vector<std::string> args = {"--agent-addr",    addr, "--agent-tls-cert", cert,
                                     "--agent-tls-key", key};
    if (!ca.empty()) {
      args.push_back("--agent-tls-ca");
      args.push_back(ca);
    }
    return args;
  };
  EXPECT_THAT(ErrorOf(tls("http://agent:1", p.cert, p.key, "")),
              HasSubstr("--agent-tls-cert: TLS flags need an https:// --agent-addr"));
  EXPECT_THAT(ErrorOf(tls("https://agent:1", p.missing, p.key, "")),
              HasSubstr("--agent-tls-cert: cannot read " + p.missing));
  EXPECT_THAT(ErrorOf(tls("https://agent:1", p.not_pem, p.key, "")),
              HasSubstr("--agent-tls-cert: " + p.not_pem + ": no PEM certificate"));
  EXPECT_THAT(ErrorOf(tls("https://agent:1", p.cert, p.missing, "")),
              HasSubstr("--agent-tls-key: cannot read"));
  EXPECT_THAT(ErrorOf(tls("https://agent:1", p.cert, p.not_pem, "")),
              HasSubstr("--agent-tls-key: " + p.not_pem + ": no PEM private key"));
  EXPECT_THAT(ErrorOf(tls("https://agent:1", p.cert, p.other_key, "")),
              HasSubstr("--agent-tls-key: " + p.other_key + ": does not match"));
  EXPECT_THAT(ErrorOf(tls("https://agent:1", p.cert, p.key, p.missing)),
              HasSubstr("--agent-tls-ca: cannot read"));
  EXPECT_THAT(ErrorOf(tls("https://agent:1", p.cert, p.key, p.not_pem)),
              HasSubstr("--agent-tls-ca: " + p.not_pem + ": no PEM certificate"));
  // Good files, with and without a CA; https:// without any TLS flag (system trust store).
  EXPECT_EQ(RunConfig(tls("https://agent:1", p.cert, p.key, "")).agent_tls_key, p.key);
  EXPECT_EQ(RunConfig(tls("https://agent:1", p.cert, p.key, p.cert)).agent_tls_ca, p.cert);
  EXPECT_EQ(RunConfig({"--agent-addr", "https://agent"}).agent_addr, "https://agent");
}

TEST(ConfigTest, KeyErrorsNeverEchoTheKey) {
  const std::string almost = "c2VjcmV0c2VjcmV0c2VjcmV0";  // valid base64, wrong length
  std::string msg = ErrorOf({"--shared-key", almost});
  EXPECT_THAT(msg, Not(HasSubstr(almost)));
  msg = ErrorOf({}, Env{{{"PEAT_NODE_ENCRYPTION_KEY", almost}}});
  EXPECT_THAT(msg, HasSubstr("--encryption-key (from PEAT_NODE_ENCRYPTION_KEY)"));
  EXPECT_THAT(msg, Not(HasSubstr(almost)));
}

TEST(ConfigTest, RedactedConfigNeverContainsSecrets) {
  NodeConfig c = RunConfig({"--shared-key", kStars, "--encryption-key", kZeros, "--node-id", "n1",
                            "--peer", kPeerId + "@10.0.0.2:4000"});
  const std::string text = RedactedConfigText(c);
  EXPECT_THAT(text, Not(HasSubstr(kStars)));
  EXPECT_THAT(text, Not(HasSubstr(kZeros)));
  EXPECT_THAT(text, Not(HasSubstr("KioqKio")));
  EXPECT_THAT(text, HasSubstr("\"shared-key\":\"<redacted>\""));
  EXPECT_THAT(text, HasSubstr("\"encryption-key\":\"<redacted>\""));
  EXPECT_THAT(text, HasSubstr("\"node-id\":\"n1\""));
  EXPECT_THAT(text, HasSubstr(kPeerId + "@10.0.0.2:4000"));
  EXPECT_THAT(text, HasSubstr("\"listen\":[\"tcp://127.0.0.1:50051\"]"));
  EXPECT_EQ(text.find('\n'), std::string::npos);

  const std::string unset = RedactedConfigText(RunConfig({}));
  EXPECT_THAT(unset, HasSubstr("\"shared-key\":\"\""));
  EXPECT_THAT(unset, HasSubstr("\"encryption-key\":\"\""));
}

// --print-config is generated from the flag table: a new flag cannot be left out of it, and a
// secret's value cannot leak into it.
TEST(ConfigTest, PrintConfigShowsEveryFlagOfTheTableInOrder) {
  const std::vector<FlagInfo> flags = ListFlags();
  ASSERT_GT(flags.size(), 50u);
  const std::string text = RedactedConfigText(RunConfig({}));
  size_t last = 0;
  for (const FlagInfo& f : flags) {
    const std::string key = "\"" + f.name + "\":";
    const size_t at = text.find(key);
    if (!f.alias_of.empty()) {
      EXPECT_EQ(at, std::string::npos) << "alias --" << f.name << " printed on its own";
      EXPECT_NE(text.find("\"" + f.alias_of + "\":"), std::string::npos)
          << "--" << f.name << " aliases --" << f.alias_of << ", which is not printed";
      continue;
    }
    ASSERT_NE(at, std::string::npos) << "--print-config misses --" << f.name << ": " << text;
    EXPECT_TRUE(text[at - 1] == '{' || text[at - 1] == ',') << f.name;
    EXPECT_GE(at, last) << "--" << f.name << " is out of --help order";
    last = at;
  }
}

TEST(ConfigTest, PrintConfigRedactsEverySecretFlag) {
  // A valid value for every secret flag; a new secret flag must be added here.
  const std::map<std::string, std::string> values = {{"shared-key", kStars},
                                                     {"encryption-key", kZeros}};
  std::vector<std::string> args;
  for (const FlagInfo& f : ListFlags()) {
    if (!f.secret) continue;
    auto it = values.find(f.name);
    ASSERT_NE(it, values.end()) << "secret flag --" << f.name << " has no test value here";
    args.push_back("--" + f.name);
    args.push_back(it->second);
  }
  ASSERT_EQ(args.size(), 2 * values.size());
  const std::string text = RedactedConfigText(RunConfig(args));
  for (const auto& [name, value] : values) {
    EXPECT_THAT(text, HasSubstr("\"" + name + "\":\"<redacted>\""));
    EXPECT_THAT(text, Not(HasSubstr(value)));
    EXPECT_THAT(text, Not(HasSubstr(value.substr(0, 8))));
  }
}

TEST(ConfigTest, PrintConfigRunsTheNode) {
  auto cmd = Parse({"--print-config"});
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(cmd->kind, ParsedCommand::Kind::kRun);
  EXPECT_TRUE(cmd->config.print_config);
}

TEST(ConfigTest, HelpAndVersion) {
  auto help = Parse({"--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_EQ(help->kind, ParsedCommand::Kind::kHelp);
  EXPECT_THAT(help->text, HasSubstr("--http2-max-concurrent-streams"));
  EXPECT_THAT(help->text, HasSubstr("PEAT_NODE_HTTP2_MAX_CONCURRENT_STREAMS"));
  EXPECT_THAT(help->text, HasSubstr("PEAT_NODE_PEERS"));
  EXPECT_THAT(help->text, HasSubstr("derive-id"));
  // The help is produced even with a broken environment.
  auto help2 = Parse({"-h"}, Env{{{"PEAT_NODE_SHARED_KEY", "bad"}}});
  ASSERT_TRUE(help2.ok());
  EXPECT_EQ(help2->kind, ParsedCommand::Kind::kHelp);

  auto version = Parse({"--version"});
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->kind, ParsedCommand::Kind::kVersion);
  EXPECT_THAT(version->text, HasSubstr("peat-node "));
}

TEST(ConfigTest, EveryContractFlagIsAccepted) {
  // One value per flag of the CONTRACT.md configuration table (plus ours).
  NodeConfig c = RunConfig({"--listen",
                            "tcp://127.0.0.1:0",
                            "--data-dir",
                            "/d",
                            "--node-id",
                            "n",
                            "--app-id",
                            "a",
                            "--shared-key",
                            kZeros,
                            "--encryption-key",
                            kStars,
                            "--peer",
                            kPeerId + "@h:1",
                            "--auto-sync",
                            "true",
                            "--print-config",
                            "false",
                            "--tombstone-ttl-hours",
                            "1",
                            "--gc-interval-secs",
                            "2",
                            "--gc-batch-size",
                            "3",
                            "--attachment-root",
                            "r=/r",
                            "--attachment-max-file-bytes",
                            "4",
                            "--attachment-max-bundle-bytes",
                            "5",
                            "--attachment-max-files-per-bundle",
                            "6",
                            "--attachment-max-node-list-len",
                            "7",
                            "--attachment-max-concurrent-distributions",
                            "8",
                            "--attachment-default-priority",
                            "bulk",
                            "--attachment-discovery-grace-secs",
                            "9",
                            "--attachment-handle-retention-secs",
                            "10",
                            "--attachment-inbox",
                            "/in",
                            "--attachment-inbox-poll-secs",
                            "11",
                            "--attachment-outbox-watch",
                            "1",
                            "--attachment-outbox-poll-secs",
                            "12",
                            "--agent-addr",
                            "https://agent:1",
                            "--agent-poll-interval",
                            "13",
                            "--agent-refresh-secs",
                            "31",
                            "--agent-tls-cert",
                            Pki().cert,
                            "--agent-tls-key",
                            Pki().key,
                            "--agent-tls-ca",
                            Pki().cert,
                            "--disable-mdns",
                            "--enable-kubernetes-discovery",
                            "--discovery-namespace",
                            "ns",
                            "--discovery-label-selector",
                            "app=x",
                            "--discovery-annotation-prefix",
                            "x.",
                            "--discovery-interval-secs",
                            "14",
                            "--rpc-default-timeout-secs",
                            "15",
                            "--rpc-max-timeout-secs",
                            "16",
                            "--http-header-read-timeout-secs",
                            "17",
                            "--http-max-connection-idle-secs",
                            "18",
                            "--http2-keepalive-interval-secs",
                            "19",
                            "--http2-keepalive-timeout-secs",
                            "20",
                            "--http2-max-concurrent-streams",
                            "21",
                            "--max-document-bytes",
                            "22",
                            "--max-message-bytes",
                            "23",
                            "--max-connections",
                            "24",
                            "--io-threads",
                            "25",
                            "--shutdown-grace-secs",
                            "26",
                            "--log-format",
                            "json",
                            "--log-level",
                            "warn",
                            "--mesh-listen",
                            "tcp://127.0.0.1:27"});
  EXPECT_EQ(c.tombstone_ttl_hours, 1u);
  EXPECT_EQ(c.attachment_max_concurrent_distributions, 8u);
  EXPECT_EQ(c.attachment_default_priority, "bulk");
  EXPECT_TRUE(c.attachment_outbox_watch);
  EXPECT_EQ(c.agent_poll_interval, 13u);
  EXPECT_EQ(c.agent_refresh_secs, 31u);
  EXPECT_TRUE(c.enable_kubernetes_discovery);
  EXPECT_EQ(c.discovery_label_selector, "app=x");
  EXPECT_EQ(c.discovery_interval_secs, 14u);
  EXPECT_EQ(c.http2_keepalive_timeout_secs, 20u);
  EXPECT_EQ(c.max_message_bytes, 23u);
  EXPECT_EQ(c.max_connections, 24u);
  EXPECT_EQ(c.shutdown_grace_secs, 26u);
  EXPECT_EQ(c.mesh_listen, "tcp://127.0.0.1:27");
}

HealthcheckOptions HealthcheckOf(std::vector<std::string> args, const Env& env = {}) {
  args.insert(args.begin(), "healthcheck");
  auto cmd = Parse(std::move(args), env);
  EXPECT_TRUE(cmd.ok()) << cmd.status().ToString();
  if (!cmd.ok()) return {};
  EXPECT_EQ(cmd->kind, ParsedCommand::Kind::kHealthcheck);
  return cmd->healthcheck;
}

TEST(HealthcheckCommandTest, DefaultsToTheNodesDefaultListener) {
  const HealthcheckOptions h = HealthcheckOf({});
  EXPECT_EQ(h.target.ToString(), "tcp://127.0.0.1:50051");
  EXPECT_EQ(h.path, "/readyz");
  EXPECT_EQ(h.timeout_ms, 3000);
}

TEST(HealthcheckCommandTest, TakesTheFirstListenAddressLikeTheNode) {
  const Env env{{{"PEAT_NODE_LISTEN", "unix:///run/peat-node/api.sock, tcp://0.0.0.0:7000"}}};
  EXPECT_EQ(HealthcheckOf({}, env).target.ToString(), "unix:///run/peat-node/api.sock");
  // The flag beats the variable; wildcard hosts are probed on loopback.
  EXPECT_EQ(HealthcheckOf({"--listen", "tcp://0.0.0.0:7000"}, env).target.ToString(),
            "tcp://127.0.0.1:7000");
  EXPECT_EQ(HealthcheckOf({"--listen=[::]:7001"}).target.ToString(), "tcp://[::1]:7001");
  EXPECT_EQ(HealthcheckOf({}, Env{{{"PEAT_NODE_LISTEN", ""}}}).target.ToString(),
            "tcp://127.0.0.1:50051");
}

TEST(HealthcheckCommandTest, PathAndTimeout) {
  const HealthcheckOptions h = HealthcheckOf({"--path", "/livez", "--timeout-ms=250"});
  EXPECT_EQ(h.path, "/livez");
  EXPECT_EQ(h.timeout_ms, 250);
}

TEST(HealthcheckCommandTest, UsageErrors) {
  EXPECT_EQ(ErrorOf({"healthcheck", "--path", "readyz"}),
            "--path: must start with / and contain no spaces (e.g. /readyz)");
  EXPECT_THAT(ErrorOf({"healthcheck", "--path", "/a b"}), HasSubstr("--path"));
  for (const char* bad : {"0", "-1", "abc", "3600001", "1.5"}) {
    EXPECT_THAT(ErrorOf({"healthcheck", "--timeout-ms", bad}), HasSubstr("--timeout-ms: must be"))
        << bad;
  }
  EXPECT_THAT(ErrorOf({"healthcheck", "--listen", "http://x:1"}),
              HasSubstr("--listen: unsupported scheme"));
  EXPECT_THAT(ErrorOf({"healthcheck"}, Env{{{"PEAT_NODE_LISTEN", "tcp://127.0.0.1:0"}}}),
              HasSubstr("--listen (from PEAT_NODE_LISTEN): port 0 cannot be probed"));
  EXPECT_EQ(ErrorOf({"healthcheck", "--tmeout-ms", "5"}),
            "unknown flag --tmeout-ms; did you mean --timeout-ms?");
  // Node flags are not healthcheck flags.
  EXPECT_THAT(ErrorOf({"healthcheck", "--data-dir", "/x"}), HasSubstr("unknown flag --data-dir"));
}

TEST(HealthcheckCommandTest, HelpDescribesTheSubcommand) {
  auto top = Parse({"--help"});
  ASSERT_TRUE(top.ok());
  EXPECT_THAT(top->text, HasSubstr("peat-node healthcheck [--listen ADDR]"));
  auto sub = Parse({"healthcheck", "--help"});
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ(sub->kind, ParsedCommand::Kind::kHelp);
  EXPECT_THAT(sub->text, HasSubstr("--timeout-ms MS"));
  EXPECT_THAT(sub->text, HasSubstr("[env: PEAT_NODE_LISTEN]"));
}

TEST(DeriveIdCommandTest, ParsesAndRuns) {
  auto cmd = Parse({"derive-id", "--shared-key", kZeros, "--node-id", "attach-a"});
  ASSERT_TRUE(cmd.ok()) << cmd.status().ToString();
  ASSERT_EQ(cmd->kind, ParsedCommand::Kind::kDeriveId);
  EXPECT_EQ(cmd->shared_key, kZeros);
  EXPECT_EQ(cmd->node_id, "attach-a");
  std::ostringstream out, err;
  EXPECT_EQ(RunDeriveId(cmd->shared_key, cmd->node_id, out, err), 0);
  EXPECT_EQ(out.str(), "035254fa2cdf94cdd5fbf7ef7fe27efd26e1490d7db3b03b1bf30859be447634\n");
  EXPECT_EQ(err.str(), "");
}

TEST(DeriveIdCommandTest, FallsBackToEnvironment) {
  auto cmd = Parse({"derive-id", "--node-id", "node-b"}, Env{{{"PEAT_NODE_SHARED_KEY", kStars}}});
  ASSERT_TRUE(cmd.ok()) << cmd.status().ToString();
  std::ostringstream out, err;
  EXPECT_EQ(RunDeriveId(cmd->shared_key, cmd->node_id, out, err), 0);
  EXPECT_EQ(out.str(), "f0782d206a443de24a744a6682851c11b71813fd1c03c9447ddecd9a5e9df279\n");
}

TEST(DeriveIdCommandTest, Errors) {
  EXPECT_THAT(ErrorOf({"derive-id", "--node-id", "n"}), HasSubstr("--shared-key"));
  EXPECT_THAT(ErrorOf({"derive-id", "--shared-key", kZeros}), HasSubstr("--node-id"));
  EXPECT_THAT(ErrorOf({"derive-id", "--shared-key", kZeros, "--node-id", "n", "--bogus"}),
              HasSubstr("--bogus"));
  std::ostringstream out, err;
  EXPECT_EQ(RunDeriveId("AAAA", "n", out, err), 2);
  EXPECT_EQ(out.str(), "");
  EXPECT_THAT(err.str(), HasSubstr("--shared-key"));
  std::ostringstream out2, err2;
  EXPECT_EQ(RunDeriveId("", "n", out2, err2), 2);
  EXPECT_THAT(err2.str(), HasSubstr("--shared-key"));
}

TEST(ConfigTest, DefaultListenIsLoopbackOnly) {
  // The API has no authentication: by default only this machine may reach it.
  NodeConfig c = RunConfig({});
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].kind, ListenAddress::Kind::kTcp);
  EXPECT_EQ(c.listen[0].host, "127.0.0.1");
  EXPECT_EQ(c.listen[0].port, 50051);
  auto help = Parse({"--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_THAT(help->text, HasSubstr("(default: tcp://127.0.0.1:50051"));
  EXPECT_THAT(help->text, Not(HasSubstr("0.0.0.0:50051")));
}

TEST(ConfigTest, DataDirIsDefaultOnlyWhenNotGiven) {
  EXPECT_TRUE(RunConfig({}).data_dir_is_default);
  EXPECT_TRUE(RunConfig({"--data-dir", ""}).data_dir_is_default);  // empty = unset
  EXPECT_FALSE(RunConfig({"--data-dir", "/srv/x"}).data_dir_is_default);
  EXPECT_FALSE(RunConfig({"--data-dir", "/data/peat-node"}).data_dir_is_default);
  EXPECT_FALSE(RunConfig({}, Env{{{"PEAT_NODE_DATA_DIR", "/srv/y"}}}).data_dir_is_default);
}

TEST(ConfigTest, UnixSocketMode) {
  EXPECT_EQ(RunConfig({"--unix-socket-mode", "0600"}).unix_socket_mode, 0600u);
  EXPECT_EQ(RunConfig({"--unix-socket-mode=660"}).unix_socket_mode, 0660u);
  EXPECT_EQ(RunConfig({"--unix-socket-mode", "0"}).unix_socket_mode, 0u);
  EXPECT_EQ(RunConfig({"--unix-socket-mode", "0777"}).unix_socket_mode, 0777u);
  EXPECT_EQ(RunConfig({}, Env{{{"PEAT_NODE_UNIX_SOCKET_MODE", "0640"}}}).unix_socket_mode, 0640u);
  for (const char* bad : {"999", "0o660", "1777", "07777", "rw-rw----", "-1", "00660", "66 0"}) {
    EXPECT_THAT(ErrorOf({"--unix-socket-mode", bad}),
                HasSubstr("--unix-socket-mode: must be an octal mode from 0000 to 0777"))
        << bad;
  }
  EXPECT_THAT(ErrorOf({}, Env{{{"PEAT_NODE_UNIX_SOCKET_MODE", "8"}}}),
              HasSubstr("--unix-socket-mode (from PEAT_NODE_UNIX_SOCKET_MODE)"));
  EXPECT_THAT(RedactedConfigText(RunConfig({"--unix-socket-mode", "600"})),
              HasSubstr("\"unix-socket-mode\":\"0600\""));
}

TEST(ConfigTest, UnknownFlagSuggestsTheNearestOne) {
  EXPECT_EQ(ErrorOf({"--shared-kye", kZeros}),
            "unknown flag --shared-kye; did you mean --shared-key?");
  EXPECT_EQ(ErrorOf({"--lisen", "127.0.0.1:1"}), "unknown flag --lisen; did you mean --listen?");
  EXPECT_EQ(ErrorOf({"--data-dri=/x"}), "unknown flag --data-dri; did you mean --data-dir?");
  EXPECT_EQ(ErrorOf({"--dat", "/x"}), "unknown flag --dat; did you mean --data-dir?");
  EXPECT_EQ(ErrorOf({"--verison"}), "unknown flag --verison; did you mean --version?");
  EXPECT_EQ(ErrorOf({"--bogus"}), "unknown flag --bogus (see peat-node --help)");
  // After valid flags (and their values), and in the derive-id subcommand's own flag set.
  EXPECT_EQ(ErrorOf({"--data-dir", "/x", "--auto-sync", "--nodeid", "n"}),
            "unknown flag --nodeid; did you mean --node-id?");
  EXPECT_EQ(ErrorOf({"derive-id", "--shared-key", kZeros, "--nod-id", "a"}),
            "unknown flag --nod-id; did you mean --node-id?");
  EXPECT_EQ(ErrorOf({"derive-id", "--listen", "x"}),
            "unknown flag --listen (see peat-node --help)");
  // Everything after "--" is positional.
  EXPECT_THAT(ErrorOf({"--", "--shared-kye"}), HasSubstr("unexpected argument"));
}

TEST(ConfigTest, UnknownFlagErrorNeverEchoesItsValue) {
  const std::string secret = "c2VjcmV0c2VjcmV0c2VjcmV0";
  EXPECT_EQ(ErrorOf({"--shared-kye=" + secret}),
            "unknown flag --shared-kye; did you mean --shared-key?");
  EXPECT_THAT(ErrorOf({"--encryption-kee", secret}), Not(HasSubstr(secret)));
}

TEST(ConfigTest, KeyErrorsSayHowToMakeAKey) {
  const std::string recipe = "make one with: head -c 32 /dev/urandom | base64";
  EXPECT_EQ(ErrorOf({"--shared-key", "AAAA"}),
            "--shared-key: must be base64 of exactly 32 bytes (decodes to 3 bytes); " + recipe);
  EXPECT_THAT(ErrorOf({"--encryption-key", "not base64"}), HasSubstr(recipe));
  EXPECT_THAT(ErrorOf({}, Env{{{"PEAT_NODE_SHARED_KEY", "AAAA"}}}),
              HasSubstr("--shared-key (from PEAT_NODE_SHARED_KEY): must be base64"));
  std::ostringstream out, err;
  EXPECT_EQ(RunDeriveId("AAAA", "node-a", out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("--shared-key: must be base64 of exactly 32 bytes"));
  EXPECT_THAT(err.str(), HasSubstr(recipe));
}

TEST(ConfigTest, HelpShowsEveryEnvironmentVariableName) {
  auto help = Parse({"--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_THAT(help->text, HasSubstr("[env: PEAT_NODE_PEERS, PEAT_NODE_PEER]"));
  EXPECT_THAT(help->text,
              HasSubstr("[env: PEAT_NODE_ATTACHMENT_ROOTS, PEAT_NODE_ATTACHMENT_ROOT]"));
  EXPECT_THAT(help->text, HasSubstr("--unix-socket-mode MODE"));
  EXPECT_THAT(help->text, HasSubstr("[env: PEAT_NODE_UNIX_SOCKET_MODE]"));
}

}  // namespace
}  // namespace peat

#include "cli/cli_args.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "cli/node_address.h"
#include "cli/query_args.h"
#include "cli/rpc_client.h"

namespace peat::cli {
namespace {

const char* NoEnv(const char*) { return nullptr; }

StatusOr<Invocation> Parse(std::vector<std::string> args, const GetenvFn& env = NoEnv) {
  return ParseArgs(args, env);
}

TEST(ParseArgsTest, CommandPathAndPositionals) {
  auto inv = Parse({"peers", "connect", "abc", "10.0.0.1:4433", "10.0.0.2:4433"});
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_EQ(inv->command, (std::vector<std::string>{"peers", "connect"}));
  EXPECT_EQ(inv->endpoint_id, "abc");
  EXPECT_EQ(inv->addresses, (std::vector<std::string>{"10.0.0.1:4433", "10.0.0.2:4433"}));
}

TEST(ParseArgsTest, GlobalOptionsBeforeOrAfterTheCommand) {
  auto before = Parse({"--node", "unix:/tmp/a.sock", "-o", "ndjson", "get", "c", "d"});
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(before->node, "unix:/tmp/a.sock");
  EXPECT_EQ(before->output, OutputFormat::kNdjson);
  EXPECT_EQ(before->collection, "c");
  EXPECT_EQ(before->doc_id, "d");
  auto after = Parse({"peers", "list", "--output", "json", "--node", "h:1", "--timeout", "2.5"});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->output, OutputFormat::kJson);
  EXPECT_EQ(after->node, "h:1");
  EXPECT_DOUBLE_EQ(after->timeout_secs, 2.5);
}

TEST(ParseArgsTest, NodeFromEnvironmentUnlessGivenOrEmpty) {
  std::map<std::string, std::string> env{{"PEAT_NODE_ADDR", "10.1.1.1:5"}};
  auto getenv = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  EXPECT_EQ(Parse({"status"}, getenv)->node, "10.1.1.1:5");
  EXPECT_EQ(Parse({"--node", "h:2", "status"}, getenv)->node, "h:2");
  env["PEAT_NODE_ADDR"] = "";
  EXPECT_EQ(Parse({"status"}, getenv)->node, "");
}

TEST(ParseArgsTest, QueryAndObserveFlags) {
  auto q = Parse({"query", "vehicles", "-w", "fuel>0.5", "--where", "type=truck", "--any"});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->where, (std::vector<std::string>{"fuel>0.5", "type=truck"}));
  EXPECT_TRUE(q->any);
  auto o = Parse({"observe", "a", "b", "--since-now"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->collections, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(o->since_now);
}

TEST(ParseArgsTest, HelpAtEveryLevel) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"peers", "--help"},
                                        {"peers", "connect", "-h"},
                                        {"attach", "send", "--help"},
                                        {"observe", "--help"}}) {
    auto inv = Parse(args);
    ASSERT_TRUE(inv.ok()) << args.front();
    EXPECT_TRUE(inv->help);
    EXPECT_NE(inv->text.find("Usage: peat"), std::string::npos) << inv->text;
  }
  EXPECT_NE(Parse({"peers", "connect", "--help"})->text.find("endpoint-id"), std::string::npos);
}

TEST(ParseArgsTest, UsageErrorsAreInvalidArgument) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{},
        {"nope"},
        {"peers"},
        {"get", "only-collection"},
        {"status", "-o", "yaml"},
        {"put", "c", "d", "{}", "--file", "x"},
        {"--timeout", "0", "status"},
        {"attach", "send", "--root", "r", "f", "--priority", "urgent"}}) {
    auto inv = Parse(args);
    ASSERT_FALSE(inv.ok()) << (args.empty() ? "(none)" : args.front());
    EXPECT_EQ(inv.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(inv.status().message().find("--help"), std::string::npos);
  }
}

TEST(BashCompletionTest, NamesEveryCommandAndOption) {
  std::string script = BashCompletion();
  for (const char* word : {"\"/peers\"", "\"/attach/send\"", "--since-now", "--where", "--output",
                           "complete -F _peat peat", "derive-id"}) {
    EXPECT_NE(script.find(word), std::string::npos) << word;
  }
}

TEST(NodeAddressTest, AcceptedForms) {
  EXPECT_EQ(ParseNodeAddress("127.0.0.1:50051")->ToString(), "127.0.0.1:50051");
  EXPECT_EQ(ParseNodeAddress("http://localhost:8080/")->ToString(), "localhost:8080");
  EXPECT_EQ(ParseNodeAddress("tcp://[::1]:7")->host, "::1");
  EXPECT_EQ(ParseNodeAddress("unix:/run/x.sock")->unix_path, "/run/x.sock");
  EXPECT_EQ(ParseNodeAddress("unix:///run/x.sock")->unix_path, "/run/x.sock");
  EXPECT_EQ(ParseNodeAddress("/run/x.sock")->ToString(), "unix:/run/x.sock");
  for (const char* bad : {"", "unix:rel.sock", "https://h:1", "host", "h:0", "h:99999"}) {
    auto a = ParseNodeAddress(bad);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(NodeAddressTest, DefaultIsTheSocketWhenItExistsElseLoopback) {
  EXPECT_EQ(DefaultNodeAddress("/nonexistent/api.sock").ToString(), "127.0.0.1:50051");
  EXPECT_EQ(DefaultNodeAddress("/").ToString(), "127.0.0.1:50051");  // exists, not a socket
  // A bound unix socket is taken.
  char dir[] = "/tmp/peat-cli-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/api.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)), 0);
  EXPECT_EQ(DefaultNodeAddress(path).ToString(), "unix:" + path);
  close(fd);
  unlink(path.c_str());
  rmdir(dir);
}

TEST(QueryArgsTest, WhereClauses) {
  EXPECT_EQ(ToJson(*ParseWhereClause("type=truck"), false),
            R"({"eq":{"field":"type","value":"\"truck\""}})");
  EXPECT_EQ(ToJson(*ParseWhereClause("n=42"), false), R"({"eq":{"field":"n","value":"42"}})");
  EXPECT_EQ(ToJson(*ParseWhereClause("n=\"42\""), false),
            R"({"eq":{"field":"n","value":"\"42\""}})");
  EXPECT_EQ(ToJson(*ParseWhereClause("a.b<1.5"), false), R"({"lt":{"field":"a.b","value":"1.5"}})");
  EXPECT_EQ(ToJson(*ParseWhereClause("fuel>0"), false), R"({"gt":{"field":"fuel","value":"0"}})");
  EXPECT_EQ(ToJson(*ParseWhereClause("x!=null"), false),
            R"({"not":{"eq":{"field":"x","value":"null"}}})");
  for (const char* bad : {"novalue", "=1", "a!b"}) {
    EXPECT_EQ(ParseWhereClause(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(QueryArgsTest, BuildQueryCombinesAndValidates) {
  EXPECT_FALSE(BuildQuery({}, false, "")->has_value());
  auto one = BuildQuery({"a=1"}, false, "");
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE((*one)->has_eq());
  auto any = BuildQuery({"a=1", "b=2"}, true, "");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ((*any)->or_().clauses_size(), 2);
  EXPECT_EQ((*BuildQuery({"a=1", "b=2"}, false, ""))->and_().clauses_size(), 2);
  EXPECT_TRUE((*BuildQuery({}, false, R"({"all":{}})"))->has_all());
  // Rejected as the node would: both forms, not a query, an unset condition, a bad value.
  for (auto st : {BuildQuery({"a=1"}, false, R"({"all":{}})").status(),
                  BuildQuery({}, false, "{nope").status(), BuildQuery({}, false, "{}").status(),
                  BuildQuery({}, false, R"({"eq":{"field":"a","value":"not json"}})").status()}) {
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  }
}

TEST(ExitCodeTest, TheOriginalsCodes) {
  EXPECT_EQ(ExitCodeFor(StatusCode::kOk), 0);
  EXPECT_EQ(ExitCodeFor(StatusCode::kUnavailable), 1);
  EXPECT_EQ(ExitCodeFor(StatusCode::kInternal), 1);
  EXPECT_EQ(ExitCodeFor(StatusCode::kUnauthenticated), 2);
  EXPECT_EQ(ExitCodeFor(StatusCode::kPermissionDenied), 2);
  EXPECT_EQ(ExitCodeFor(StatusCode::kNotFound), 3);
  EXPECT_EQ(ExitCodeFor(StatusCode::kInvalidArgument), 4);
}

TEST(ConnectErrorStatusTest, ConnectBodyOrHttpStatus) {
  auto st = ConnectErrorStatus(400, R"({"code":"invalid_argument","message":"bad"})");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "bad");
  EXPECT_EQ(ConnectErrorStatus(404, "nope").code(), StatusCode::kUnimplemented);
  EXPECT_EQ(ConnectErrorStatus(401, "").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(ConnectErrorStatus(403, "").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ConnectErrorStatus(503, "").code(), StatusCode::kUnavailable);
  EXPECT_EQ(ConnectErrorStatus(500, "<html>").code(), StatusCode::kUnknown);
}

}  // namespace
}  // namespace peat::cli

// ParseAgentStatus / ParsePackageList / ParsePulledList: every field of WATCHER.md §3, both number
// styles, enum names, missing and null fields, unknown fields, wrong types, the 4 MiB cap.
#include "watcher/agent_responses.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace peat::watcher {
namespace {

using ::testing::HasSubstr;

// The default fixtures of the fake agent (WATCHER.md §7).
constexpr std::string_view kStatusFixture =
    R"({"version":"0.9.1","architecture":"amd64","classification":"UNCLASSIFIED",)"
    R"("k8sVersion":"v1.30.2","k8sNodeStatus":"Ready","zarfVersion":"v0.40.1",)"
    R"("runMode":"cluster","systemTime":"1767225600"})";
constexpr std::string_view kPackagesFixture =
    R"({"packages":[{"name":"nginx","version":"1.25.3","status":3,"flavor":"upstream",)"
    R"("annotations":{"team":"edge"}},{"name":"podinfo","version":"6.7.0","status":3}]})";
constexpr std::string_view kPulledFixture =
    R"({"registries":[{"name":"local","host":"registry.local","packages":[{"repoName":"r",)"
    R"("packageName":"uds-core","tags":[{"reference":"0.1.0","arch":"amd64","version":"0.1.0",)"
    R"("totalBytes":1234,"pullInfo":{"downloadedBytes":1234,"status":2}}]}]}]})";

std::string ErrorOf(const Status& s) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  return s.message();
}

TEST(AgentStatusTest, EveryField) {
  auto s = ParseAgentStatus(kStatusFixture);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->version, "0.9.1");
  EXPECT_EQ(s->architecture, "amd64");
  EXPECT_EQ(s->classification, "UNCLASSIFIED");
  EXPECT_EQ(s->k8s_version, "v1.30.2");
  EXPECT_EQ(s->k8s_node_status, "Ready");
  EXPECT_EQ(s->zarf_version, "v0.40.1");
  EXPECT_EQ(s->run_mode, "cluster");
  EXPECT_EQ(s->system_time, EnumValue(int64_t{1767225600}));  // numeric string → number
}

TEST(AgentStatusTest, MissingAndNullFieldsAreEmptyUnknownIgnored) {
  auto s = ParseAgentStatus(R"({"version":null,"extra":{"deep":[1,2,{"x":true}]},"uptime":5})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(*s, AgentStatus{});
}

TEST(AgentStatusTest, SystemTimeAsNumberOrTimestampString) {
  auto n = ParseAgentStatus(R"({"systemTime":1767225600})");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->system_time, EnumValue(int64_t{1767225600}));
  auto t = ParseAgentStatus(R"({"systemTime":"2026-01-01T00:00:00Z"})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->system_time, EnumValue(std::string("2026-01-01T00:00:00Z")));
}

TEST(AgentStatusTest, WrongTypesNameTheField) {
  EXPECT_EQ(ErrorOf(ParseAgentStatus(R"({"version":1})").status()),
            "GET /status: version must be a string; got a number");
  EXPECT_EQ(ErrorOf(ParseAgentStatus(R"({"k8sNodeStatus":{"ready":true}})").status()),
            "GET /status: k8sNodeStatus must be a string; got an object");
  EXPECT_EQ(ErrorOf(ParseAgentStatus(R"({"runMode":["a"]})").status()),
            "GET /status: runMode must be a string; got an array");
  EXPECT_EQ(ErrorOf(ParseAgentStatus(R"({"systemTime":true})").status()),
            "GET /status: systemTime must be an integer, a numeric string or an enum name; got a "
            "boolean");
}

TEST(AgentStatusTest, DuplicateKeyLastWins) {
  auto s = ParseAgentStatus(R"({"version":"1","version":"2"})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->version, "2");
}

TEST(AgentResponsesTest, NotJsonOrNotAnObject) {
  EXPECT_EQ(ErrorOf(ParseAgentStatus("").status()), "GET /status: response body is empty");
  EXPECT_THAT(ErrorOf(ParseAgentStatus("<html>502</html>").status()),
              HasSubstr("GET /status: response is not JSON: "));
  EXPECT_THAT(ErrorOf(ParsePackageList(R"({"packages":[{"name":"a"})").status()),
              HasSubstr("ListPackages: response is not JSON: "));
  EXPECT_THAT(ErrorOf(ParsePulledList(R"({"registries":[]} x)").status()),
              HasSubstr("ListPulledPackages: response is not JSON: "));
  EXPECT_EQ(ErrorOf(ParsePackageList("[]").status()),
            "ListPackages: the response must be a JSON object; got an array");
  EXPECT_EQ(ErrorOf(ParsePulledList("null").status()),
            "ListPulledPackages: the response must be a JSON object; got null");
}

TEST(AgentResponsesTest, BodyCapIsFourMiB) {
  // A valid JSON object of exactly 4 MiB parses; one byte more is an error before parsing.
  auto body_of = [](size_t size) {
    std::string body = R"({"version":")";
    body.append(size - body.size() - 2, 'v');
    body += "\"}";
    return body;
  };
  const std::string at_cap = body_of(kMaxAgentResponseBytes);
  ASSERT_EQ(at_cap.size(), size_t{4} << 20);
  auto ok = ParseAgentStatus(at_cap);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->version->size(), kMaxAgentResponseBytes - 14);
  EXPECT_EQ(ErrorOf(ParseAgentStatus(body_of(kMaxAgentResponseBytes + 1)).status()),
            "GET /status: response body of 4194305 bytes exceeds the 4 MiB limit");
  EXPECT_THAT(ErrorOf(ParsePackageList(std::string(8 << 20, ' ')).status()),
              HasSubstr("ListPackages: response body of 8388608 bytes exceeds the 4 MiB limit"));
  EXPECT_THAT(ErrorOf(ParsePulledList(std::string(8 << 20, ' ')).status()),
              HasSubstr("ListPulledPackages: response body of 8388608 bytes exceeds"));
}

TEST(PackageListTest, EveryField) {
  auto l = ParsePackageList(kPackagesFixture);
  ASSERT_TRUE(l.ok()) << l.status().message();
  ASSERT_EQ(l->packages.size(), 2u);
  const DeployedPackage& nginx = l->packages[0];
  EXPECT_EQ(nginx.name, "nginx");
  EXPECT_EQ(nginx.version, "1.25.3");
  EXPECT_EQ(nginx.status, EnumValue(int64_t{3}));
  EXPECT_EQ(nginx.flavor, "upstream");
  EXPECT_EQ(nginx.namespace_override, std::nullopt);
  EXPECT_EQ(nginx.annotations, (std::map<std::string, std::string>{{"team", "edge"}}));
  const DeployedPackage& podinfo = l->packages[1];
  EXPECT_EQ(podinfo.name, "podinfo");
  EXPECT_EQ(podinfo.flavor, std::nullopt);
  EXPECT_TRUE(podinfo.annotations.empty());

  auto ns = ParsePackageList(R"({"packages":[{"namespaceOverride":"edge-ns"}]})");
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->packages[0].namespace_override, "edge-ns");
}

TEST(PackageListTest, StatusNumberStyles) {
  for (std::string_view body :
       {R"({"packages":[{"status":3}]})", R"({"packages":[{"status":"3"}]})",
        R"({"packages":[{"status":3.0}]})"}) {
    auto l = ParsePackageList(body);
    ASSERT_TRUE(l.ok()) << body << ": " << l.status().message();
    EXPECT_EQ(l->packages[0].status, EnumValue(int64_t{3})) << body;
  }
  auto negative = ParsePackageList(R"({"packages":[{"status":"-2"}]})");
  ASSERT_TRUE(negative.ok());
  EXPECT_EQ(negative->packages[0].status, EnumValue(int64_t{-2}));
  // Decision 1: an enum name is kept as the string.
  auto name = ParsePackageList(R"({"packages":[{"status":"DEPLOYMENT_STATUS_SUCCEEDED"}]})");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->packages[0].status, EnumValue(std::string("DEPLOYMENT_STATUS_SUCCEEDED")));
  auto null_status = ParsePackageList(R"({"packages":[{"status":null}]})");
  ASSERT_TRUE(null_status.ok());
  EXPECT_EQ(null_status->packages[0].status, std::nullopt);
}

TEST(PackageListTest, MissingOrNullListIsEmpty) {
  for (std::string_view body : {"{}", R"({"packages":null})", R"({"packages":[]})"}) {
    auto l = ParsePackageList(body);
    ASSERT_TRUE(l.ok()) << body;
    EXPECT_TRUE(l->packages.empty()) << body;
  }
  auto dup = ParsePackageList(R"({"packages":[{"name":"a"}],"packages":[{"name":"b"}]})");
  ASSERT_TRUE(dup.ok());
  ASSERT_EQ(dup->packages.size(), 1u);
  EXPECT_EQ(dup->packages[0].name, "b");
}

TEST(PackageListTest, WrongTypesNameTheField) {
  EXPECT_EQ(ErrorOf(ParsePackageList(R"({"packages":{}})").status()),
            "ListPackages: packages must be a list; got an object");
  EXPECT_EQ(ErrorOf(ParsePackageList(R"({"packages":[{"name":"a"},"b"]})").status()),
            "ListPackages: packages[1] must be an object; got a string");
  EXPECT_EQ(ErrorOf(ParsePackageList(R"({"packages":[{},{"status":true}]})").status()),
            "ListPackages: packages[1].status must be an integer, a numeric string or an enum "
            "name; got a boolean");
  EXPECT_EQ(ErrorOf(ParsePackageList(R"({"packages":[{"status":3.5}]})").status()),
            "ListPackages: packages[0].status must be an integer; got a fraction");
  EXPECT_EQ(ErrorOf(ParsePackageList(R"({"packages":[{"status":18446744073709551615}]})").status()),
            "ListPackages: packages[0].status is out of the int64 range");
  EXPECT_EQ(
      ErrorOf(ParsePackageList(R"({"packages":[{"status":"99999999999999999999"}]})").status()),
      "ListPackages: packages[0].status is out of the int64 range");
  EXPECT_EQ(ErrorOf(ParsePackageList(R"({"packages":[{"status":1e300}]})").status()),
            "ListPackages: packages[0].status is out of the int64 range");
  EXPECT_EQ(ErrorOf(ParsePackageList(R"({"packages":[{"name":["x"]}]})").status()),
            "ListPackages: packages[0].name must be a string; got an array");
  EXPECT_EQ(ErrorOf(ParsePackageList(R"({"packages":[{"version":1}]})").status()),
            "ListPackages: packages[0].version must be a string; got a number");
  EXPECT_EQ(ErrorOf(ParsePackageList(R"({"packages":[{"flavor":false}]})").status()),
            "ListPackages: packages[0].flavor must be a string; got a boolean");
  EXPECT_EQ(ErrorOf(ParsePackageList(R"({"packages":[{"namespaceOverride":{}}]})").status()),
            "ListPackages: packages[0].namespaceOverride must be a string; got an object");
  EXPECT_EQ(ErrorOf(ParsePackageList(R"({"packages":[{"annotations":[]}]})").status()),
            "ListPackages: packages[0].annotations must be an object; got an array");
  EXPECT_EQ(ErrorOf(ParsePackageList(R"({"packages":[{"annotations":{"a\"b":1}}]})").status()),
            R"(ListPackages: packages[0].annotations["a\"b"] must be a string; got a number)");
}

TEST(PackageListTest, BadUtf8InsideStringsIsKeptAsBadBytes) {
  // A lone surrogate escape (what JSON.stringify emits for one) and a raw bad byte: the call still
  // parses; each bad piece is one 0xFF byte, so the mapping can skip just that item.
  const std::string body =
      "{\"packages\":[{\"name\":\"a\\ud800b\"},{\"name\":\"c\xff"
      "d\"},"
      "{\"name\":\"\\udc00\",\"version\":\"\\ud83d\\ude00\"},"
      "{\"name\":\"ok\\\"\\u00e9\",\"status\":\"X\xc0\","
      "\"annotations\":{\"k\xfe\":\"v\\ud800\",\"k\xfd\":\"w\"}}]}";
  auto l = ParsePackageList(body);
  ASSERT_TRUE(l.ok()) << l.status().message();
  ASSERT_EQ(l->packages.size(), 4u);
  EXPECT_EQ(l->packages[0].name,
            "a\xff"
            "b");
  EXPECT_EQ(l->packages[1].name,
            "c\xff"
            "d");
  EXPECT_EQ(l->packages[2].name, "\xff");
  EXPECT_EQ(l->packages[2].version, "\xF0\x9F\x98\x80");  // a surrogate pair is fine
  EXPECT_EQ(l->packages[3].name, "ok\"\xC3\xA9");
  EXPECT_EQ(l->packages[3].status, EnumValue(std::string("X\xff")));
  // Both keys become "k" U+FFFD: one entry, the later value.
  EXPECT_EQ(l->packages[3].annotations,
            (std::map<std::string, std::string>{{"k\xEF\xBF\xBD", "w"}}));
}

TEST(PackageListTest, BadUtf8OutsideStringsOrBadEscapesStillFail) {
  EXPECT_THAT(ErrorOf(ParsePackageList("{\"packages\":[]}\xff").status()),
              HasSubstr("ListPackages: response is not JSON: "));
  EXPECT_THAT(ErrorOf(ParsePackageList("{\"packages\":[{\"name\":\"\\x\"}]}").status()),
              HasSubstr("ListPackages: response is not JSON: "));
  EXPECT_THAT(ErrorOf(ParsePackageList("{\"packages\":[{\"name\":\"\\ud800").status()),
              HasSubstr("ListPackages: response is not JSON: "));
}

TEST(PackageListTest, MarkerIsPlainTextInAValidBody) {
  auto l = ParsePackageList("{\"packages\":[{\"name\":\"\xEF\xB7\x90\"}]}");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->packages[0].name, "\xEF\xB7\x90");
}

TEST(PackageListTest, NullAnnotationsAreEmpty) {
  auto l = ParsePackageList(R"({"packages":[{"annotations":null}]})");
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->packages[0].annotations.empty());
}

TEST(PulledListTest, EveryField) {
  auto l = ParsePulledList(kPulledFixture);
  ASSERT_TRUE(l.ok()) << l.status().message();
  ASSERT_EQ(l->registries.size(), 1u);
  EXPECT_EQ(l->registries[0].host, "registry.local");
  ASSERT_EQ(l->registries[0].packages.size(), 1u);
  const PulledPackage& p = l->registries[0].packages[0];
  EXPECT_EQ(p.package_name, "uds-core");
  ASSERT_EQ(p.tags.size(), 1u);
  EXPECT_EQ(p.tags[0].reference, "0.1.0");
  EXPECT_EQ(p.tags[0].arch, "amd64");
  EXPECT_EQ(p.tags[0].version, "0.1.0");
  EXPECT_EQ(p.tags[0].total_bytes, 1234);
  EXPECT_EQ(p.tags[0].pull_status, EnumValue(int64_t{2}));
  EXPECT_EQ(l->TagCount(), 1u);
}

TEST(PulledListTest, NumberStylesAndEnumNames) {
  auto l = ParsePulledList(
      R"({"registries":[{"packages":[{"tags":[{"totalBytes":"9007199254740993",)"
      R"("pullInfo":{"status":"PULL_STATUS_COMPLETE"}},{"totalBytes":-1,"pullInfo":{"status":"2"}},)"
      R"({"pullInfo":null},{"pullInfo":{}}]}]}]})");
  ASSERT_TRUE(l.ok()) << l.status().message();
  const auto& tags = l->registries[0].packages[0].tags;
  ASSERT_EQ(tags.size(), 4u);
  EXPECT_EQ(tags[0].total_bytes, int64_t{9007199254740993});  // beyond 2^53: kept exactly
  EXPECT_EQ(tags[0].pull_status, EnumValue(std::string("PULL_STATUS_COMPLETE")));
  EXPECT_EQ(tags[1].total_bytes, -1);
  EXPECT_EQ(tags[1].pull_status, EnumValue(int64_t{2}));
  EXPECT_EQ(tags[2], PulledTag{});
  EXPECT_EQ(tags[3], PulledTag{});
  EXPECT_EQ(l->TagCount(), 4u);
}

TEST(PulledListTest, MissingPartsAreEmpty) {
  auto l = ParsePulledList(R"({"registries":[{},{"host":"h","packages":[{"tags":null}]}]})");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->registries.size(), 2u);
  EXPECT_EQ(l->registries[0], Registry{});
  EXPECT_EQ(l->registries[1].packages.size(), 1u);
  EXPECT_EQ(l->TagCount(), 0u);
}

TEST(PulledListTest, WrongTypesNameTheField) {
  EXPECT_EQ(ErrorOf(ParsePulledList(R"({"registries":"r"})").status()),
            "ListPulledPackages: registries must be a list; got a string");
  EXPECT_EQ(ErrorOf(ParsePulledList(R"({"registries":[{"host":7}]})").status()),
            "ListPulledPackages: registries[0].host must be a string; got a number");
  EXPECT_EQ(ErrorOf(ParsePulledList(R"({"registries":[{"packages":[{"packageName":null},)"
                                    R"({"packageName":1}]}]})")
                        .status()),
            "ListPulledPackages: registries[0].packages[1].packageName must be a string; got a "
            "number");
  EXPECT_EQ(
      ErrorOf(ParsePulledList(R"({"registries":[{"packages":[{"tags":[{"totalBytes":"12kB"}]}]}]})")
                  .status()),
      "ListPulledPackages: registries[0].packages[0].tags[0].totalBytes must be an integer "
      "or a numeric string; got a non-numeric string");
  EXPECT_EQ(ErrorOf(ParsePulledList(R"({"registries":[{"packages":[{"tags":[{"pullInfo":[]}]}]}]})")
                        .status()),
            "ListPulledPackages: registries[0].packages[0].tags[0].pullInfo must be an object; got "
            "an array");
  EXPECT_EQ(ErrorOf(ParsePulledList(
                        R"({"registries":[{"packages":[{"tags":[{"pullInfo":{"status":{}}}]}]}]})")
                        .status()),
            "ListPulledPackages: registries[0].packages[0].tags[0].pullInfo.status must be an "
            "integer, a numeric string or an enum name; got an object");
  EXPECT_EQ(
      ErrorOf(ParsePulledList(R"({"registries":[{"packages":[{"tags":[{"reference":true}]}]}]})")
                  .status()),
      "ListPulledPackages: registries[0].packages[0].tags[0].reference must be a string; got a "
      "boolean");
  EXPECT_EQ(
      ErrorOf(ParsePulledList(R"({"registries":[{"packages":[{"tags":[{"arch":1}]}]}]})").status()),
      "ListPulledPackages: registries[0].packages[0].tags[0].arch must be a string; got a "
      "number");
  EXPECT_EQ(
      ErrorOf(
          ParsePulledList(R"({"registries":[{"packages":[{"tags":[{"version":[]}]}]}]})").status()),
      "ListPulledPackages: registries[0].packages[0].tags[0].version must be a string; got "
      "an array");
  EXPECT_EQ(ErrorOf(ParsePulledList(R"({"registries":[{"packages":[{"tags":{}}]}]})").status()),
            "ListPulledPackages: registries[0].packages[0].tags must be a list; got an object");
}

TEST(PulledListTest, UnusedFieldsAreNotChecked) {
  // name, repoName and downloadedBytes are read by nobody: their type does not matter.
  auto l = ParsePulledList(R"({"registries":[{"name":1,"packages":[{"repoName":[],"tags":[)"
                           R"({"pullInfo":{"downloadedBytes":"lots","status":1}}]}]}]})");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->registries[0].packages[0].tags[0].pull_status, EnumValue(int64_t{1}));
}

}  // namespace
}  // namespace peat::watcher

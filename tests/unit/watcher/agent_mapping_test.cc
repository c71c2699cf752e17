// The documents of WATCHER.md §4 (the §4 example byte for byte), invalid items skipped with the
// others kept, the change-only write rule, and stale removal with the guards of §6.
#include "watcher/agent_mapping.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crdt/document.h"
#include "watcher/agent_responses.h"

namespace peat::watcher {
namespace {

constexpr int64_t kLastSeen = 1767225600;

// The store's canonical rendering of `json` (what a read returns after a Put of it).
std::string StoreRendering(const std::string& json) {
  crdt::Document doc;
  auto r = doc.Put(json, crdt::Timestamp{uint64_t{1} << 16, 1});
  EXPECT_TRUE(r.ok()) << r.status().message();
  return doc.Render();
}

TEST(AgentMappingTest, DeploymentsExampleOfSection4ByteForByte) {
  DeployedPackage nginx;
  nginx.name = "nginx";
  nginx.version = "1.25.3";
  nginx.status = int64_t{3};
  nginx.flavor = "upstream";
  const MappedList m = MapPackageList(PackageList{{nginx}}, "alpha-agent", kLastSeen);
  ASSERT_EQ(m.docs.size(), 1u);
  EXPECT_EQ(m.docs[0].collection, "deployments");
  EXPECT_EQ(m.docs[0].doc_id, "alpha-agent:nginx");
  const std::string expected =
      R"({"agent_id":"alpha-agent","annotations":{},"flavor":"upstream","last_seen":1767225600,)"
      R"("namespace_override":null,"package":"nginx","status":3,"version":"1.25.3"})";
  EXPECT_EQ(m.docs[0].json, expected);
  EXPECT_EQ(StoreRendering(m.docs[0].json), expected);
  EXPECT_TRUE(m.skipped.empty());
  EXPECT_EQ(m.listed, 1u);
}

TEST(AgentMappingTest, NodesDocHasOnlyTheWatchersKeys) {
  auto s = ParseAgentStatus(
      R"({"version":"0.9.1","architecture":"amd64","classification":"UNCLASSIFIED",)"
      R"("k8sVersion":"v1.30.2","k8sNodeStatus":"Ready","zarfVersion":"v0.40.1",)"
      R"("runMode":"cluster","systemTime":"1767225600"})");
  ASSERT_TRUE(s.ok());
  const MappedDoc d = MapAgentStatus(*s, "alpha-agent", kLastSeen);
  EXPECT_EQ(d.collection, "nodes");
  EXPECT_EQ(d.doc_id, "alpha-agent");
  const std::string expected =
      R"({"agent_id":"alpha-agent","architecture":"amd64","classification":"UNCLASSIFIED",)"
      R"("k8s_node_status":"Ready","k8s_version":"v1.30.2","last_seen":1767225600,)"
      R"("node_type":"uds-remote-agent","run_mode":"cluster","version":"0.9.1",)"
      R"("zarf_version":"v0.40.1"})";
  EXPECT_EQ(d.json, expected);
  EXPECT_EQ(StoreRendering(d.json), expected);

  EXPECT_EQ(MapAgentStatus(AgentStatus{}, "n", 5).json,
            R"({"agent_id":"n","architecture":null,"classification":null,"k8s_node_status":null,)"
            R"("k8s_version":null,"last_seen":5,"node_type":"uds-remote-agent","run_mode":null,)"
            R"("version":null,"zarf_version":null})");
}

TEST(AgentMappingTest, DeploymentsEveryFieldAndDefaults) {
  auto l = ParsePackageList(
      R"({"packages":[{"name":"nginx","version":"1.25.3","status":"3","flavor":"upstream",)"
      R"("namespaceOverride":"edge","annotations":{"z":"1","team":"edge","a\"q":"\n"}},)"
      R"({"name":"x","status":"DEPLOYED"},{}]})");
  ASSERT_TRUE(l.ok()) << l.status().message();
  const MappedList m = MapPackageList(*l, "n1", 42);
  ASSERT_EQ(m.docs.size(), 3u);
  EXPECT_EQ(m.docs[0].doc_id, "n1:nginx");
  EXPECT_EQ(m.docs[0].json,
            R"({"agent_id":"n1","annotations":{"a\"q":"\n","team":"edge","z":"1"},)"
            R"("flavor":"upstream","last_seen":42,"namespace_override":"edge","package":"nginx",)"
            R"("status":3,"version":"1.25.3"})");
  EXPECT_EQ(StoreRendering(m.docs[0].json), m.docs[0].json);
  // An enum name stays a string (decision 1).
  EXPECT_EQ(m.docs[1].doc_id, "n1:x");
  EXPECT_EQ(m.docs[1].json,
            R"({"agent_id":"n1","annotations":{},"flavor":null,"last_seen":42,)"
            R"("namespace_override":null,"package":"x","status":"DEPLOYED","version":null})");
  // No name: "unknown" in the id and the doc.
  EXPECT_EQ(m.docs[2].doc_id, "n1:unknown");
  EXPECT_EQ(m.docs[2].json,
            R"({"agent_id":"n1","annotations":{},"flavor":null,"last_seen":42,)"
            R"("namespace_override":null,"package":"unknown","status":null,"version":null})");
  EXPECT_EQ(m.listed, 3u);
}

TEST(AgentMappingTest, DuplicateIdsKeepTheLaterItem) {
  PackageList l;
  l.packages.resize(3);
  l.packages[0].name = "a";
  l.packages[0].version = "1";
  l.packages[1].name = "b";
  l.packages[2].name = "a";
  l.packages[2].version = "2";
  const MappedList m = MapPackageList(l, "n", 1);
  ASSERT_EQ(m.docs.size(), 2u);
  EXPECT_EQ(m.docs[0].doc_id, "n:a");
  EXPECT_NE(m.docs[0].json.find(R"("version":"2")"), std::string::npos);
  EXPECT_EQ(m.docs[1].doc_id, "n:b");
  EXPECT_EQ(m.listed, 3u);
}

TEST(AgentMappingTest, PackagesEveryFieldAndDefaults) {
  auto l = ParsePulledList(
      R"({"registries":[{"name":"local","host":"registry.local","packages":[{"repoName":"r",)"
      R"("packageName":"uds-core","tags":[{"reference":"0.1.0","arch":"amd64","version":"0.1.0",)"
      R"("totalBytes":"1234","pullInfo":{"downloadedBytes":1234,"status":2}},{}]}]},)"
      R"({"packages":[{"tags":[{"reference":"x","pullInfo":{"status":"PULLED"}}]}]}]})");
  ASSERT_TRUE(l.ok()) << l.status().message();
  const MappedList m = MapPulledList(*l, "alpha-agent", kLastSeen);
  ASSERT_EQ(m.docs.size(), 3u);
  EXPECT_EQ(m.docs[0].collection, "packages");
  EXPECT_EQ(m.docs[0].doc_id, "alpha-agent:0.1.0-amd64");
  EXPECT_EQ(m.docs[0].json, R"({"agent_id":"alpha-agent","arch":"amd64","last_seen":1767225600,)"
                            R"("package":"uds-core","pull_status":2,"reference":"0.1.0",)"
                            R"("registry":"registry.local","total_bytes":1234,"version":"0.1.0"})");
  EXPECT_EQ(StoreRendering(m.docs[0].json), m.docs[0].json);
  // Everything missing: nulls, pull_status 0, "unknown" in the id.
  EXPECT_EQ(m.docs[1].doc_id, "alpha-agent:unknown-unknown");
  EXPECT_EQ(m.docs[1].json, R"({"agent_id":"alpha-agent","arch":null,"last_seen":1767225600,)"
                            R"("package":"uds-core","pull_status":0,"reference":null,)"
                            R"("registry":"registry.local","total_bytes":null,"version":null})");
  EXPECT_EQ(m.docs[2].doc_id, "alpha-agent:x-unknown");
  EXPECT_EQ(m.docs[2].json,
            R"({"agent_id":"alpha-agent","arch":null,"last_seen":1767225600,"package":null,)"
            R"("pull_status":"PULLED","reference":"x","registry":null,"total_bytes":null,)"
            R"("version":null})");
  EXPECT_EQ(m.listed, 3u);
}

TEST(AgentMappingTest, InvalidItemsAreSkippedOthersKept) {
  PackageList l;
  l.packages.resize(5);
  l.packages[0].name = "ok-1";
  l.packages[1].name = std::string("nul\0name", 8);
  l.packages[2].name = std::string(2048, 'x');
  l.packages[3].name = "bad\xff";
  l.packages[4].name = "ok-2";
  const MappedList m = MapPackageList(l, "n", 1);
  ASSERT_EQ(m.docs.size(), 2u);
  EXPECT_EQ(m.docs[0].doc_id, "n:ok-1");
  EXPECT_EQ(m.docs[1].doc_id, "n:ok-2");
  EXPECT_EQ(m.skipped, (std::vector<SkippedItem>{{"packages[1]", SkipReason::kNul},
                                                 {"packages[2]", SkipReason::kTooLong},
                                                 {"packages[3]", SkipReason::kInvalidUtf8}}));
  EXPECT_EQ(m.listed, 5u);
  EXPECT_EQ(SkipReasonLabel(SkipReason::kNul), "nul");
  EXPECT_EQ(SkipReasonLabel(SkipReason::kTooLong), "too_long");
  EXPECT_EQ(SkipReasonLabel(SkipReason::kInvalidUtf8), "invalid_utf8");
}

TEST(AgentMappingTest, InvalidTagsAreSkippedOthersKept) {
  // A NUL from a JSON escape, and an id just over the limit (the node id counts).
  const std::string n = "node";
  const std::string long_ref(1024 - n.size() - 1 - 1 - 5, 'r');  // "node:" + ref + "-" + arch(5)
  auto l = ParsePulledList(R"({"registries":[{"packages":[{"tags":[{"reference":"a\u0000b"},)"
                           R"({"reference":")" +
                           long_ref + R"(","arch":"amd64"},{"reference":")" + long_ref +
                           R"(x","arch":"amd64"},{"reference":"ok"}]}]}]})");
  ASSERT_TRUE(l.ok()) << l.status().message();
  const MappedList m = MapPulledList(*l, n, 1);
  ASSERT_EQ(m.docs.size(), 2u);
  EXPECT_EQ(m.docs[0].doc_id.size(), 1024u);
  EXPECT_EQ(m.docs[1].doc_id, "node:ok-unknown");
  EXPECT_EQ(m.skipped, (std::vector<SkippedItem>{
                           {"registries[0].packages[0].tags[0]", SkipReason::kNul},
                           {"registries[0].packages[0].tags[2]", SkipReason::kTooLong}}));
  EXPECT_EQ(m.listed, 4u);
}

TEST(AgentMappingTest, BadUtf8ItemIsSkippedAndBadValuesRenderAsReplacement) {
  auto l = ParsePackageList(
      "{\"packages\":[{\"name\":\"bad\\ud800\"},{\"name\":\"ok\",\"version\":\"v\xff\","
      "\"annotations\":{\"k\":\"\\udfff\"}}]}");
  ASSERT_TRUE(l.ok()) << l.status().message();
  const MappedList m = MapPackageList(*l, "n", 1);
  EXPECT_EQ(m.skipped, (std::vector<SkippedItem>{{"packages[0]", SkipReason::kInvalidUtf8}}));
  ASSERT_EQ(m.docs.size(), 1u);
  EXPECT_EQ(m.docs[0].doc_id, "n:ok");
  EXPECT_EQ(m.docs[0].json,
            "{\"agent_id\":\"n\",\"annotations\":{\"k\":\"\xEF\xBF\xBD\"},\"flavor\":null,"
            "\"last_seen\":1,\"namespace_override\":null,\"package\":\"ok\",\"status\":null,"
            "\"version\":\"v\xEF\xBF\xBD\"}");
  EXPECT_EQ(StoreRendering(m.docs[0].json), m.docs[0].json);
}

TEST(AgentMappingTest, DocIdProblemFollowsTheIdentifierRuleOrder) {
  EXPECT_EQ(DocIdProblem("n:a"), std::nullopt);
  EXPECT_EQ(DocIdProblem(std::string(1024, 'a')), std::nullopt);
  EXPECT_EQ(DocIdProblem(std::string(1025, 'a')), SkipReason::kTooLong);
  EXPECT_EQ(DocIdProblem(std::string(1025, '\0')), SkipReason::kTooLong);
  EXPECT_EQ(DocIdProblem(std::string("a\0\xff", 3)), SkipReason::kNul);
  EXPECT_EQ(DocIdProblem("\xc0\xaf"), SkipReason::kInvalidUtf8);
}

TEST(ChangeOnlyWritesTest, SameExceptLastSeen) {
  const std::string a = R"({"agent_id":"n","last_seen":1,"version":"1"})";
  EXPECT_TRUE(SameExceptLastSeen(a, R"({"agent_id":"n","last_seen":99,"version":"1"})"));
  EXPECT_TRUE(SameExceptLastSeen(a, R"({ "version":"1", "agent_id":"n" })"));
  EXPECT_TRUE(SameExceptLastSeen(R"({"last_seen":1})", "{}"));
  EXPECT_FALSE(SameExceptLastSeen(a, R"({"agent_id":"n","last_seen":1,"version":"2"})"));
  EXPECT_FALSE(SameExceptLastSeen(a, R"({"agent_id":"n","last_seen":1,"version":null})"));
  EXPECT_FALSE(SameExceptLastSeen(a, R"({"agent_id":"n","last_seen":1})"));
  EXPECT_FALSE(SameExceptLastSeen(a, R"({"agent_id":"n","last_seen":1,"version":"1","x":1})"));
  EXPECT_FALSE(SameExceptLastSeen(R"({"s":3})", R"({"s":"3"})"));
  EXPECT_FALSE(SameExceptLastSeen(R"({"a":{"last_seen":1}})", R"({"a":{"last_seen":2}})"));
  EXPECT_FALSE(SameExceptLastSeen(R"({"a":{}})", R"({"a":{"b":1}})"));
  EXPECT_FALSE(SameExceptLastSeen(a, "not json"));
  EXPECT_FALSE(SameExceptLastSeen("[]", "[]"));
}

TEST(ChangeOnlyWritesTest, NeedsWrite) {
  DeployedPackage p;
  p.name = "nginx";
  p.version = "1";
  const MappedDoc first = MapPackageList(PackageList{{p}}, "n", 1000).docs[0];
  const MappedDoc later = MapPackageList(PackageList{{p}}, "n", 1010).docs[0];
  p.version = "2";
  const MappedDoc changed = MapPackageList(PackageList{{p}}, "n", 1010).docs[0];
  const LastWrite last{first.json, 1000};
  EXPECT_TRUE(NeedsWrite(nullptr, first, 1000, 300));
  EXPECT_FALSE(NeedsWrite(&last, later, 1010, 300));  // only last_seen differs
  EXPECT_TRUE(NeedsWrite(&last, changed, 1010, 300));
  EXPECT_FALSE(NeedsWrite(&last, later, 1299, 300));
  EXPECT_TRUE(NeedsWrite(&last, later, 1300, 300));  // refresh after --agent-refresh-secs
}

TEST(StaleRemovalTest, AgentIdOf) {
  EXPECT_EQ(AgentIdOf(R"({"agent_id":"n","x":1})"), "n");
  EXPECT_EQ(AgentIdOf(R"({"agent_id":"a","agent_id":"b"})"), "b");
  EXPECT_EQ(AgentIdOf(R"({"agent_id":7})"), std::nullopt);
  EXPECT_EQ(AgentIdOf(R"({"x":1})"), std::nullopt);
  EXPECT_EQ(AgentIdOf("ENC:v1:abc"), std::nullopt);
  EXPECT_EQ(AgentIdOf("[]"), std::nullopt);
}

TEST(ChangeOnlyWritesTest, LastWriteOfReadsTheStoredLastSeen) {
  const std::string doc = R"({"agent_id":"n","last_seen":100,"version":"1"})";
  auto last = LastWriteOf(doc, 150);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->json, doc);
  EXPECT_EQ(last->written_at, 100);
  EXPECT_EQ(LastWriteOf(R"({"last_seen":1,"last_seen":120})", 150)->written_at, 120);
  EXPECT_EQ(LastWriteOf(doc, 99), std::nullopt)
      << "a last_seen in the future: the clock moved back";
  EXPECT_EQ(LastWriteOf(R"({"last_seen":"100"})", 150), std::nullopt);
  EXPECT_EQ(LastWriteOf(R"({"agent_id":"n"})", 150), std::nullopt);
  EXPECT_EQ(LastWriteOf("ENC:v1:abc", 150), std::nullopt);
}

TEST(StaleRemovalTest, SelectsOurDocsAbsentFromTheResponse) {
  PackageList l;
  l.packages.resize(1);
  l.packages[0].name = "nginx";
  const MappedList response = MapPackageList(l, "n", 1);
  const std::vector<PresentDoc> present = {
      {"n:nginx", "n"},             // listed: kept
      {"n:podinfo", "n"},           // ours, gone from the agent: deleted
      {"n:other", "m"},             // our prefix but another agent_id: untouched
      {"n:noagent", std::nullopt},  // no agent_id: untouched
      {"m:podinfo", "m"},           // another node's doc: untouched
      {"nn:podinfo", "n"},          // prefix "nn:", not "n:": untouched
      {"n", "n"},                   // the nodes doc id shape, no ':': untouched
      {"n:leftover", "n"},          // from before a restart: deleted
  };
  EXPECT_EQ(SelectStale(present, "n", response),
            (std::vector<std::string>{"n:podinfo", "n:leftover"}));
  EXPECT_TRUE(SelectStale({}, "n", response).empty());
  // An empty response: every doc of ours (the caller's EmptyListGuard decides whether to run).
  EXPECT_EQ(SelectStale(present, "n", MappedList{}),
            (std::vector<std::string>{"n:nginx", "n:podinfo", "n:leftover"}));
}

TEST(StaleRemovalTest, SkippedItemsAreNotInTheResponse) {
  PackageList l;
  l.packages.resize(2);
  l.packages[0].name = std::string(2000, 'x');
  l.packages[1].name = "ok";
  const MappedList response = MapPackageList(l, "n", 1);
  EXPECT_EQ(SelectStale({{"n:ok", "n"}, {"n:gone", "n"}}, "n", response),
            (std::vector<std::string>{"n:gone"}));
}

TEST(StaleRemovalTest, EmptyListDeletesOnlyAfterTwoConsecutiveEmptyPolls) {
  EmptyListGuard g;
  EXPECT_TRUE(g.AllowDeletes(2));
  EXPECT_FALSE(g.AllowDeletes(0));  // first empty poll after a non-empty one
  EXPECT_TRUE(g.AllowDeletes(0));   // the second agrees
  EXPECT_TRUE(g.AllowDeletes(0));   // and it stays agreed
  EXPECT_TRUE(g.AllowDeletes(1));
  EXPECT_FALSE(g.AllowDeletes(0));  // a new streak
}

TEST(StaleRemovalTest, EmptyListGuardFailureBreaksTheStreak) {
  EmptyListGuard g;
  EXPECT_FALSE(g.AllowDeletes(0));  // right after a start: counts as the first empty poll
  g.OnFailure();
  EXPECT_FALSE(g.AllowDeletes(0));
  EXPECT_TRUE(g.AllowDeletes(0));
  g.OnFailure();
  EXPECT_FALSE(g.AllowDeletes(0));
  EXPECT_TRUE(g.AllowDeletes(3));  // a non-empty list deletes at once
}

TEST(StaleRemovalTest, ListedCountsSkippedItems) {
  // A list whose only item is invalid is not an empty list: the guard sees 1 item.
  PackageList l;
  l.packages.resize(1);
  l.packages[0].name = std::string("\0", 1);
  const MappedList m = MapPackageList(l, "n", 1);
  EXPECT_TRUE(m.docs.empty());
  EmptyListGuard g;
  EXPECT_TRUE(g.AllowDeletes(m.listed));
}

}  // namespace
}  // namespace peat::watcher

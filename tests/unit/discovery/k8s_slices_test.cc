#include "discovery/k8s_slices.h"

#include <gtest/gtest.h>

namespace peat::discovery {
namespace {

constexpr const char* kList = R"({"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1",
  "metadata":{"resourceVersion":"42"},
  "items":[
    {"metadata":{"name":"peat-abc","resourceVersion":"40",
                 "annotations":{"peat.mesh-port":"4500","other/x":"y","peat.zone":"a"}},
     "addressType":"IPv4",
     "ports":[{"name":"mesh","port":4433,"protocol":"TCP"}],
     "endpoints":[
       {"addresses":["10.0.0.1"],"conditions":{"ready":true},"targetRef":{"kind":"Pod","name":"pod-a"}},
       {"addresses":["10.0.0.2"],"conditions":{"ready":false,"terminating":true},
        "targetRef":{"kind":"Pod","name":"pod-b"}},
       {"addresses":["10.0.0.3"],"hostname":"pod-c"},
       {"addresses":[],"targetRef":{"kind":"Pod","name":"pod-d"}},
       {"addresses":["10.0.0.5"]}
     ]},
    {"metadata":{"name":"peat-def"},"ports":[{"name":"http","port":80},{"name":"x","port":9000,"protocol":"UDP"}],
     "endpoints":[{"addresses":["fd00::1"],"targetRef":{"kind":"Pod","name":"pod-e"}}]},
    7
  ]})";

TEST(K8sSlices, ListReadsSlicesAnnotationsPortsAndUsableEndpoints) {
  auto list = ParseSliceList(kList, "peat.");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->resource_version, "42");
  ASSERT_EQ(list->items.size(), 2u);
  const K8sSlice& a = list->items[0];
  EXPECT_EQ(a.name, "peat-abc");
  EXPECT_EQ(a.resource_version, "40");
  EXPECT_EQ(a.mesh_port, 4500);  // the annotation overrides the "mesh" port
  EXPECT_TRUE(a.port_named);
  EXPECT_EQ(a.annotations.size(), 2u);
  EXPECT_EQ(a.annotations.at("zone"), "a");
  ASSERT_EQ(a.endpoints.size(), 2u);  // terminating, no address, no name: skipped
  EXPECT_EQ(a.endpoints[0].pod_name, "pod-a");
  EXPECT_EQ(a.endpoints[1].pod_name, "pod-c");  // hostname when there is no Pod targetRef
  EXPECT_EQ(list->items[1].mesh_port, 80);      // no "mesh" port: the first TCP one
  EXPECT_FALSE(list->items[1].port_named);
}

TEST(K8sSlices, GarbageIsAnErrorNeverAnEmptyList) {
  for (const char* body : {"", "garbage", "{\"items\":", "[]", "{}", "{\"items\":3}", "null"}) {
    EXPECT_FALSE(ParseSliceList(body, "peat.").ok()) << body;
  }
  auto empty = ParseSliceList(R"({"metadata":{"resourceVersion":"7"},"items":null})", "peat.");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->items.empty());
  EXPECT_EQ(empty->resource_version, "7");
}

TEST(K8sSlices, WatchEvents) {
  auto added = ParseWatchEvent(
      R"({"type":"ADDED","object":{"metadata":{"name":"s1","resourceVersion":"9"},"ports":[{"port":4433}],)"
      R"("endpoints":[{"addresses":["10.1.1.1"],"targetRef":{"kind":"Pod","name":"p"}}]}})",
      "peat.");
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->type, K8sEventType::kAdded);
  EXPECT_EQ(added->slice.resource_version, "9");
  EXPECT_EQ(added->slice.mesh_port, 4433);  // the only port

  auto bookmark = ParseWatchEvent(
      R"({"type":"BOOKMARK","object":{"kind":"EndpointSlice","metadata":{"resourceVersion":"77"}}})",
      "peat.");
  ASSERT_TRUE(bookmark.ok());
  EXPECT_EQ(bookmark->type, K8sEventType::kBookmark);
  EXPECT_EQ(bookmark->slice.resource_version, "77");

  auto gone = ParseWatchEvent(
      R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}})",
      "peat.");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->type, K8sEventType::kError);
  EXPECT_EQ(gone->code, 410);
  EXPECT_EQ(gone->message, "too old");

  for (const char* bad : {"not json", R"({"type":"ADDED"})", R"({"type":"WHAT","object":{}})",
                          R"({"type":"DELETED","object":{"metadata":{}}})", "[1]"}) {
    EXPECT_FALSE(ParseWatchEvent(bad, "peat.").ok()) << bad;
  }
}

TEST(K8sSlices, DesiredPeersDeriveIdsSkipSelfAndMergeAddresses) {
  std::map<std::string, K8sSlice> slices;
  // "api" sorts first: the API Service's slice (one port, guessed) lists pod-a too.
  slices["api"] = K8sSlice{"api", "1", {}, 50051, false, {{"pod-a", "10.0.0.1"}}};
  slices["s1"] = K8sSlice{"s1", "1", {}, 4433, true, {{"pod-a", "10.0.0.1"}, {"me", "10.0.0.9"}}};
  slices["s2"] =
      K8sSlice{"s2", "1", {}, 4433, true, {{"pod-a", "fd00::1"}, {"pod-bad", "10.0.0.7"}}};
  slices["s3"] = K8sSlice{"s3", "1", {}, 0, false, {{"pod-c", "10.0.0.3"}}};  // no mesh port
  slices["s4"] = K8sSlice{"s4", "1", {}, 4433, true, {{"alias-of-me", "10.0.0.8"}}};
  slices["z"] =
      K8sSlice{"z", "1", {}, 8080, false, {{"pod-a", "10.0.0.1"}, {"pod-z", "10.0.0.26"}}};
  auto derive = [](const std::string& pod) -> StatusOr<std::string> {
    if (pod == "pod-bad") return InvalidArgumentError("bad");
    if (pod == "alias-of-me") return std::string("id-me");
    return "id-" + pod;
  };
  auto peers = DesiredPeers(slices, "me", "id-me", derive);
  ASSERT_EQ(peers.size(), 1u);  // pod-z is only in a slice with a guessed port: ignored
  // pod-a left the named slices first (they change one at a time): not dialed at a guessed port.
  auto without_a = slices;
  without_a["s1"].endpoints.erase(without_a["s1"].endpoints.begin());
  without_a["s2"].endpoints.erase(without_a["s2"].endpoints.begin());
  EXPECT_TRUE(DesiredPeers(without_a, "me", "id-me", derive).empty());
  // With no named port anywhere, the guesses are used.
  std::map<std::string, K8sSlice> guessed = {{"z", slices["z"]}};
  auto by_guess = DesiredPeers(guessed, "me", "id-me", derive);
  EXPECT_EQ(by_guess.at("id-pod-z").addresses, (std::vector<std::string>{"10.0.0.26:8080"}));
  const K8sPeer& a = peers.at("id-pod-a");
  EXPECT_EQ(a.pod_name, "pod-a");
  EXPECT_EQ(a.addresses, (std::vector<std::string>{"10.0.0.1:4433", "[fd00::1]:4433"}));
}

TEST(K8sSlices, ReconcileDialsNewAndMovedPeersDropsDepartedOnes) {
  std::map<std::string, std::vector<std::string>> proposed;
  std::map<std::string, K8sPeer> desired = {{"a", {"pod-a", {"10.0.0.1:4433"}}},
                                            {"b", {"pod-b", {"10.0.0.2:4433"}}},
                                            {"c", {"pod-c", {"10.0.0.3:4433"}}}};
  // c dialed us already; b has a dial in flight.
  auto plan = PlanReconcile(desired, proposed, {"c"}, {"b"});
  EXPECT_EQ(plan.dials, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(plan.drops.empty());
  EXPECT_EQ(proposed.size(), 3u);  // c recorded: dropped when it leaves

  // All connected, nothing changed: nothing to do.
  plan = PlanReconcile(desired, proposed, {"a", "b", "c"}, {});
  EXPECT_TRUE(plan.dials.empty());
  EXPECT_TRUE(plan.drops.empty());

  // b moved (connected still, to its old address): dialed at the new one; c left: dropped.
  desired["b"].addresses = {"10.0.0.9:4433"};
  desired.erase("c");
  plan = PlanReconcile(desired, proposed, {"a", "b", "c"}, {});
  EXPECT_EQ(plan.dials, (std::vector<std::string>{"b"}));
  EXPECT_EQ(plan.drops, (std::vector<std::string>{"c"}));
  EXPECT_EQ(proposed.at("b"), (std::vector<std::string>{"10.0.0.9:4433"}));

  // b's dial failed (not connected): dialed again on the next round; an empty list drops all.
  plan = PlanReconcile(desired, proposed, {"a"}, {});
  EXPECT_EQ(plan.dials, (std::vector<std::string>{"b"}));
  plan = PlanReconcile({}, proposed, {"a", "b"}, {});
  EXPECT_EQ(plan.drops, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(proposed.empty());
}

}  // namespace
}  // namespace peat::discovery

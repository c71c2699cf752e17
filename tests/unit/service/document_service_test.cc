// Document, collection-config and typed-collection RPCs over the real RpcRouter (Connect JSON
// unless noted), backed by FakeDocumentStore.
#include "service/document_service.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "service/service_harness.h"
#include "service/typed_collection_service.h"

namespace peat::service {
namespace {

namespace pb = peat::sidecar::v1;
using json = nlohmann::json;
using store::DeletionPolicy;
using testing::ServiceHarness;

// A Connect JSON request body from a JSON value (so tests need not escape nested JSON text).
std::string Body(const json& j) { return j.dump(); }

class DocumentServiceTest : public ::testing::Test {
 protected:
  // Calls `method` and returns (HTTP status, body).
  std::pair<int, std::string> Call(const std::string& method, const json& body) {
    auto ex = h_.CallJson(method, Body(body));
    return {ex->status(), ex->body()};
  }
  std::pair<int, std::string> Put(const std::string& collection, const std::string& doc_id,
                                  const std::string& json_data) {
    return Call("PutDocument",
                {{"collection", collection}, {"docId", doc_id}, {"jsonData", json_data}});
  }
  std::pair<int, std::string> Get(const std::string& collection, const std::string& doc_id) {
    return Call("GetDocument", {{"collection", collection}, {"docId", doc_id}});
  }
  std::pair<int, std::string> Delete(const std::string& collection, const std::string& doc_id) {
    return Call("DeleteDocument", {{"collection", collection}, {"docId", doc_id}});
  }
  std::pair<int, std::string> List(const std::string& collection) {
    return Call("ListDocuments", {{"collection", collection}});
  }

  static std::pair<int, std::string> Ok(const std::string& body) { return {200, body}; }
  static std::pair<int, std::string> Error(int http, const std::string& code,
                                           const std::string& message) {
    return {http, json{{"code", code}, {"message", message}}.dump()};
  }

  ServiceHarness h_;
};

// --- PutDocument / GetDocument / DeleteDocument / ListDocuments ----------------------------

TEST_F(DocumentServiceTest, PutThenGetReturnsTheJson) {
  EXPECT_EQ(Put("sensors", "s1", R"({"temp":21.5,"unit":"C"})"), Ok("{}"));
  EXPECT_EQ(Get("sensors", "s1"), Ok(R"({"jsonData":"{\"temp\":21.5,\"unit\":\"C\"}"})"));
  auto doc = h_.store.Inspect("sensors", "s1");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(doc->json, R"({"temp":21.5,"unit":"C"})");
}

TEST_F(DocumentServiceTest, PutReplacesTheDocument) {
  ASSERT_EQ(Put("c", "d", R"({"a":1,"b":2})"), Ok("{}"));
  ASSERT_EQ(Put("c", "d", R"({"c":3})"), Ok("{}"));
  EXPECT_EQ(Get("c", "d"), Ok(R"({"jsonData":"{\"c\":3}"})"));
}

TEST_F(DocumentServiceTest, PutAnswersOnlyAfterTheStoreCompletesTheWrite) {
  // With a writer thread the completion arrives from another thread; the answer must wait for it.
  ServiceHarness h(ServiceHarness::Mode::kWriterThread);
  auto ex =
      h.CallJson("PutDocument", Body({{"collection", "c"}, {"docId", "d"}, {"jsonData", "{}"}}));
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->body(), "{}");
  EXPECT_EQ(h.store.write_count(), 1);
  ASSERT_TRUE(h.store.Inspect("c", "d").has_value());
}

TEST_F(DocumentServiceTest, GetOfMissingDocIsOkWithJsonDataAbsent) {
  EXPECT_EQ(Get("c", "nope"), Ok("{}"));
  EXPECT_EQ(Get("never-used-collection", "x"), Ok("{}"));
}

TEST_F(DocumentServiceTest, GetOfDeletedDocIsOkWithJsonDataAbsent) {
  ASSERT_EQ(Put("c", "d", R"({"a":1})"), Ok("{}"));
  EXPECT_EQ(Delete("c", "d"), Ok("{}"));
  EXPECT_EQ(Get("c", "d"), Ok("{}"));
  auto doc = h_.store.Inspect("c", "d");
  ASSERT_TRUE(doc.has_value());
  EXPECT_TRUE(doc->deleted);
}

TEST_F(DocumentServiceTest, EmptyDocumentIsPresentNotAbsent) {
  ASSERT_EQ(Put("c", "d", "{}"), Ok("{}"));
  EXPECT_EQ(Get("c", "d"), Ok(R"({"jsonData":"{}"})"));
}

TEST_F(DocumentServiceTest, DeleteOfMissingDocIsOk) {
  EXPECT_EQ(Delete("c", "never-existed"), Ok("{}"));
  EXPECT_EQ(h_.store.write_count(), 1);  // it still went to the store
}

TEST_F(DocumentServiceTest, PutAfterDeleteBringsTheDocBack) {
  ASSERT_EQ(Put("c", "d", R"({"a":1})"), Ok("{}"));
  ASSERT_EQ(Delete("c", "d"), Ok("{}"));
  ASSERT_EQ(Put("c", "d", R"({"b":2})"), Ok("{}"));
  EXPECT_EQ(Get("c", "d"), Ok(R"({"jsonData":"{\"b\":2}"})"));
  EXPECT_EQ(List("c"), Ok(R"({"docIds":["d"]})"));
}

TEST_F(DocumentServiceTest, ListDocumentsIsSortedAndOmitsDeletedDocs) {
  for (const char* id : {"zulu", "alpha", "Bravo", "alpha-agent:nginx", "charlie", "10", "9"}) {
    ASSERT_EQ(Put("fleet", id, "{}"), Ok("{}")) << id;
  }
  ASSERT_EQ(Put("other", "aaa", "{}"), Ok("{}"));
  ASSERT_EQ(Delete("fleet", "charlie"), Ok("{}"));
  EXPECT_EQ(List("fleet"),
            Ok(R"({"docIds":["10","9","Bravo","alpha","alpha-agent:nginx","zulu"]})"));
}

TEST_F(DocumentServiceTest, ListDocumentsOfUnknownCollectionIsEmpty) {
  EXPECT_EQ(List("nothing-here"), Ok("{}"));  // an empty repeated field is omitted
}

TEST_F(DocumentServiceTest, ListDocumentsStoreFailureIsReported) {
  h_.store.FailNextRead(UnavailableError("disk gone"));
  EXPECT_EQ(List("c"), Error(503, "unavailable", "disk gone"));
  EXPECT_EQ(List("c"), Ok("{}"));  // the failure was for one read only
}

TEST_F(DocumentServiceTest, GetStoreFailureIsReported) {
  ASSERT_EQ(Put("c", "d", R"({"a":"ENC:v1:xyz"})"), Ok("{}"));
  h_.store.FailNextRead(FailedPreconditionError("cannot decrypt c/d"));
  EXPECT_EQ(Get("c", "d"), Error(400, "failed_precondition", "cannot decrypt c/d"));
}

TEST_F(DocumentServiceTest, BadCollectionIs400NamingTheField) {
  EXPECT_EQ(Put("", "d", "{}"), Error(400, "invalid_argument", "collection must not be empty"));
  EXPECT_EQ(Get("", "d"), Error(400, "invalid_argument", "collection must not be empty"));
  EXPECT_EQ(Delete("", "d"), Error(400, "invalid_argument", "collection must not be empty"));
  EXPECT_EQ(List(""), Error(400, "invalid_argument", "collection must not be empty"));
  EXPECT_EQ(Put(std::string(1025, 'c'), "d", "{}"),
            Error(400, "invalid_argument", "collection is 1025 bytes; the limit is 1024"));
  EXPECT_EQ(h_.store.write_count(), 0);  // nothing reached the store
}

TEST_F(DocumentServiceTest, BadDocIdIs400NamingTheField) {
  EXPECT_EQ(Put("c", "", "{}"), Error(400, "invalid_argument", "doc_id must not be empty"));
  EXPECT_EQ(Get("c", ""), Error(400, "invalid_argument", "doc_id must not be empty"));
  EXPECT_EQ(Delete("c", ""), Error(400, "invalid_argument", "doc_id must not be empty"));
  EXPECT_EQ(Get("c", std::string(1025, 'd')),
            Error(400, "invalid_argument", "doc_id is 1025 bytes; the limit is 1024"));
  EXPECT_EQ(Put("c", std::string("a\0b", 3), "{}"),
            Error(400, "invalid_argument", "doc_id must not contain NUL characters"));
  EXPECT_EQ(h_.store.write_count(), 0);
}

TEST_F(DocumentServiceTest, LongestValidIdsWork) {
  std::string c(1024, 'c'), d(1024, 'd');
  EXPECT_EQ(Put(c, d, R"({"ok":true})"), Ok("{}"));
  EXPECT_EQ(Get(c, d), Ok(R"({"jsonData":"{\"ok\":true}"})"));
}

TEST_F(DocumentServiceTest, DocIdsWithColonsWork) {
  EXPECT_EQ(Put("deployments", "alpha-agent:nginx", R"({"v":1})"), Ok("{}"));
  EXPECT_EQ(Get("deployments", "alpha-agent:nginx"), Ok(R"({"jsonData":"{\"v\":1}"})"));
  EXPECT_EQ(List("deployments"), Ok(R"({"docIds":["alpha-agent:nginx"]})"));
}

TEST_F(DocumentServiceTest, InvalidJsonDataIsInvalidArgument) {
  EXPECT_EQ(Put("c", "d", "not json"),
            Error(400, "invalid_argument", "json_data is not valid JSON"));
  EXPECT_EQ(Put("c", "d", "[1,2]"),
            Error(400, "invalid_argument", "json_data must be a JSON object"));
  EXPECT_EQ(Get("c", "d"), Ok("{}"));
}

TEST_F(DocumentServiceTest, StoreWriteFailureIs429ResourceExhaustedAndChangesNothing) {
  ASSERT_EQ(Put("c", "d", R"({"v":1})"), Ok("{}"));
  h_.store.FailNextWrite(ResourceExhaustedError("disk full"));
  EXPECT_EQ(Put("c", "d", R"({"v":2})"), Error(429, "resource_exhausted", "disk full"));
  EXPECT_EQ(Get("c", "d"), Ok(R"({"jsonData":"{\"v\":1}"})"));
  // The next write succeeds again.
  EXPECT_EQ(Put("c", "d", R"({"v":3})"), Ok("{}"));
  EXPECT_EQ(Get("c", "d"), Ok(R"({"jsonData":"{\"v\":3}"})"));
}

TEST_F(DocumentServiceTest, StoreUnavailableOnDeleteIs503) {
  ASSERT_EQ(Put("c", "d", R"({"v":1})"), Ok("{}"));
  h_.store.FailNextWrite(UnavailableError("store closed"));
  EXPECT_EQ(Delete("c", "d"), Error(503, "unavailable", "store closed"));
  EXPECT_EQ(Get("c", "d"), Ok(R"({"jsonData":"{\"v\":1}"})"));
}

TEST_F(DocumentServiceTest, DeleteInImmutableCollectionIsFailedPrecondition) {
  ASSERT_EQ(Call("SetCollectionConfig",
                 {{"config",
                   {{"collection", "audit"}, {"deletionPolicy", "DELETION_POLICY_IMMUTABLE"}}}}),
            Ok("{}"));
  ASSERT_EQ(Put("audit", "e1", R"({"who":"me"})"), Ok("{}"));
  EXPECT_EQ(Delete("audit", "e1"),
            Error(400, "failed_precondition", "collection audit is IMMUTABLE"));
  EXPECT_EQ(Get("audit", "e1"), Ok(R"({"jsonData":"{\"who\":\"me\"}"})"));
}

TEST_F(DocumentServiceTest, ProtoEncodingWorksToo) {
  pb::PutDocumentRequest put;
  put.set_collection("c");
  put.set_doc_id("d");
  put.set_json_data(R"({"p":true})");
  auto ex = h_.Start("PutDocument", "application/proto", put.SerializeAsString());
  ASSERT_TRUE(h_.RunUntil([&] { return ex->ended(); }));
  EXPECT_EQ(ex->status(), 200);
  EXPECT_EQ(ex->body(), "");  // an empty message

  pb::GetDocumentRequest get;
  get.set_collection("c");
  get.set_doc_id("d");
  ex = h_.Start("GetDocument", "application/proto", get.SerializeAsString());
  ASSERT_TRUE(h_.RunUntil([&] { return ex->ended(); }));
  pb::GetDocumentResponse resp;
  ASSERT_TRUE(resp.ParseFromString(ex->body()));
  ASSERT_TRUE(resp.has_json_data());
  EXPECT_EQ(resp.json_data(), R"({"p":true})");

  get.set_doc_id("missing");
  ex = h_.Start("GetDocument", "application/proto", get.SerializeAsString());
  ASSERT_TRUE(h_.RunUntil([&] { return ex->ended(); }));
  resp.Clear();
  ASSERT_TRUE(resp.ParseFromString(ex->body()));
  EXPECT_FALSE(resp.has_json_data());
}

// --- Collection configs --------------------------------------------------------------------

TEST_F(DocumentServiceTest, SetGetCollectionConfigRoundTrip) {
  EXPECT_EQ(Call("SetCollectionConfig", {{"config",
                                          {{"collection", "tracks"},
                                           {"deletionPolicy", "DELETION_POLICY_TOMBSTONE"},
                                           {"tombstoneTtlSecs", "3600"}}}}),
            Ok("{}"));
  EXPECT_EQ(Call("GetCollectionConfig", {{"collection", "tracks"}}),
            Ok(R"({"config":{"collection":"tracks","deletionPolicy":"DELETION_POLICY_TOMBSTONE",)"
               R"("tombstoneTtlSecs":"3600"}})"));
  auto stored = h_.store.InspectConfig("tracks");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->deletion_policy, DeletionPolicy::kTombstone);
  EXPECT_EQ(stored->tombstone_ttl_secs, std::optional<uint64_t>(3600));
  EXPECT_EQ(stored->soft_delete_ttl_secs, std::nullopt);
}

TEST_F(DocumentServiceTest, SetCollectionConfigReplacesWholesale) {
  ASSERT_EQ(Call("SetCollectionConfig", {{"config",
                                          {{"collection", "c"},
                                           {"deletionPolicy", "DELETION_POLICY_IMPLICIT_TTL"},
                                           {"softDeleteTtlSecs", "60"},
                                           {"tombstoneTtlSecs", "120"}}}}),
            Ok("{}"));
  ASSERT_EQ(
      Call("SetCollectionConfig",
           {{"config", {{"collection", "c"}, {"deletionPolicy", "DELETION_POLICY_TOMBSTONE"}}}}),
      Ok("{}"));
  EXPECT_EQ(Call("GetCollectionConfig", {{"collection", "c"}}),
            Ok(R"({"config":{"collection":"c","deletionPolicy":"DELETION_POLICY_TOMBSTONE"}})"));
  auto stored = h_.store.InspectConfig("c");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->soft_delete_ttl_secs, std::nullopt);
  EXPECT_EQ(stored->tombstone_ttl_secs, std::nullopt);
}

TEST_F(DocumentServiceTest, AllPoliciesMapBothWays) {
  for (const char* policy : {"DELETION_POLICY_SOFT_DELETE", "DELETION_POLICY_TOMBSTONE",
                             "DELETION_POLICY_IMPLICIT_TTL", "DELETION_POLICY_IMMUTABLE"}) {
    SCOPED_TRACE(policy);
    ASSERT_EQ(Call("SetCollectionConfig",
                   {{"config", {{"collection", "c"}, {"deletionPolicy", policy}}}}),
              Ok("{}"));
    EXPECT_EQ(Call("GetCollectionConfig", {{"collection", "c"}}),
              Ok(json{{"config", {{"collection", "c"}, {"deletionPolicy", policy}}}}.dump()));
  }
}

TEST_F(DocumentServiceTest, UnspecifiedPolicyIsStoredAsSoftDelete) {
  ASSERT_EQ(Call("SetCollectionConfig", {{"config", {{"collection", "c"}}}}), Ok("{}"));
  auto stored = h_.store.InspectConfig("c");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->deletion_policy, DeletionPolicy::kSoftDelete);
  EXPECT_EQ(Call("GetCollectionConfig", {{"collection", "c"}}),
            Ok(R"({"config":{"collection":"c","deletionPolicy":"DELETION_POLICY_SOFT_DELETE"}})"));
  // Explicitly UNSPECIFIED too.
  ASSERT_EQ(
      Call("SetCollectionConfig",
           {{"config", {{"collection", "d"}, {"deletionPolicy", "DELETION_POLICY_UNSPECIFIED"}}}}),
      Ok("{}"));
  EXPECT_EQ(h_.store.InspectConfig("d")->deletion_policy, DeletionPolicy::kSoftDelete);
}

TEST_F(DocumentServiceTest, SetCollectionConfigWithoutConfigIsInvalidArgument) {
  EXPECT_EQ(Call("SetCollectionConfig", json::object()),
            Error(400, "invalid_argument", "config is required"));
  EXPECT_EQ(Call("SetCollectionConfig", {{"config", json::object()}}),
            Error(400, "invalid_argument", "config.collection must not be empty"));
  EXPECT_EQ(h_.store.write_count(), 0);
}

TEST_F(DocumentServiceTest, GetCollectionConfigOfUnconfiguredCollectionHasConfigAbsent) {
  EXPECT_EQ(Call("GetCollectionConfig", {{"collection", "unconfigured"}}), Ok("{}"));
  EXPECT_EQ(Call("GetCollectionConfig", {{"collection", ""}}),
            Error(400, "invalid_argument", "collection must not be empty"));
}

TEST_F(DocumentServiceTest, ListCollectionConfigs) {
  EXPECT_EQ(Call("ListCollectionConfigs", json::object()), Ok("{}"));
  ASSERT_EQ(
      Call("SetCollectionConfig",
           {{"config", {{"collection", "b"}, {"deletionPolicy", "DELETION_POLICY_IMMUTABLE"}}}}),
      Ok("{}"));
  ASSERT_EQ(Call("SetCollectionConfig",
                 {{"config", {{"collection", "a"}, {"softDeleteTtlSecs", "86400"}}}}),
            Ok("{}"));
  EXPECT_EQ(Call("ListCollectionConfigs", json::object()),
            Ok(R"({"configs":[{"collection":"a","deletionPolicy":"DELETION_POLICY_SOFT_DELETE",)"
               R"("softDeleteTtlSecs":"86400"},{"collection":"b",)"
               R"("deletionPolicy":"DELETION_POLICY_IMMUTABLE"}]})"));
}

TEST_F(DocumentServiceTest, CollectionConfigWriteFailureIsReported) {
  h_.store.FailNextWrite(ResourceExhaustedError("disk full"));
  EXPECT_EQ(Call("SetCollectionConfig", {{"config", {{"collection", "c"}}}}),
            Error(429, "resource_exhausted", "disk full"));
  EXPECT_EQ(Call("GetCollectionConfig", {{"collection", "c"}}), Ok("{}"));
}

// --- Typed collections ---------------------------------------------------------------------

TEST_F(DocumentServiceTest, PutNodeWithoutNodeIsInvalidArgument) {
  EXPECT_EQ(Call("PutNode", json::object()), Error(400, "invalid_argument", "node is required"));
  EXPECT_EQ(Call("PutCell", json::object()), Error(400, "invalid_argument", "cell is required"));
  EXPECT_EQ(Call("PutTrack", json::object()), Error(400, "invalid_argument", "track is required"));
  EXPECT_EQ(Call("PutCommand", json::object()),
            Error(400, "invalid_argument", "command is required"));
  EXPECT_EQ(h_.store.write_count(), 0);
}

TEST_F(DocumentServiceTest, TypedPutValidatesTheId) {
  EXPECT_EQ(Call("PutNode", {{"node", {{"name", "no id"}}}}),
            Error(400, "invalid_argument", "node.id must not be empty"));
  EXPECT_EQ(Call("PutTrack", {{"track", {{"id", std::string(1025, 't')}}}}),
            Error(400, "invalid_argument", "track.id is 1025 bytes; the limit is 1024"));
  EXPECT_EQ(h_.store.write_count(), 0);
}

TEST_F(DocumentServiceTest, PutNodeThenGetNodesRoundTrip) {
  json node = {{"id", "n1"},
               {"nodeType", "uav"},
               {"name", "Alpha"},
               {"status", "NODE_STATUS_BUSY"},
               {"latitude", 37.5},
               {"longitude", -122.25},
               {"altitudeM", 120.5},
               {"readiness", 0.75},
               {"capabilities", {"eo", "ir"}},
               {"callsign", "A1"}};
  ASSERT_EQ(Call("PutNode", {{"node", node}}), Ok("{}"));
  // Stored as the snake_case document of CONTRACT.md.
  auto doc = h_.store.Inspect("nodes", "n1");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(json::parse(doc->json),
            json::parse(R"({"id":"n1","node_type":"uav","name":"Alpha","status":2,)"
                        R"("latitude":37.5,"longitude":-122.25,"altitude_m":120.5,)"
                        R"("readiness":0.75,"capabilities":["eo","ir"],"unit_id":null,)"
                        R"("callsign":"A1"})"));
  EXPECT_EQ(
      Call("GetNodes", json::object()),
      Ok(R"({"nodes":[{"id":"n1","nodeType":"uav","name":"Alpha","status":"NODE_STATUS_BUSY",)"
         R"("latitude":37.5,"longitude":-122.25,"altitudeM":120.5,"readiness":0.75,)"
         R"("capabilities":["eo","ir"],"callsign":"A1"}]})"));
}

TEST_F(DocumentServiceTest, GetNodesReadsEveryDocOfTheCollectionInIdOrder) {
  ASSERT_EQ(Call("PutNode", {{"node", {{"id", "n2"}, {"name", "Two"}}}}), Ok("{}"));
  ASSERT_EQ(Call("PutNode", {{"node", {{"id", "n1"}, {"name", "One"}}}}), Ok("{}"));
  // A document written by another writer (the agent watcher), without "id" and with extra fields.
  ASSERT_EQ(Put("nodes", "alpha-agent", R"({"agent_id":"a","node_type":"uds-remote-agent"})"),
            Ok("{}"));
  // Documents of other collections are not nodes.
  ASSERT_EQ(Put("cells", "n0", R"({"name":"not a node"})"), Ok("{}"));
  EXPECT_EQ(Call("GetNodes", json::object()),
            Ok(R"({"nodes":[{"id":"alpha-agent","nodeType":"uds-remote-agent"},)"
               R"({"id":"n1","name":"One"},{"id":"n2","name":"Two"}]})"));
}

TEST_F(DocumentServiceTest, GetNodesOfEmptyCollectionIsEmpty) {
  EXPECT_EQ(Call("GetNodes", json::object()), Ok("{}"));
}

TEST_F(DocumentServiceTest, GetNodesScanFailureIsReported) {
  h_.store.FailNextRead(UnavailableError("store closed"));
  EXPECT_EQ(Call("GetNodes", json::object()), Error(503, "unavailable", "store closed"));
}

TEST_F(DocumentServiceTest, PutNodeWriteFailureIsReported) {
  h_.store.FailNextWrite(ResourceExhaustedError("disk full"));
  EXPECT_EQ(Call("PutNode", {{"node", {{"id", "n1"}}}}),
            Error(429, "resource_exhausted", "disk full"));
  EXPECT_FALSE(h_.store.Inspect("nodes", "n1").has_value());
}

TEST_F(DocumentServiceTest, PutCellThenGetCells) {
  ASSERT_EQ(Call("PutCell", {{"cell",
                              {{"id", "cell-1"},
                               {"name", "Blue"},
                               {"status", "CELL_STATUS_ACTIVE"},
                               {"nodeCount", 3},
                               {"centerLatitude", 1.25},
                               {"capabilities", {"relay"}},
                               {"leaderId", "n1"}}}}),
            Ok("{}"));
  EXPECT_EQ(json::parse(h_.store.Inspect("cells", "cell-1")->json),
            json::parse(R"({"id":"cell-1","name":"Blue","status":1,"node_count":3,)"
                        R"("center_latitude":1.25,"center_longitude":0.0,"capabilities":["relay"],)"
                        R"("formation_id":null,"leader_id":"n1"})"));
  EXPECT_EQ(
      Call("GetCells", json::object()),
      Ok(R"({"cells":[{"id":"cell-1","name":"Blue","status":"CELL_STATUS_ACTIVE",)"
         R"("nodeCount":3,"centerLatitude":1.25,"capabilities":["relay"],"leaderId":"n1"}]})"));
}

TEST_F(DocumentServiceTest, PutTrackThenGetTracks) {
  ASSERT_EQ(Call("PutTrack", {{"track",
                               {{"id", "t1"},
                                {"sourceNode", "n1"},
                                {"latitude", 10.5},
                                {"altitudeM", 0},
                                {"speedMps", 3.5},
                                {"classification", "unknown"},
                                {"confidence", 0.5},
                                {"category", "TRACK_CATEGORY_VEHICLE"}}}}),
            Ok("{}"));
  EXPECT_EQ(json::parse(h_.store.Inspect("tracks", "t1")->json),
            json::parse(R"({"id":"t1","source_node":"n1","cell_id":null,"formation_id":null,)"
                        R"("latitude":10.5,"longitude":0.0,"altitude_m":0.0,"cep_m":null,)"
                        R"("heading_deg":null,"speed_mps":3.5,"classification":"unknown",)"
                        R"("confidence":0.5,"category":2})"));
  // altitudeM is present (explicit optional) although zero.
  EXPECT_EQ(Call("GetTracks", json::object()),
            Ok(R"({"tracks":[{"id":"t1","sourceNode":"n1","latitude":10.5,"altitudeM":0,)"
               R"("speedMps":3.5,"classification":"unknown","confidence":0.5,)"
               R"("category":"TRACK_CATEGORY_VEHICLE"}]})"));
}

TEST_F(DocumentServiceTest, PutCommandThenGetCommands) {
  ASSERT_EQ(Call("PutCommand", {{"command",
                                 {{"id", "c1"},
                                  {"targetId", "n1"},
                                  {"commandType", "reboot"},
                                  {"status", "COMMAND_STATUS_PENDING"},
                                  {"createdAt", "1700000000"},
                                  {"expiresAt", 1700000600},
                                  {"payloadJson", R"({"delay":5})"}}}}),
            Ok("{}"));
  EXPECT_EQ(h_.store.Inspect("commands", "c1")->json,
            R"({"command_type":"reboot","created_at":1700000000,"expires_at":1700000600,)"
            R"("id":"c1","payload_json":"{\"delay\":5}","status":1,"target_id":"n1"})");
  EXPECT_EQ(Call("GetCommands", json::object()),
            Ok(R"({"commands":[{"id":"c1","targetId":"n1","commandType":"reboot",)"
               R"("status":"COMMAND_STATUS_PENDING","createdAt":"1700000000",)"
               R"("expiresAt":"1700000600","payloadJson":"{\"delay\":5}"}]})"));
}

TEST_F(DocumentServiceTest, TypedPutReplacesByIdAndDeleteDocumentRemovesIt) {
  ASSERT_EQ(Call("PutNode", {{"node", {{"id", "n1"}, {"name", "Old"}}}}), Ok("{}"));
  ASSERT_EQ(Call("PutNode", {{"node", {{"id", "n1"}, {"name", "New"}}}}), Ok("{}"));
  EXPECT_EQ(Call("GetNodes", json::object()), Ok(R"({"nodes":[{"id":"n1","name":"New"}]})"));
  ASSERT_EQ(Delete("nodes", "n1"), Ok("{}"));
  EXPECT_EQ(Call("GetNodes", json::object()), Ok("{}"));
}

}  // namespace
}  // namespace peat::service

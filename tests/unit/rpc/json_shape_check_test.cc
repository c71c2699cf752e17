#include "rpc/json_shape_check.h"

#include <gtest/gtest.h>

#include <string>

#include "grpc/health/v1/health.pb.h"
#include "palette_proto.h"
#include "peat/sidecar/v1/sidecar.pb.h"

namespace peat::rpc {
namespace {

namespace hpb = grpc::health::v1;
namespace pb = peat::sidecar::v1;
using google::protobuf::Descriptor;

constexpr const char* kColors = "COLOR_UNSPECIFIED, COLOR_RED, COLOR_BLUE";

const Descriptor& Palette() { return *testing::PalettePrototype().GetDescriptor(); }

std::string Explain(const Descriptor& d, std::string_view json) {
  auto why = ExplainJsonRejection(json, d);
  return why ? *why : "<none>";
}

std::string Enums(const Descriptor& d, std::string_view json) {
  Status st = CheckJsonEnumValues(json, d);
  if (st.ok()) return "ok";
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  return st.message();
}

TEST(JsonShapeCheckTest, WrongTypesInWords) {
  const Descriptor& put = *pb::PutDocumentRequest::descriptor();
  EXPECT_EQ(Explain(put, R"({"collection":"c","jsonData":{"a":1}})"),
            "json_data must be a string containing JSON; got an object");
  EXPECT_EQ(Explain(put, R"({"json_data":[1]})"),
            "json_data must be a string containing JSON; got an array");
  EXPECT_EQ(Explain(put, R"({"jsonData":12})"),
            "json_data must be a string containing JSON; got a number");
  EXPECT_EQ(Explain(put, R"({"jsonData":false})"),
            "json_data must be a string containing JSON; got a boolean");
  EXPECT_EQ(Explain(put, R"({"collection":{}})"), "collection must be a string; got an object");

  const Descriptor& set = *pb::SetCollectionConfigRequest::descriptor();
  EXPECT_EQ(Explain(set, R"({"config":"x"})"), "config must be an object; got a string");
  EXPECT_EQ(Explain(set, R"({"config":[]})"), "config must be an object; got an array");
  EXPECT_EQ(Explain(set, R"({"config":{"softDeleteTtlSecs":true}})"),
            "config.soft_delete_ttl_secs must be a number; got a boolean");
  EXPECT_EQ(Explain(set, R"({"config":{"tombstoneTtlSecs":{"n":1}}})"),
            "config.tombstone_ttl_secs must be a number; got an object");
  EXPECT_EQ(Explain(set, R"({"config":{"deletionPolicy":true}})"),
            "config.deletion_policy must be an enum name (a string) or number; got a boolean");
  EXPECT_EQ(Explain(set, R"({"config":{"deletionPolicy":["DELETION_POLICY_IMMUTABLE"]}})"),
            "config.deletion_policy must be an enum name (a string) or number; got an array");

  const Descriptor& node = *pb::PutNodeRequest::descriptor();
  EXPECT_EQ(Explain(node, R"({"node":{"latitude":true}})"),
            "node.latitude must be a number; got a boolean");
  EXPECT_EQ(Explain(node, R"({"node":{"capabilities":{}}})"),
            "node.capabilities must be a list of strings; got an object");
  EXPECT_EQ(Explain(node, R"({"node":{"capabilities":["a",7]}})"),
            "node.capabilities[1] must be a string; got a number");

  EXPECT_EQ(Explain(*pb::GetStatusResponse::descriptor(), R"({"syncActive":1})"),
            "sync_active must be a boolean; got a number");
  EXPECT_EQ(Explain(*pb::FileSpec::descriptor(), R"({"sha256":5})"),
            "sha256 must be a string (base64); got a number");
  EXPECT_EQ(Explain(*pb::PutCommandRequest::descriptor(), R"({"command":{"payloadJson":{}}})"),
            "command.payload_json must be a string containing JSON; got an object");

  const Descriptor& send = *pb::SendAttachmentsRequest::descriptor();
  EXPECT_EQ(Explain(send, R"({"files":5})"), "files must be a list of objects; got a number");
  EXPECT_EQ(Explain(send, R"({"files":[{},5]})"), "files[1] must be an object; got a number");
  EXPECT_EQ(Explain(send, R"({"files":[{"sizeBytes":[]}]})"),
            "files[0].size_bytes must be a number; got an array");

  EXPECT_EQ(Explain(Palette(), R"({"byName":[]})"), "by_name must be an object; got an array");
  EXPECT_EQ(Explain(Palette(), R"({"byName":"x"})"), "by_name must be an object; got a string");
  EXPECT_EQ(Explain(Palette(), R"({"swatches":{"1":{"label":2}}})"),
            "swatches[\"1\"].label must be a string; got a number");
  EXPECT_EQ(Explain(Palette(), R"({"colors":[{}]})"),
            "colors[0] must be an enum name (a string) or number; got an object");
}

TEST(JsonShapeCheckTest, TheRootMustBeAnObject) {
  const Descriptor& d = *hpb::HealthCheckRequest::descriptor();
  EXPECT_EQ(Explain(d, "[]"), "request message must be a JSON object; got an array");
  EXPECT_EQ(Explain(d, "5"), "request message must be a JSON object; got a number");
  EXPECT_EQ(Explain(d, "\"x\""), "request message must be a JSON object; got a string");
  EXPECT_EQ(Explain(d, "null"), "request message must be a JSON object; got null");
}

TEST(JsonShapeCheckTest, AcceptedKindsAreNotExplained) {
  // What protobuf's parser takes: numbers as strings, booleans as "true", null anywhere, a single
  // value for a repeated field, unknown keys of any shape.
  const Descriptor& node = *pb::PutNodeRequest::descriptor();
  for (const char* json :
       {R"({"node":{"latitude":"1.5","readiness":2,"capabilities":"a","status":null}})",
        R"({"node":{"capabilities":["a",null,"b"],"id":null}})",
        R"({"node":null,"future":{"x":[1,{"y":true}]},"other":[[[]]]})",
        R"({"node":{"latitude":123456789012345678901234567890}})"}) {
    EXPECT_EQ(Explain(node, json), "<none>") << json;
  }
  EXPECT_EQ(Explain(*pb::GetStatusResponse::descriptor(), R"({"syncActive":"true"})"), "<none>");
  EXPECT_EQ(Explain(*pb::GetSyncStatsResponse::descriptor(),
                    R"({"bytesSent":"18446744073709551615","bytesReceived":42})"),
            "<none>");
}

TEST(JsonShapeCheckTest, InvalidJsonIsNotExplained) {
  // protobuf's own message stays for these: the walk reports nothing for text that is not JSON,
  // even when a wrong type came before the syntax error.
  const Descriptor& put = *pb::PutDocumentRequest::descriptor();
  for (const char* json : {"", "{", "not json", R"({"jsonData":{}} trailing)", R"({"jsonData":{},)",
                           R"({jsonData:{}})", "{\"jsonData\":\"\xff\"}"}) {
    EXPECT_EQ(Explain(put, json), "<none>") << json;
  }
}

TEST(JsonShapeCheckTest, UnknownEnumNamesAndNumbers) {
  const Descriptor& set = *pb::SetCollectionConfigRequest::descriptor();
  const std::string accepted =
      "; accepted: DELETION_POLICY_UNSPECIFIED, DELETION_POLICY_SOFT_DELETE, "
      "DELETION_POLICY_TOMBSTONE, DELETION_POLICY_IMPLICIT_TTL, DELETION_POLICY_IMMUTABLE";
  EXPECT_EQ(Enums(set, R"({"config":{"deletionPolicy":"IMMUTABLE"}})"),
            "config.deletion_policy: unknown enum value \"IMMUTABLE\"" + accepted);
  EXPECT_EQ(Enums(set, R"({"config":{"deletion_policy":99}})"),
            "config.deletion_policy: unknown enum value 99" + accepted);
  EXPECT_EQ(Enums(set, R"({"config":{"deletionPolicy":-1}})"),
            "config.deletion_policy: unknown enum value -1" + accepted);
  EXPECT_EQ(Enums(set, R"({"config":{"deletionPolicy":"99"}})"),
            "config.deletion_policy: unknown enum value \"99\"" + accepted);
  EXPECT_EQ(Enums(set, R"({"config":{"deletionPolicy":"deletion_policy_immutable"}})"),
            "config.deletion_policy: unknown enum value \"deletion_policy_immutable\"" + accepted);
  EXPECT_EQ(Enums(set, R"({"config":{"deletionPolicy":4294967300}})"),
            "config.deletion_policy: unknown enum value 4294967300" + accepted);
  EXPECT_EQ(Enums(set, R"({"config":{"deletionPolicy":1e10}})"),
            "config.deletion_policy: unknown enum value 1e+10" + accepted);
  EXPECT_EQ(Enums(set, R"({"config":{"deletionPolicy":9007199254740993}})"),
            "config.deletion_policy: unknown enum value 9007199254740993" + accepted);
  EXPECT_EQ(Enums(set, R"({"config":{"deletionPolicy":18446744073709551615}})"),
            "config.deletion_policy: unknown enum value 18446744073709551615" + accepted);
  // The same key twice: protobuf keeps the last value, but the body still carries a bad one.
  EXPECT_EQ(
      Enums(set,
            R"({"config":{"deletionPolicy":"X","deletion_policy":"DELETION_POLICY_TOMBSTONE"}})"),
      "config.deletion_policy: unknown enum value \"X\"" + accepted);
  // Escapes are decoded before the lookup, and shown escaped; long names are cut.
  EXPECT_EQ(Enums(set, R"({"config":{"deletionPolicy":"DELETION_POLICY_IMMUTABL\u0045"}})"), "ok");
  EXPECT_EQ(Enums(set, R"({"config":{"deletionPolicy":"a\"b\nc"}})"),
            "config.deletion_policy: unknown enum value \"a\\\"b\\nc\"" + accepted);
  EXPECT_EQ(
      Enums(set, "{\"config\":{\"deletionPolicy\":\"" + std::string(200, 'Z') + "\"}}"),
      "config.deletion_policy: unknown enum value \"" + std::string(64, 'Z') + "\"..." + accepted);

  // Known names and numbers, including a number in a string and an integral float, as protobuf.
  for (const char* json :
       {R"({"config":{"deletionPolicy":"DELETION_POLICY_IMMUTABLE"}})",
        R"({"config":{"deletionPolicy":4}})", R"({"config":{"deletionPolicy":"4"}})",
        R"({"config":{"deletionPolicy":4.0}})", R"({"config":{"deletionPolicy":null}})",
        R"({"config":{"deletionPolicy":0}})", R"({"config":null})", "{}"}) {
    EXPECT_EQ(Enums(set, json), "ok") << json;
  }
}

TEST(JsonShapeCheckTest, EnumsInListsMapsAndCustomJsonNames) {
  EXPECT_EQ(Enums(Palette(), R"({"colors":["COLOR_RED",2,null,"COLOR_BLUE"]})"), "ok");
  EXPECT_EQ(Enums(Palette(), R"({"colors":["COLOR_RED","COLOR_GREEN"]})"),
            std::string("colors[1]: unknown enum value \"COLOR_GREEN\"; accepted: ") + kColors);
  // A single value for a repeated field, and lists inside lists (protobuf flattens both).
  EXPECT_EQ(Enums(Palette(), R"({"colors":"COLOR_GREEN"})"),
            std::string("colors: unknown enum value \"COLOR_GREEN\"; accepted: ") + kColors);
  EXPECT_EQ(Enums(Palette(), R"({"colors":[["COLOR_RED"],[7]]})"),
            std::string("colors[1][0]: unknown enum value 7; accepted: ") + kColors);
  EXPECT_EQ(Enums(Palette(), R"({"byName":{"a":"COLOR_RED","b":"TEAL"}})"),
            std::string("by_name[\"b\"]: unknown enum value \"TEAL\"; accepted: ") + kColors);
  EXPECT_EQ(Enums(Palette(), R"({"swatches":{"3":{"label":"x","color":8}}})"),
            std::string("swatches[\"3\"].color: unknown enum value 8; accepted: ") + kColors);
  EXPECT_EQ(Enums(Palette(), R"({"list":[{"color":"COLOR_RED"},{"color":"PINK"}]})"),
            std::string("list[1].color: unknown enum value \"PINK\"; accepted: ") + kColors);
  // The field answers to its json_name "xyz" and to its proto name "accent".
  EXPECT_EQ(Enums(Palette(), R"({"xyz":"NOPE"})"),
            std::string("accent: unknown enum value \"NOPE\"; accepted: ") + kColors);
  EXPECT_EQ(Enums(Palette(), R"({"accent":"NOPE"})"),
            std::string("accent: unknown enum value \"NOPE\"; accepted: ") + kColors);
}

TEST(JsonShapeCheckTest, IntegersBeyond64BitsAreReadAsDoubles) {
  // simdjson refuses such a text; nlohmann walks it, with the same findings.
  const Descriptor& node = *pb::PutNodeRequest::descriptor();
  const std::string big = "123456789012345678901234567890";
  EXPECT_EQ(Enums(node, R"({"node":{"latitude":)" + big + R"(,"status":"NODE_STATUS_BUSY"}})"),
            "ok");
  EXPECT_EQ(Enums(node, R"({"node":{"latitude":)" + big + R"(,"status":"BUSY"}})"),
            "node.status: unknown enum value \"BUSY\"; accepted: NODE_STATUS_UNSPECIFIED, "
            "NODE_STATUS_READY, NODE_STATUS_BUSY, NODE_STATUS_DEGRADED, NODE_STATUS_OFFLINE");
  EXPECT_EQ(Enums(node, R"({"node":{"status":-)" + big + "}}")
                .rfind("node.status: unknown enum value -1.2345678901234568e+29; accepted: ", 0),
            0u);
  EXPECT_EQ(Explain(node, R"({"node":{"longitude":)" + big + R"(,"capabilities":{"a":1}}})"),
            "node.capabilities must be a list of strings; got an object");
  EXPECT_EQ(Explain(node, R"({"node":{"longitude":)" + big + R"(,"capabilities":["a",{}]}})"),
            "node.capabilities[1] must be a string; got an object");
}

TEST(JsonShapeCheckTest, BigBodiesAreStreamed) {
  // Over 64 KiB the text goes through nlohmann's SAX parser: same findings.
  const Descriptor& node = *pb::PutNodeRequest::descriptor();
  const std::string pad = R"("pad":")" + std::string(70 * 1024, 'p') + R"(",)";
  EXPECT_EQ(Enums(node, R"({)" + pad + R"("node":{"status":"NODE_STATUS_BUSY"}})"), "ok");
  EXPECT_EQ(Enums(node, R"({)" + pad + R"("node":{"status":"BUSY"}})"),
            "node.status: unknown enum value \"BUSY\"; accepted: NODE_STATUS_UNSPECIFIED, "
            "NODE_STATUS_READY, NODE_STATUS_BUSY, NODE_STATUS_DEGRADED, NODE_STATUS_OFFLINE");
  EXPECT_EQ(Explain(node, R"({)" + pad + R"("node":{"capabilities":[true]}})"),
            "node.capabilities[0] must be a string; got a boolean");
  EXPECT_EQ(Explain(node, R"({)" + pad + R"("node":{"capabilities":[true]})"), "<none>");
}

TEST(JsonShapeCheckTest, UnknownFieldsAndTheirContentAreSkipped) {
  const Descriptor& set = *pb::SetCollectionConfigRequest::descriptor();
  EXPECT_EQ(Enums(set, R"({"future":{"deletionPolicy":"BOGUS"},"config":{"x":["BOGUS"],)"
                       R"("deletionPolicy":"DELETION_POLICY_TOMBSTONE"}})"),
            "ok");
}

TEST(JsonShapeCheckTest, AttachmentPriorityUnknownNamesAndNumbersTakeTheDefault) {
  const Descriptor& send = *pb::SendAttachmentsRequest::descriptor();
  EXPECT_EQ(Enums(send, R"({"priority":"ATTACHMENT_PRIORITY_URGENT"})"), "ok");
  EXPECT_EQ(Enums(send, R"({"priority":99})"), "ok");
  EXPECT_EQ(Enums(send, R"({"priority":"ATTACHMENT_PRIORITY_CRITICAL"})"), "ok");
}

TEST(JsonShapeCheckTest, MessagesWithoutEnumsAreNotWalked) {
  // Nothing to check, so even text that is not JSON passes here (protobuf judged it already).
  EXPECT_EQ(Enums(*pb::GetCollectionConfigRequest::descriptor(), "{collection:'c'}"), "ok");
}

TEST(JsonShapeCheckTest, NonStandardJsonCannotBeCheckedForEnums) {
  // protobuf accepts unquoted keys and single quotes; with enum fields the body must be JSON.
  Status st = CheckJsonEnumValues("{config:{deletionPolicy:'IMMUTABLE'}}",
                                  *pb::SetCollectionConfigRequest::descriptor());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("malformed JSON request message: parse error", 0), 0u)
      << st.message();
}

TEST(JsonShapeCheckTest, DeepNestingEndsTheWalk) {
  // Recursive message without enums (the explanation walk), and unknown keys nested deep.
  const Descriptor& sub = *pb::SubscribeRequest::descriptor();
  std::string deep = R"({"query":)";
  for (int i = 0; i < 1000; ++i) deep += R"({"not":)";
  deep += "{}";
  for (int i = 0; i < 1000; ++i) deep += "}";
  deep += "}";
  EXPECT_EQ(Explain(sub, deep), "<none>");
  std::string wide = R"({"future":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(Explain(sub, wide), "<none>");
  EXPECT_EQ(Enums(*pb::SetCollectionConfigRequest::descriptor(), wide), "ok");
}

}  // namespace
}  // namespace peat::rpc

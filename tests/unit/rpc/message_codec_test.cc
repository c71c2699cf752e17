#include "rpc/message_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "grpc/health/v1/health.pb.h"
#include "peat/sidecar/v1/sidecar.pb.h"

namespace peat::rpc {
namespace {

namespace hpb = grpc::health::v1;
namespace pb = peat::sidecar::v1;

TEST(MessageCodecTest, ProtoRoundTrip) {
  pb::GetStatusResponse in;
  in.set_node_id("node-a");
  in.set_endpoint_addr(std::string(64, 'f'));
  in.set_sync_active(true);
  in.set_connected_peers(3);
  in.set_phase(pb::NODE_PHASE_SYNCING);
  std::string bytes = EncodeMessage(Codec::kProto, in);
  EXPECT_EQ(bytes, in.SerializeAsString());

  pb::GetStatusResponse out;
  Status st = DecodeMessage(Codec::kProto, bytes, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.node_id(), "node-a");
  EXPECT_EQ(out.endpoint_addr(), std::string(64, 'f'));
  EXPECT_TRUE(out.sync_active());
  EXPECT_EQ(out.connected_peers(), 3u);
  EXPECT_EQ(out.phase(), pb::NODE_PHASE_SYNCING);
}

TEST(MessageCodecTest, EmptyProtoIsTheDefaultMessage) {
  hpb::HealthCheckRequest out;
  out.set_service("stale");
  ASSERT_TRUE(DecodeMessage(Codec::kProto, "", &out).ok());
  EXPECT_EQ(out.service(), "");  // parsing replaces, it does not merge
  EXPECT_EQ(EncodeMessage(Codec::kProto, hpb::HealthCheckRequest()), "");
}

TEST(MessageCodecTest, MalformedProtoIsInvalidArgument) {
  hpb::HealthCheckRequest out;
  // Field 1 (length-delimited) declaring 100 bytes, only 2 present.
  Status st = DecodeMessage(Codec::kProto, std::string("\x0a\x64\x61\x62", 4), &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("protobuf"), std::string::npos) << st.message();

  st = DecodeMessage(Codec::kProto, std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11),
                     &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
}

TEST(MessageCodecTest, JsonAcceptsCamelCaseNames) {
  pb::GetStatusResponse out;
  Status st = DecodeMessage(
      Codec::kJson, R"({"nodeId":"n1","endpointAddr":"ab","syncActive":true,"connectedPeers":2})",
      &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.node_id(), "n1");
  EXPECT_EQ(out.endpoint_addr(), "ab");
  EXPECT_TRUE(out.sync_active());
  EXPECT_EQ(out.connected_peers(), 2u);
}

TEST(MessageCodecTest, JsonAcceptsOriginalFieldNames) {
  pb::GetStatusResponse out;
  Status st = DecodeMessage(
      Codec::kJson,
      R"({"node_id":"n2","endpoint_addr":"cd","sync_active":true,"phase":"NODE_PHASE_READY"})",
      &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.node_id(), "n2");
  EXPECT_EQ(out.endpoint_addr(), "cd");
  EXPECT_TRUE(out.sync_active());
  EXPECT_EQ(out.phase(), pb::NODE_PHASE_READY);
}

TEST(MessageCodecTest, JsonAccepts64BitIntegersAsNumbersOrStrings) {
  pb::GetSyncStatsResponse out;
  ASSERT_TRUE(DecodeMessage(Codec::kJson,
                            R"({"bytesSent":"18446744073709551615","bytesReceived":42})", &out)
                  .ok());
  EXPECT_EQ(out.bytes_sent(), 18446744073709551615ull);
  EXPECT_EQ(out.bytes_received(), 42u);
}

TEST(MessageCodecTest, JsonIgnoresUnknownFields) {
  hpb::HealthCheckRequest out;
  Status st = DecodeMessage(
      Codec::kJson, R"({"service":"peat","futureField":{"nested":[1,2,3]},"other":null})", &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.service(), "peat");
}

TEST(MessageCodecTest, JsonEmptyObjectIsTheDefaultMessage) {
  hpb::HealthCheckRequest out;
  ASSERT_TRUE(DecodeMessage(Codec::kJson, "{}", &out).ok());
  EXPECT_EQ(out.service(), "");
}

TEST(MessageCodecTest, MalformedJsonIsInvalidArgument) {
  for (const char* bad : {"", "{", "{\"service\":}", "not json", "{\"service\":\"unterminated}",
                          "{\"service\":5}", "[]", "{\"service\":\"a\"} trailing"}) {
    hpb::HealthCheckRequest out;
    Status st = DecodeMessage(Codec::kJson, bad, &out);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("JSON"), std::string::npos) << st.message();
  }
}

TEST(MessageCodecTest, JsonUnknownEnumNameIsIgnoredLikeAnUnknownField) {
  // With unknown fields ignored, protobuf (like Go protojson DiscardUnknown) also drops enum names
  // it does not know, so a newer client's enum value does not fail an older server.
  pb::GetStatusResponse out;
  Status st =
      DecodeMessage(Codec::kJson, R"({"nodeId":"n","phase":"NODE_PHASE_FROM_THE_FUTURE"})", &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.node_id(), "n");
  EXPECT_EQ(out.phase(), pb::NODE_PHASE_UNSPECIFIED);
}

TEST(MessageCodecTest, JsonEnumAsNumberIsAccepted) {
  pb::GetStatusResponse out;
  ASSERT_TRUE(DecodeMessage(Codec::kJson, R"({"phase":3})", &out).ok());
  EXPECT_EQ(out.phase(), pb::NODE_PHASE_SYNCING);
}

TEST(MessageCodecTest, JsonOutputIsCanonicalCamelCase) {
  pb::GetStatusResponse in;
  in.set_node_id("node-a");
  in.set_endpoint_addr("ee");
  in.set_sync_active(true);
  in.set_connected_peers(7);
  in.set_phase(pb::NODE_PHASE_READY);
  EXPECT_EQ(EncodeMessage(Codec::kJson, in),
            R"({"nodeId":"node-a","endpointAddr":"ee","syncActive":true,"connectedPeers":7,)"
            R"("phase":"NODE_PHASE_READY"})");
}

TEST(MessageCodecTest, JsonOutputOmitsZeroValues) {
  pb::GetStatusResponse in;
  in.set_node_id("only");
  EXPECT_EQ(EncodeMessage(Codec::kJson, in), R"({"nodeId":"only"})");
  EXPECT_EQ(EncodeMessage(Codec::kJson, pb::GetStatusResponse()), "{}");
  EXPECT_EQ(EncodeMessage(Codec::kJson, hpb::HealthCheckResponse()), "{}");
}

TEST(MessageCodecTest, JsonOutputWrites64BitIntegersAsStrings) {
  pb::GetSyncStatsResponse in;
  in.set_bytes_sent(18446744073709551615ull);
  in.set_connected_peers(1);
  EXPECT_EQ(EncodeMessage(Codec::kJson, in),
            R"({"connectedPeers":1,"bytesSent":"18446744073709551615"})");

  pb::Command cmd;
  cmd.set_created_at(-5);
  cmd.set_expires_at(1700000000000);
  EXPECT_EQ(EncodeMessage(Codec::kJson, cmd), R"({"createdAt":"-5","expiresAt":"1700000000000"})");
}

TEST(MessageCodecTest, JsonOutputKeepsExplicitOptionalEmptyString) {
  pb::GetDocumentResponse present;
  present.set_json_data("");
  EXPECT_EQ(EncodeMessage(Codec::kJson, present), R"({"jsonData":""})");
  EXPECT_EQ(EncodeMessage(Codec::kJson, pb::GetDocumentResponse()), "{}");
}

TEST(MessageCodecTest, JsonRoundTripsBytesAsBase64) {
  pb::FileSpec in;
  in.set_sha256(std::string("\x00\x01\xfe\xff", 4));
  std::string json = EncodeMessage(Codec::kJson, in);
  EXPECT_EQ(json, R"({"sha256":"AAH+/w=="})");
  pb::FileSpec out;
  ASSERT_TRUE(DecodeMessage(Codec::kJson, json, &out).ok());
  EXPECT_EQ(out.sha256(), std::string("\x00\x01\xfe\xff", 4));
}

TEST(MessageCodecTest, JsonStringsAreEscaped) {
  hpb::HealthCheckRequest in;
  in.set_service("a\"b\\c\n");
  std::string json = EncodeMessage(Codec::kJson, in);
  EXPECT_EQ(json, R"({"service":"a\"b\\c\n"})");
  hpb::HealthCheckRequest out;
  ASSERT_TRUE(DecodeMessage(Codec::kJson, json, &out).ok());
  EXPECT_EQ(out.service(), "a\"b\\c\n");
}

}  // namespace
}  // namespace peat::rpc

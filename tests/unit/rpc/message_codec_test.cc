#include "rpc/message_codec.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

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
                          "[]", "{\"service\":\"a\"} trailing"}) {
    hpb::HealthCheckRequest out;
    Status st = DecodeMessage(Codec::kJson, bad, &out);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("JSON"), std::string::npos) << st.message();
  }
}

TEST(MessageCodecTest, MalformedJsonKeepsProtobufsMessage) {
  // Text that is not JSON, even with a wrong type before the syntax error, and values of the
  // right JSON type that protobuf still refuses.
  for (const char* bad :
       {R"({"jsonData":{}} trailing)", R"({"jsonData":{},)", "{\"collection\":"}) {
    pb::PutDocumentRequest out;
    Status st = DecodeMessage(Codec::kJson, bad, &out);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(st.message().rfind("malformed JSON request message: ", 0), 0u) << st.message();
  }
  pb::SetCollectionConfigRequest out;
  Status st = DecodeMessage(Codec::kJson, R"({"config":{"deletionPolicy":4.5}})", &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("malformed JSON request message: ", 0), 0u) << st.message();
  st = DecodeMessage(Codec::kJson, R"({"config":{"softDeleteTtlSecs":"soon"}})", &out);
  EXPECT_EQ(st.message().rfind("malformed JSON request message: ", 0), 0u) << st.message();
}

TEST(MessageCodecTest, JsonWrongTypeIsExplainedInWords) {
  pb::PutDocumentRequest put;
  Status st =
      DecodeMessage(Codec::kJson, R"({"collection":"c","docId":"d","jsonData":{"speed":3}})", &put);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "json_data must be a string containing JSON; got an object");

  hpb::HealthCheckRequest health;
  st = DecodeMessage(Codec::kJson, R"({"service":5})", &health);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "service must be a string; got a number");

  pb::PutNodeRequest node;
  st = DecodeMessage(Codec::kJson,
                     R"({"node":{"id":"n","status":"NODE_STATUS_READY","latitude":[]}})", &node);
  EXPECT_EQ(st.message(), "node.latitude must be a number; got an array");
  st = DecodeMessage(Codec::kJson, R"({"node":"n1"})", &node);
  EXPECT_EQ(st.message(), "node must be an object; got a string");
}

TEST(MessageCodecTest, JsonUnknownEnumNameIsInvalidArgument) {
  // ignore_unknown_fields makes protobuf drop an enum name it does not know; a mistyped deletion
  // policy must not become SOFT_DELETE.
  pb::SetCollectionConfigRequest out;
  Status st = DecodeMessage(Codec::kJson,
                            R"({"config":{"collection":"c","deletionPolicy":"IMMUTABLE"}})", &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "config.deletion_policy: unknown enum value \"IMMUTABLE\"; accepted: "
            "DELETION_POLICY_UNSPECIFIED, DELETION_POLICY_SOFT_DELETE, DELETION_POLICY_TOMBSTONE, "
            "DELETION_POLICY_IMPLICIT_TTL, DELETION_POLICY_IMMUTABLE");

  st = DecodeMessage(
      Codec::kJson, R"({"config":{"collection":"c","deletionPolicy":"DELETION_POLICY_IMMUTABLE"}})",
      &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.config().deletion_policy(), pb::DELETION_POLICY_IMMUTABLE);
}

TEST(MessageCodecTest, ProtoUnknownEnumNumberIsInvalidArgument) {
  pb::PutNodeRequest in;
  in.mutable_node()->set_id("n1");
  in.mutable_node()->set_status(static_cast<pb::NodeStatus>(99));
  pb::PutNodeRequest out;
  Status st = DecodeMessage(Codec::kProto, in.SerializeAsString(), &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "node.status: unknown enum value 99; accepted: NODE_STATUS_UNSPECIFIED, "
            "NODE_STATUS_READY, NODE_STATUS_BUSY, NODE_STATUS_DEGRADED, NODE_STATUS_OFFLINE");
}

TEST(MessageCodecTest, UnknownFieldsStayIgnoredInMessagesWithEnums) {
  pb::SetCollectionConfigRequest in;
  in.mutable_config()->set_collection("c");
  in.mutable_config()->set_deletion_policy(pb::DELETION_POLICY_TOMBSTONE);
  // Unknown fields 15 (varint 99) at the top and inside `config`: ignored, not taken for enums.
  std::string config = in.config().SerializeAsString() + std::string("\x78\x63", 2);
  std::string bytes = std::string("\x0a", 1) + static_cast<char>(config.size()) + config +
                      std::string("\x78\x63", 2);
  pb::SetCollectionConfigRequest out;
  Status st = DecodeMessage(Codec::kProto, bytes, &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.config().deletion_policy(), pb::DELETION_POLICY_TOMBSTONE);

  st = DecodeMessage(Codec::kJson,
                     R"({"future":{"deletionPolicy":"BOGUS"},"config":{"collection":"c",)"
                     R"("newField":[1,"BOGUS"],"deletionPolicy":"DELETION_POLICY_TOMBSTONE"}})",
                     &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.config().collection(), "c");
  EXPECT_EQ(out.config().deletion_policy(), pb::DELETION_POLICY_TOMBSTONE);
}

TEST(MessageCodecTest, UnknownAttachmentPriorityTakesTheDefault) {
  // ATTACHMENTS.md §2/§5: an unknown priority takes the default priority, by number (binary or
  // JSON) and by name.
  pb::SendAttachmentsRequest in;
  in.set_priority(static_cast<pb::AttachmentPriority>(99));
  in.set_bundle_id("b");
  pb::SendAttachmentsRequest out;
  Status st = DecodeMessage(Codec::kProto, in.SerializeAsString(), &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.priority(), pb::ATTACHMENT_PRIORITY_UNSPECIFIED);
  EXPECT_EQ(out.bundle_id(), "b");
  for (const char* json : {R"({"priority":99,"bundleId":"b"})",
                           R"({"priority":"ATTACHMENT_PRIORITY_URGENT","bundleId":"b"})",
                           R"({"priority":"CRITICAL","bundleId":"b"})"}) {
    pb::SendAttachmentsRequest j;
    st = DecodeMessage(Codec::kJson, json, &j);
    ASSERT_TRUE(st.ok()) << json << ": " << st.ToString();
    EXPECT_EQ(j.priority(), pb::ATTACHMENT_PRIORITY_UNSPECIFIED) << json;
    EXPECT_EQ(j.bundle_id(), "b");
  }
  pb::SendAttachmentsRequest known;
  ASSERT_TRUE(
      DecodeMessage(Codec::kJson, R"({"priority":"ATTACHMENT_PRIORITY_CRITICAL"})", &known).ok());
  EXPECT_EQ(known.priority(), pb::ATTACHMENT_PRIORITY_CRITICAL);
  ASSERT_TRUE(DecodeMessage(Codec::kJson, R"({"priority":2})", &known).ok());
  EXPECT_EQ(known.priority(), pb::ATTACHMENT_PRIORITY_LOW);
}

TEST(MessageCodecTest, JsonAccepts64BitIntegersInMessagesWithEnums) {
  pb::SetCollectionConfigRequest out;
  Status st =
      DecodeMessage(Codec::kJson,
                    R"({"config":{"softDeleteTtlSecs":"18446744073709551615",)"
                    R"("tombstoneTtlSecs":42,"deletionPolicy":"DELETION_POLICY_TOMBSTONE"}})",
                    &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.config().soft_delete_ttl_secs(), 18446744073709551615ull);
  EXPECT_EQ(out.config().tombstone_ttl_secs(), 42u);
  st = DecodeMessage(Codec::kJson,
                     R"({"config":{"softDeleteTtlSecs":18446744073709551615,"deletionPolicy":2}})",
                     &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out.config().soft_delete_ttl_secs(), 18446744073709551615ull);

  pb::PutCommandRequest cmd;
  st = DecodeMessage(Codec::kJson,
                     R"({"command":{"createdAt":"-5","expiresAt":1700000000000,)"
                     R"("status":"COMMAND_STATUS_PENDING"}})",
                     &cmd);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(cmd.command().created_at(), -5);
  EXPECT_EQ(cmd.command().expires_at(), 1700000000000);
  // A number too big for any integer type, for a double: valid JSON, accepted.
  pb::PutNodeRequest node;
  st = DecodeMessage(Codec::kJson,
                     R"({"node":{"latitude":123456789012345678901234567890,"status":1}})", &node);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(node.node().status(), pb::NODE_STATUS_READY);
}

TEST(MessageCodecTest, NonStandardJsonIsRefusedOnlyWhereEnumsMustBeChecked) {
  // protobuf's parser also takes unquoted keys and single quotes. Without enum fields nothing
  // changes; with them the text must be JSON, or an unknown name could slip through.
  pb::GetCollectionConfigRequest get;
  ASSERT_TRUE(DecodeMessage(Codec::kJson, "{collection:'c'}", &get).ok());
  EXPECT_EQ(get.collection(), "c");
  pb::SetCollectionConfigRequest set;
  for (const char* json : {"{config:{deletionPolicy:'IMMUTABLE'}}", "{config:{collection:'c'}}"}) {
    Status st = DecodeMessage(Codec::kJson, json, &set);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << json;
    EXPECT_EQ(st.message().rfind("malformed JSON request message: ", 0), 0u) << st.message();
  }
}

// Every enum field reachable from the API's messages, as a path of fields from the root.
struct EnumLeaf {
  const google::protobuf::Descriptor* root;
  std::vector<const google::protobuf::FieldDescriptor*> fields;  // message fields, then the enum
  std::string path;  // proto path; repeated fields get element [0]
};

void CollectEnumLeaves(const google::protobuf::Descriptor* root,
                       const google::protobuf::Descriptor& d,
                       std::vector<const google::protobuf::FieldDescriptor*>& prefix,
                       std::set<const google::protobuf::Descriptor*>& on_path,
                       std::vector<EnumLeaf>& out) {
  using google::protobuf::FieldDescriptor;
  for (int i = 0; i < d.field_count(); ++i) {
    const FieldDescriptor* f = d.field(i);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!on_path.insert(f->message_type()).second) continue;  // recursive types
      prefix.push_back(f);
      CollectEnumLeaves(root, *f->message_type(), prefix, on_path, out);
      prefix.pop_back();
      on_path.erase(f->message_type());
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
      EnumLeaf leaf{root, prefix, ""};
      leaf.fields.push_back(f);
      for (const FieldDescriptor* p : leaf.fields) {
        if (!leaf.path.empty()) leaf.path += '.';
        leaf.path += p->name();
        if (p->is_repeated()) leaf.path += "[0]";
      }
      out.push_back(std::move(leaf));
    }
  }
}

// JSON with `value` (JSON text) at the leaf.
std::string LeafJson(const EnumLeaf& leaf, const std::string& value) {
  std::string open;
  std::string close;
  for (const auto* f : leaf.fields) {
    const bool last = f == leaf.fields.back();
    open += "{\"" + f->json_name() + "\":" + (f->is_repeated() ? "[" : "");
    close = std::string(f->is_repeated() ? "]" : "") + "}" + close;
    if (last) open += value;
  }
  return open + close;
}

std::unique_ptr<google::protobuf::Message> NewRoot(const EnumLeaf& leaf) {
  return std::unique_ptr<google::protobuf::Message>(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(leaf.root)->New());
}

// Binary with `number` at the leaf.
std::string LeafProto(const EnumLeaf& leaf, int number) {
  auto root = NewRoot(leaf);
  google::protobuf::Message* m = root.get();
  for (const auto* f : leaf.fields) {
    const auto* r = m->GetReflection();
    if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_ENUM) {
      if (f->is_repeated()) {
        r->AddEnumValue(m, f, number);
      } else {
        r->SetEnumValue(m, f, number);
      }
    } else {
      m = f->is_repeated() ? r->AddMessage(m, f) : r->MutableMessage(m, f);
    }
  }
  return root->SerializeAsString();
}

// The number at the leaf of a decoded message.
int LeafValue(const EnumLeaf& leaf, const google::protobuf::Message& root) {
  const google::protobuf::Message* m = &root;
  for (const auto* f : leaf.fields) {
    const auto* r = m->GetReflection();
    if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_ENUM) {
      if (!f->is_repeated()) return r->GetEnumValue(*m, f);
      return r->FieldSize(*m, f) == 0 ? -1000 : r->GetRepeatedEnumValue(*m, f, 0);
    }
    if (f->is_repeated() && r->FieldSize(*m, f) == 0) return -1000;
    m = f->is_repeated() ? &r->GetRepeatedMessage(*m, f, 0) : &r->GetMessage(*m, f);
  }
  return -1000;
}

TEST(MessageCodecTest, EveryEnumFieldOfTheApiByNameAndNumberKnownAndUnknown) {
  const auto* file = pb::Node::descriptor()->file();
  const auto* service = file->FindServiceByName("PeatSidecar");
  ASSERT_NE(service, nullptr);
  std::set<const google::protobuf::Descriptor*> roots{hpb::HealthCheckResponse::descriptor()};
  for (int i = 0; i < service->method_count(); ++i) {
    roots.insert(service->method(i)->input_type());
    roots.insert(service->method(i)->output_type());
  }
  std::vector<EnumLeaf> leaves;
  std::set<std::string> request_paths;
  for (const auto* root : roots) {
    std::vector<const google::protobuf::FieldDescriptor*> prefix;
    std::set<const google::protobuf::Descriptor*> on_path{root};
    const size_t before = leaves.size();
    CollectEnumLeaves(root, *root, prefix, on_path, leaves);
    for (int i = 0; i < service->method_count(); ++i) {
      if (service->method(i)->input_type() != root) continue;
      for (size_t k = before; k < leaves.size(); ++k) request_paths.insert(leaves[k].path);
    }
  }
  // The enum fields clients send (nested in Put* requests), so a new one is not missed here.
  EXPECT_EQ(request_paths,
            (std::set<std::string>{"node.status", "cell.status", "track.category", "command.status",
                                   "priority", "config.deletion_policy"}));
  // Responses add nodes[0].status, configs[0].deletion_policy, per_node[0].status, …
  EXPECT_GE(leaves.size(), 15u);

  for (const EnumLeaf& leaf : leaves) {
    SCOPED_TRACE(leaf.root->full_name() + " " + leaf.path);
    const auto* type = leaf.fields.back()->enum_type();
    const bool takes_default = leaf.path == "priority";
    std::string accepted;
    for (int v = 0; v < type->value_count(); ++v) {
      accepted += (v ? ", " : "") + type->value(v)->name();
    }
    for (int v = 0; v < type->value_count(); ++v) {
      const auto* value = type->value(v);
      for (const auto& [codec, bytes] :
           {std::pair{Codec::kJson, LeafJson(leaf, "\"" + value->name() + "\"")},
            std::pair{Codec::kJson, LeafJson(leaf, std::to_string(value->number()))},
            std::pair{Codec::kProto, LeafProto(leaf, value->number())}}) {
        auto out = NewRoot(leaf);
        Status st = DecodeMessage(codec, bytes, out.get());
        ASSERT_TRUE(st.ok()) << bytes << ": " << st.ToString();
        EXPECT_EQ(LeafValue(leaf, *out), value->number()) << bytes;
      }
    }
    for (const auto& [codec, bytes, shown] :
         {std::tuple{Codec::kJson, LeafJson(leaf, "\"NOT_A_VALUE\""),
                     std::string("\"NOT_A_VALUE\"")},
          std::tuple{Codec::kJson, LeafJson(leaf, "99"), std::string("99")},
          std::tuple{Codec::kProto, LeafProto(leaf, 99), std::string("99")},
          std::tuple{Codec::kProto, LeafProto(leaf, -1), std::string("-1")}}) {
      auto out = NewRoot(leaf);
      Status st = DecodeMessage(codec, bytes, out.get());
      if (takes_default) {
        ASSERT_TRUE(st.ok()) << st.ToString();
        EXPECT_EQ(LeafValue(leaf, *out), 0);
        continue;
      }
      EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << shown;
      EXPECT_EQ(st.message(),
                leaf.path + ": unknown enum value " + shown + "; accepted: " + accepted);
    }
  }
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

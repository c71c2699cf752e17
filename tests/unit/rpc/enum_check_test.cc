#include "rpc/enum_check.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "grpc/health/v1/health.pb.h"
#include "palette_proto.h"
#include "peat/sidecar/v1/sidecar.pb.h"

namespace peat::rpc {
namespace {

namespace hpb = grpc::health::v1;
namespace pb = peat::sidecar::v1;
using google::protobuf::FieldDescriptor;
using testing::NewPalette;

constexpr const char* kDeletionPolicies =
    "DELETION_POLICY_UNSPECIFIED, DELETION_POLICY_SOFT_DELETE, DELETION_POLICY_TOMBSTONE, "
    "DELETION_POLICY_IMPLICIT_TTL, DELETION_POLICY_IMMUTABLE";
constexpr const char* kColors = "COLOR_UNSPECIFIED, COLOR_RED, COLOR_BLUE";

TEST(EnumCheckTest, HasEnumFieldsLooksThroughTheWholeDescriptorTree) {
  // Direct, nested, inside repeated messages.
  EXPECT_TRUE(HasEnumFields(*pb::CollectionConfig::descriptor()));
  EXPECT_TRUE(HasEnumFields(*pb::SetCollectionConfigRequest::descriptor()));
  EXPECT_TRUE(HasEnumFields(*pb::PutNodeRequest::descriptor()));
  EXPECT_TRUE(HasEnumFields(*pb::GetNodesResponse::descriptor()));
  EXPECT_TRUE(HasEnumFields(*pb::ListCollectionConfigsResponse::descriptor()));
  EXPECT_TRUE(HasEnumFields(*pb::SendAttachmentsRequest::descriptor()));
  EXPECT_TRUE(HasEnumFields(*hpb::HealthCheckResponse::descriptor()));
  // The unary hot path and a recursive type without enums.
  EXPECT_FALSE(HasEnumFields(*pb::GetDocumentRequest::descriptor()));
  EXPECT_FALSE(HasEnumFields(*pb::PutDocumentRequest::descriptor()));
  EXPECT_FALSE(HasEnumFields(*pb::SubscribeRequest::descriptor()));
  EXPECT_FALSE(HasEnumFields(*pb::SubscriptionQuery::descriptor()));
  EXPECT_FALSE(HasEnumFields(*pb::GetCollectionConfigRequest::descriptor()));
  EXPECT_FALSE(HasEnumFields(*hpb::HealthCheckRequest::descriptor()));
  // Cached answers stay the same.
  EXPECT_TRUE(HasEnumFields(*pb::PutNodeRequest::descriptor()));
  EXPECT_FALSE(HasEnumFields(*pb::PutDocumentRequest::descriptor()));
  // Run-time descriptors: map values count.
  EXPECT_TRUE(HasEnumFields(*NewPalette()->GetDescriptor()));
}

TEST(EnumCheckTest, HasEnumFieldsOfAMessageFollowsItsType) {
  // Asked twice each (the second answer comes from the per-type cache), interleaved.
  for (int round = 0; round < 2; ++round) {
    EXPECT_TRUE(HasEnumFields(pb::PutNodeRequest()));
    EXPECT_FALSE(HasEnumFields(pb::GetDocumentRequest()));
    EXPECT_TRUE(HasEnumFields(pb::SetCollectionConfigRequest()));
    EXPECT_FALSE(HasEnumFields(hpb::HealthCheckRequest()));
    // One C++ type (DynamicMessage) for several descriptors: each answers for its own.
    EXPECT_TRUE(HasEnumFields(*NewPalette()));
    google::protobuf::DynamicMessageFactory factory;
    std::unique_ptr<google::protobuf::Message> get(
        factory.GetPrototype(pb::GetDocumentRequest::descriptor())->New());
    std::unique_ptr<google::protobuf::Message> put(
        factory.GetPrototype(pb::PutNodeRequest::descriptor())->New());
    EXPECT_FALSE(HasEnumFields(*get));
    EXPECT_TRUE(HasEnumFields(*put));
  }
}

TEST(EnumCheckTest, OnlyAttachmentPriorityTakesTheDefault) {
  EXPECT_TRUE(UnknownEnumValueTakesDefault(
      *pb::SendAttachmentsRequest::descriptor()->FindFieldByName("priority")));
  int enum_fields = 0;
  const auto* file = pb::Node::descriptor()->file();
  for (int m = 0; m < file->message_type_count(); ++m) {
    const auto* d = file->message_type(m);
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->cpp_type() != FieldDescriptor::CPPTYPE_ENUM) continue;
      ++enum_fields;
      EXPECT_EQ(UnknownEnumValueTakesDefault(*f),
                f->full_name() == "peat.sidecar.v1.SendAttachmentsRequest.priority")
          << f->full_name();
    }
  }
  EXPECT_EQ(enum_fields, 11);  // every enum field of sidecar.proto was looked at
  // Every listed name is a real field, so a renamed field cannot silently drop out.
  for (std::string_view name : kEnumFieldsWhereUnknownTakesDefault) {
    const FieldDescriptor* f =
        google::protobuf::DescriptorPool::generated_pool()->FindFieldByName(std::string(name));
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(f->cpp_type(), FieldDescriptor::CPPTYPE_ENUM) << name;
  }
}

TEST(EnumCheckTest, MessageNamesThePathAndListsTheAcceptedNames) {
  EXPECT_EQ(UnknownEnumValueMessage("config.deletion_policy", *pb::DeletionPolicy_descriptor(),
                                    "\"IMMUTABLE\""),
            std::string("config.deletion_policy: unknown enum value \"IMMUTABLE\"; accepted: ") +
                kDeletionPolicies);
}

TEST(EnumCheckTest, KnownValuesPass) {
  pb::SetCollectionConfigRequest req;
  for (int v = 0; v <= 4; ++v) {
    req.mutable_config()->set_deletion_policy(static_cast<pb::DeletionPolicy>(v));
    EXPECT_TRUE(CheckEnumValues(&req).ok()) << v;
  }
  pb::GetStatusRequest empty;
  EXPECT_TRUE(CheckEnumValues(&empty).ok());
}

TEST(EnumCheckTest, UnknownNumberInANestedMessage) {
  pb::SetCollectionConfigRequest req;
  req.mutable_config()->set_collection("c");
  req.mutable_config()->set_deletion_policy(static_cast<pb::DeletionPolicy>(99));
  Status st = CheckEnumValues(&req);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), std::string("config.deletion_policy: unknown enum value 99; accepted: ") +
                              kDeletionPolicies);
}

TEST(EnumCheckTest, UnknownNumberInARepeatedMessageIsIndexed) {
  pb::GetNodesResponse resp;
  resp.add_nodes()->set_status(pb::NODE_STATUS_READY);
  resp.add_nodes()->set_status(pb::NODE_STATUS_BUSY);
  resp.add_nodes()->set_status(static_cast<pb::NodeStatus>(7));
  Status st = CheckEnumValues(&resp);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("nodes[2].status: unknown enum value 7; accepted: ", 0), 0u)
      << st.message();
}

TEST(EnumCheckTest, AttachmentPriorityUnknownNumberTakesTheDefault) {
  pb::SendAttachmentsRequest req;
  req.set_priority(static_cast<pb::AttachmentPriority>(99));
  ASSERT_TRUE(CheckEnumValues(&req).ok());
  EXPECT_EQ(req.priority(), pb::ATTACHMENT_PRIORITY_UNSPECIFIED);
  req.set_priority(pb::ATTACHMENT_PRIORITY_CRITICAL);
  ASSERT_TRUE(CheckEnumValues(&req).ok());
  EXPECT_EQ(req.priority(), pb::ATTACHMENT_PRIORITY_CRITICAL);
}

TEST(EnumCheckTest, RepeatedEnumAndMapValues) {
  auto msg = NewPalette();
  const auto* d = msg->GetDescriptor();
  const auto* r = msg->GetReflection();
  const FieldDescriptor* colors = d->FindFieldByName("colors");
  r->AddEnumValue(msg.get(), colors, 1);
  r->AddEnumValue(msg.get(), colors, 2);
  ASSERT_TRUE(CheckEnumValues(msg.get()).ok());
  r->AddEnumValue(msg.get(), colors, 5);
  Status st = CheckEnumValues(msg.get());
  EXPECT_EQ(st.message(), std::string("colors[2]: unknown enum value 5; accepted: ") + kColors);

  msg = NewPalette();
  auto* entry = r->AddMessage(msg.get(), d->FindFieldByName("by_name"));
  entry->GetReflection()->SetString(entry, entry->GetDescriptor()->map_key(), "sky \"blue\"");
  entry->GetReflection()->SetEnumValue(entry, entry->GetDescriptor()->map_value(), 9);
  st = CheckEnumValues(msg.get());
  EXPECT_EQ(
      st.message(),
      std::string("by_name[\"sky \\\"blue\\\"\"]: unknown enum value 9; accepted: ") + kColors);

  msg = NewPalette();
  entry = r->AddMessage(msg.get(), d->FindFieldByName("swatches"));
  entry->GetReflection()->SetInt32(entry, entry->GetDescriptor()->map_key(), -4);
  auto* swatch = entry->GetReflection()->MutableMessage(entry, entry->GetDescriptor()->map_value());
  swatch->GetReflection()->SetEnumValue(swatch, swatch->GetDescriptor()->FindFieldByName("color"),
                                        3);
  st = CheckEnumValues(msg.get());
  EXPECT_EQ(st.message(),
            std::string("swatches[-4].color: unknown enum value 3; accepted: ") + kColors);

  msg = NewPalette();
  r->AddMessage(msg.get(), d->FindFieldByName("list"));
  auto* item = r->AddMessage(msg.get(), d->FindFieldByName("list"));
  item->GetReflection()->SetEnumValue(item, item->GetDescriptor()->FindFieldByName("color"), 3);
  st = CheckEnumValues(msg.get());
  EXPECT_EQ(st.message(), std::string("list[1].color: unknown enum value 3; accepted: ") + kColors);
}

}  // namespace
}  // namespace peat::rpc

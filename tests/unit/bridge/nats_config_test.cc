#include "bridge/nats_config.h"

#include <gtest/gtest.h>

namespace peat::bridge {
namespace {

TEST(NatsUrl, DefaultsAndForms) {
  auto u = ParseNatsUrl("nats://127.0.0.1");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->port, 4222);
  EXPECT_EQ(u->ToClientUrl(), "nats://127.0.0.1:4222");
  u = ParseNatsUrl("TLS://nats.example.org:4443/");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "nats.example.org");
  EXPECT_EQ(u->port, 4443);
  u = ParseNatsUrl("nats://[::1]:5000");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->ToClientUrl(), "nats://[::1]:5000");
  u = ParseNatsUrl("nats://tok@h");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->has_credentials);
  EXPECT_EQ(u->user, "tok");
  EXPECT_EQ(u->ToClientUrl(), "nats://tok@h:4222");
}

TEST(NatsUrl, CredentialsNeverInRedactedFormsOrErrors) {
  auto u = ParseNatsUrl("nats://alice:s3cr3t-pw@10.0.0.1:4222");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->ToClientUrl(), "nats://alice:s3cr3t-pw@10.0.0.1:4222");
  EXPECT_EQ(u->Redacted(), "nats://***@10.0.0.1:4222");
  EXPECT_EQ(u->Scrub("auth failed for alice with s3cr3t-pw"), "auth failed for *** with ***");
  EXPECT_EQ(RedactNatsUrl("nats://alice:s3cr3t-pw@h"), "nats://***@h:4222");
  EXPECT_EQ(RedactNatsUrl("http://alice:s3cr3t-pw@h"), "<invalid>");
  for (const char* bad :
       {"http://alice:s3cr3t-pw@h", "alice:s3cr3t-pw@h:4222", "nats://alice:s3cr3t-pw@h:0",
        "nats://alice:s3cr3t-pw@h:70000", "nats://alice:s3cr3t-pw@h:42x", "nats://alice:s3cr3t-pw@",
        "nats://alice:s3cr3t-pw@h/path", "nats://:s3cr3t-pw@h", "nats://alice:s3cr3t-pw@h h",
        "nats://alice:s3cr3t-pw@[zz]", "nats://alice:s3cr3t-pw@h:"}) {
    auto r = ParseNatsUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().find("s3cr3t"), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("alice"), std::string::npos) << r.status().message();
  }
}

TEST(NatsMapping, Accepts) {
  auto m = ParseNatsMapping("sensors.temp=nats_temp");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->subject, "sensors.temp");
  EXPECT_EQ(m->collection, "nats_temp");
  EXPECT_TRUE(ParseNatsMapping("a-b_c.D9=A.b-c_d").ok());
  EXPECT_TRUE(ParseNatsMapping("_PEATX.a=c").ok());  // only the _PEAT token is reserved
  EXPECT_TRUE(ParseNatsMapping("x=" + std::string(1024, 'c')).ok());
}

TEST(NatsMapping, Rejects) {
  for (const std::string& bad : std::vector<std::string>{
           "nosep", "=c", "a=", "a.*=c", "a.>=c", "a*b=c", "a..b=c", ".a=c", "a.=c", "a b=c",
           "_PEAT=c", "_PEAT.NATS_BRIDGE.READINESS=c", "_PEAT.x=c", "a=_c", "a=c/d", "a=c d",
           "a=file_distributions", "a=" + std::string(1025, 'c'), std::string("a\tb=c")}) {
    auto r = ParseNatsMapping(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(NatsMapping, ListRejectsDuplicates) {
  EXPECT_TRUE(ParseNatsMappings({"a=x", "b=y"}).ok());
  auto dup_subject = ParseNatsMappings({"a=x", "a=y"});
  ASSERT_FALSE(dup_subject.ok());
  EXPECT_NE(dup_subject.status().message().find("subject 'a'"), std::string::npos);
  auto dup_collection = ParseNatsMappings({"a=x", "b=x"});
  ASSERT_FALSE(dup_collection.ok());
  EXPECT_NE(dup_collection.status().message().find("collection 'x'"), std::string::npos);
}

}  // namespace
}  // namespace peat::bridge

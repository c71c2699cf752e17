#include "mesh/dial_address.h"

#include <gtest/gtest.h>

namespace peat::mesh {
namespace {

TEST(DialAddressTest, ParsesHostPortForms) {
  auto v4 = ParseDialAddress("127.0.0.1:7000");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 7000);
  auto name = ParseDialAddress("node-b.local:65535");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->host, "node-b.local");
  EXPECT_EQ(name->port, 65535);
  auto v6 = ParseDialAddress("[::1]:1");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 1);
}

TEST(DialAddressTest, RejectsBadAddresses) {
  for (const char* bad : {"", "host", "host:", ":80", "host:0", "host:65536", "host:8o", "::1:80",
                          "[::1]", "[::1]80", "[::1:80", "[]:80", "host:123456"}) {
    auto r = ParseDialAddress(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(DialAddressTest, FormatsAndRoundTrips) {
  EXPECT_EQ(FormatHostPort("10.0.0.1", 80), "10.0.0.1:80");
  EXPECT_EQ(FormatHostPort("::1", 80), "[::1]:80");
  auto r = ParseDialAddress(FormatHostPort("fd00::2", 4242));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->host, "fd00::2");
  EXPECT_EQ(r->port, 4242);
}

}  // namespace
}  // namespace peat::mesh

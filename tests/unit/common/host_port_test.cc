#include "common/host_port.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace peat {
namespace {

using ::testing::HasSubstr;

TEST(HostPortTest, ParsesEachHostForm) {
  struct Case {
    const char* text;
    const char* host;
    uint16_t port;
    HostKind kind;
  };
  for (const Case& c : {
           Case{"127.0.0.1:7000", "127.0.0.1", 7000, HostKind::kIpv4},
           Case{"node-b.local:65535", "node-b.local", 65535, HostKind::kName},
           Case{"localhost:1", "localhost", 1, HostKind::kName},
           Case{"my_host.example:80", "my_host.example", 80, HostKind::kName},
           Case{"[::1]:1", "::1", 1, HostKind::kIpv6},
           Case{"[fd00::2]:4242", "fd00::2", 4242, HostKind::kIpv6},
           Case{"[::ffff:10.0.0.1]:80", "::ffff:10.0.0.1", 80, HostKind::kIpv6},
           Case{"10.0.0.1:080", "10.0.0.1", 80, HostKind::kIpv4},  // leading zeros in the port
       }) {
    SCOPED_TRACE(c.text);
    auto hp = ParseHostPort(c.text);
    ASSERT_TRUE(hp.ok()) << hp.status().ToString();
    EXPECT_EQ(hp->host, c.host);
    EXPECT_EQ(hp->port, c.port);
    EXPECT_EQ(hp->kind, c.kind);
  }
}

TEST(HostPortTest, RefusesBadAddressesSayingWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "missing port"},
      {"host", "missing port"},
      {"host:", "missing port"},
      {":80", "missing host"},
      {"host:0", "port '0' is not a number in 1..65535"},
      {"host:65536", "port '65536' is not a number in 1..65535"},
      {"host:123456", "is not a number in 1..65535"},
      {"host:99999999999999999999999", "is not a number in 1..65535"},
      {"host:8o", "port '8o' is not a number"},
      {"host:-1", "is not a number"},
      {"host: 80", "is not a number"},
      {"::1:80", "an IPv6 address needs brackets"},
      {"[::1]", "missing port after ']'"},
      {"[::1]80", "missing port after ']'"},
      {"[::1:80", "missing ']'"},
      {"[]:80", "'' is not an IPv6 address"},
      {"[zz::1]:80", "'zz::1' is not an IPv6 address"},
      {"[1.2.3.4]:80", "'1.2.3.4' is not an IPv6 address"},
      {"[fe80::1%eth0]:80", "is not an IPv6 address"},
      {"999.1.1.1:80", "'999.1.1.1' is not an IPv4 address"},
      {"1.2.3:80", "'1.2.3' is not an IPv4 address"},
      {"bad host:80", "invalid space in host name"},
      {"bad!host:80", "invalid character '!' in host name"},
      {"h\x01st:80", "invalid byte 0x01 in host name"},
      {"caf\xC3\xA9:80", "invalid byte 0xc3 in host name"},
      {"user@host:80", "invalid character '@' in host name"},
  };
  for (const auto& [text, why] : cases) {
    SCOPED_TRACE(text);
    auto hp = ParseHostPort(text);
    ASSERT_FALSE(hp.ok());
    EXPECT_EQ(hp.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(hp.status().message(), HasSubstr("invalid address '" + std::string(text) + "': "));
    EXPECT_THAT(hp.status().message(), HasSubstr(why));
  }
  EXPECT_EQ(ParseHostPort("host:0").status().message(),
            "invalid address 'host:0': port '0' is not a number in 1..65535");
}

TEST(HostPortTest, HostNamesUpTo253Bytes) {
  const std::string longest(253, 'a');
  EXPECT_TRUE(ParseHostPort(longest + ":1").ok());
  EXPECT_THAT(ParseHostPort(longest + "a:1").status().message(),
              HasSubstr("host name is 254 bytes; the limit is 253"));
}

TEST(HostPortTest, ListenRulesAllowAnEmptyHostAndPortZero) {
  const HostPortRules listen{.allow_empty_host = true, .allow_port_zero = true};
  auto any = ParseHostPort(":7000", listen);
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->host, "");
  EXPECT_EQ(any->kind, HostKind::kEmpty);
  EXPECT_EQ(any->port, 7000);
  auto zero = ParseHostPort("[::]:0", listen);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->port, 0);
  EXPECT_THAT(ParseHostPort("host:65536", listen).status().message(),
              HasSubstr("is not a number in 0..65535"));
  EXPECT_FALSE(ParseHostPort(":", listen).ok());
  EXPECT_FALSE(ParseHostPort("bad host:1", listen).ok());  // the host rules stay the same
}

TEST(HostPortTest, ParsePortAlone) {
  EXPECT_EQ(*ParsePort("1"), 1);
  EXPECT_EQ(*ParsePort("65535"), 65535);
  EXPECT_EQ(*ParsePort("0", /*allow_zero=*/true), 0);
  EXPECT_EQ(ParsePort("").status().message(), "missing port");
  EXPECT_EQ(ParsePort("0").status().message(), "port '0' is not a number in 1..65535");
  EXPECT_FALSE(ParsePort("65536", true).ok());
  EXPECT_FALSE(ParsePort("+1").ok());
}

TEST(HostPortTest, FormatBracketsIpv6AndRoundTrips) {
  EXPECT_EQ(FormatHostPort("10.0.0.1", 80), "10.0.0.1:80");
  EXPECT_EQ(FormatHostPort("node.local", 7000), "node.local:7000");
  EXPECT_EQ(FormatHostPort("::1", 80), "[::1]:80");
  auto r = ParseHostPort(FormatHostPort("fd00::2", 4242));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->host, "fd00::2");
  EXPECT_EQ(r->port, 4242);
}

TEST(HostPortTest, LoopbackIpsAreTheLoopbackLiteralsOnly) {
  for (const char* yes : {"127.0.0.1", "127.255.0.9", "::1", "0:0:0:0:0:0:0:1"}) {
    EXPECT_TRUE(IsLoopbackIp(yes)) << yes;
  }
  for (const char* no : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "fd00::1", "::ffff:10.0.0.1",
                         "localhost", "", "[::1]", "127.0.0.1:80"}) {
    EXPECT_FALSE(IsLoopbackIp(no)) << no;
  }
}

}  // namespace
}  // namespace peat

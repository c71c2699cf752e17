#include "discovery/mdns_wire.h"

#include <gtest/gtest.h>

#include <random>

namespace peat::discovery {
namespace {

const MdnsAdvert kAdvert{std::string(64, 'c'), 7000, "0123456789abcdef"};

TEST(MdnsWire, QueryParsesBack) {
  auto m = ParseDnsMessage(BuildQuery(kMdnsServiceType));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_FALSE(m->response);
  ASSERT_EQ(m->questions.size(), 1u);
  EXPECT_EQ(m->questions[0].name, kMdnsServiceType);
  EXPECT_EQ(m->questions[0].type, kDnsTypePtr);
}

TEST(MdnsWire, AdvertParsesBack) {
  const std::string instance = InstanceName(kAdvert.endpoint_id, kMdnsServiceType);
  EXPECT_EQ(instance, "peat-cccccccccccccccc._peat-node._tcp.local.");
  auto m = ParseDnsMessage(BuildAdvert(kAdvert, kMdnsServiceType, instance,
                                       "peat-cccccccccccccccc.local.", {10, 0, 0, 7}, 120));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_TRUE(m->response);
  ASSERT_EQ(m->records.size(), 4u);
  EXPECT_EQ(m->records[0].type, kDnsTypePtr);
  EXPECT_EQ(m->records[0].name, kMdnsServiceType);
  EXPECT_EQ(m->records[0].target, instance);
  EXPECT_EQ(m->records[1].type, kDnsTypeSrv);
  EXPECT_EQ(m->records[1].srv_port, 7000);
  EXPECT_EQ(m->records[1].target, "peat-cccccccccccccccc.local.");
  EXPECT_EQ(m->records[2].type, kDnsTypeTxt);
  EXPECT_EQ(m->records[2].ttl, 120u);
  auto txt = DecodeTxt(m->records[2].rdata);
  ASSERT_TRUE(txt.ok());
  EXPECT_EQ(txt->endpoint_id, kAdvert.endpoint_id);
  EXPECT_EQ(m->records[3].type, kDnsTypeA);
  EXPECT_EQ(m->records[3].rdata, (std::vector<uint8_t>{10, 0, 0, 7}));
  // Without an address: no A record; TTL 0 is the goodbye.
  auto bye = ParseDnsMessage(BuildAdvert(kAdvert, kMdnsServiceType, instance, "h.local.", {}, 0));
  ASSERT_TRUE(bye.ok());
  EXPECT_EQ(bye->records.size(), 3u);
  EXPECT_EQ(bye->records[2].ttl, 0u);
}

TEST(MdnsWire, FollowsBackwardCompressionPointersAndLowersCase) {
  // Header (1 answer), then "_Peat-Node._tcp.local." at 12, then a PTR named by a pointer to 12
  // whose target is "x" + pointer to 12.
  std::vector<uint8_t> d = {0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0};
  const std::vector<uint8_t> name = {10,  '_', 'P', 'e', 'a', 't', '-', 'N', 'o', 'd', 'e', 4,
                                     '_', 't', 'c', 'p', 5,   'l', 'o', 'c', 'a', 'l', 0};
  // The answer's name is the literal name (offset 12); its rdata points back to it.
  d.insert(d.end(), name.begin(), name.end());
  d.insert(d.end(), {0, 12, 0, 1, 0, 0, 0, 120, 0, 4, 1, 'x', 0xc0, 12});
  auto m = ParseDnsMessage(d);
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_EQ(m->records.size(), 1u);
  EXPECT_EQ(m->records[0].name, "_peat-node._tcp.local.");
  EXPECT_EQ(m->records[0].target, "x._peat-node._tcp.local.");
}

TEST(MdnsWire, RefusesLoopsTruncationAndOversizedMessages) {
  // A question whose name points at itself.
  std::vector<uint8_t> loop = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 12, 0, 1};
  EXPECT_FALSE(ParseDnsMessage(loop).ok());
  // A forward pointer.
  std::vector<uint8_t> forward = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0, 0, 12, 0, 1};
  EXPECT_FALSE(ParseDnsMessage(forward).ok());
  // More records than datagram.
  std::vector<uint8_t> counts = {0, 0, 0x84, 0, 0, 0, 0, 40, 0, 0, 0, 0};
  EXPECT_FALSE(ParseDnsMessage(counts).ok());
  std::vector<uint8_t> many = {0, 0, 0x84, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0};
  EXPECT_FALSE(ParseDnsMessage(many).ok());
  EXPECT_FALSE(ParseDnsMessage(std::vector<uint8_t>(11, 0)).ok());
  // Every truncation of a valid advert fails cleanly.
  const auto advert = BuildAdvert(kAdvert, kMdnsServiceType, "i._peat-node._tcp.local.", "h.local.",
                                  {1, 2, 3, 4}, 120);
  for (size_t n = 0; n < advert.size(); ++n) {
    EXPECT_FALSE(ParseDnsMessage(std::span(advert.data(), n)).ok()) << n;
  }
}

TEST(MdnsWire, RandomDatagramsNeverCrashTheParser) {
  // The input that crashed libmdnsd 0.12 (docs/DISCOVERY.md) was of this kind: random bytes
  // biased towards zeros, pointers and short lengths. Run under ASan in CI.
  std::mt19937 rng(1);
  std::vector<uint8_t> d;
  for (int it = 0; it < 50000; ++it) {
    d.assign(12 + rng() % 200, 0);
    for (auto& b : d) {
      const int r = static_cast<int>(rng() % 10);
      b = static_cast<uint8_t>(r < 3 ? 0 : r < 5 ? 0xc0 : r < 7 ? rng() % 64 : rng());
    }
    d[4] = 0;
    d[5] = static_cast<uint8_t>(rng() % 4);
    d[6] = 0;
    d[7] = static_cast<uint8_t>(rng() % 8);
    (void)ParseDnsMessage(d);
  }
}

}  // namespace
}  // namespace peat::discovery

#include "discovery/mdns_txt.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace peat::discovery {
namespace {

const std::string kId(64, 'a');
const std::string kOtherId(64, 'b');

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string Txt(std::initializer_list<std::string> strings) {
  std::string out;
  for (const auto& s : strings) {
    out.push_back(static_cast<char>(s.size()));
    out += s;
  }
  return out;
}

TEST(MdnsTxt, RoundTrips) {
  const MdnsAdvert in{kId, 7000, "0123456789abcdef"};
  const std::string txt = EncodeTxt(in);
  EXPECT_EQ(txt, Txt({"v=1", "id=" + kId, "port=7000", "ft=0123456789abcdef"}));
  auto out = DecodeTxt(Bytes(txt));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->endpoint_id, kId);
  EXPECT_EQ(out->mesh_port, 7000);
  EXPECT_EQ(out->formation_tag, "0123456789abcdef");
}

TEST(MdnsTxt, IgnoresUnknownKeysAndKeepsTheFirstOccurrence) {
  auto out = DecodeTxt(Bytes(Txt(
      {"flag", "x=y", "id=" + kId, "id=" + kOtherId, "port=1", "ft=ffffffffffffffff", "port=2"})));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->endpoint_id, kId);
  EXPECT_EQ(out->mesh_port, 1);
}

TEST(MdnsTxt, RefusesMalformedRecords) {
  const std::string id = "id=" + kId, ft = "ft=0123456789abcdef";
  const std::vector<std::string> bad = {
      "",
      Txt({id, "port=7000"}),                                      // no ft
      Txt({id, ft}),                                               // no port
      Txt({"port=7000", ft}),                                      // no id
      Txt({"id=" + kId.substr(1), "port=7000", ft}),               // short id
      Txt({"id=" + std::string(64, 'A'), "port=7000", ft}),        // upper case
      Txt({id, "port=0", ft}),                                     // port 0
      Txt({id, "port=65536", ft}),                                 // port too large
      Txt({id, "port=70x", ft}),                                   // not a number
      Txt({id, "port=", ft}),                                      // empty
      Txt({id, "port=7000", "ft=0123456789ABCDEF"}),               // upper-case tag
      Txt({id, "port=7000", "ft=0123"}),                           // short tag
      Txt({"v=2", id, "port=7000", ft}),                           // unknown version
      Txt({id, "port=7000", ft}) + std::string(1, '\x05') + "ab",  // runs past the end
  };
  for (const auto& txt : bad) {
    EXPECT_FALSE(DecodeTxt(Bytes(txt)).ok()) << "accepted: " << txt;
  }
}

TEST(MdnsTxt, NeverReadsPastTheRecordWhateverTheBytes) {
  // Every prefix of a valid record, and every single-byte corruption of it, decodes or fails
  // cleanly (run under ASan in CI).
  const std::string txt = EncodeTxt({kId, 7000, "0123456789abcdef"});
  for (size_t n = 0; n < txt.size(); ++n) {
    (void)DecodeTxt(Bytes(txt.substr(0, n)));
  }
  for (size_t i = 0; i < txt.size(); ++i) {
    std::string t = txt;
    t[i] = static_cast<char>(0xff);
    (void)DecodeTxt(Bytes(t));
  }
}

TEST(FormationTag, MatchesAnIndependentHkdfComputation) {
  std::vector<uint8_t> key(32);
  std::iota(key.begin(), key.end(), 0);
  // python3: HKDF-SHA256(IKM = bytes(range(32)), salt = none,
  //          info = b"peat-node mdns formation tag v1:my-app", L = 8).hex()
  auto tag = FormationTag(key, "my-app");
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(*tag, "e36fcc2ca8b2d2c5");
}

TEST(FormationTag, DependsOnKeyAndAppIdAndRevealsNeither) {
  std::vector<uint8_t> key(32, 7), other_key(32, 8);
  auto a = FormationTag(key, "app");
  auto b = FormationTag(key, "app2");
  auto c = FormationTag(other_key, "app");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->size(), kFormationTagChars);
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_EQ(*a, *FormationTag(key, "app"));
  EXPECT_EQ(a->find("app"), std::string::npos);
}

TEST(FormationTag, KeylessFormationsHaveNone) { EXPECT_FALSE(FormationTag({}, "app").ok()); }

TEST(CheckAdvert, SkipsSelfAndOtherFormations) {
  const std::string tag = "0123456789abcdef";
  EXPECT_EQ(CheckAdvert({kId, 1, tag}, kId, tag), AdvertVerdict::kSelf);
  EXPECT_EQ(CheckAdvert({kOtherId, 1, "fedcba9876543210"}, kId, tag),
            AdvertVerdict::kOtherFormation);
  EXPECT_EQ(CheckAdvert({kOtherId, 1, tag}, kId, tag), AdvertVerdict::kPropose);
  EXPECT_EQ(VerdictLabel(AdvertVerdict::kSelf), "self");
  EXPECT_EQ(VerdictLabel(AdvertVerdict::kOtherFormation), "formation");
}

}  // namespace
}  // namespace peat::discovery

#include "crypto/siv.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/test_util.h"

namespace peat {
namespace {

using testing::FromHex;
using testing::ToHex;

std::string Str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

Aes256SivKey KeyFromHex(std::string_view hex) {
  auto key = Aes256SivKey::Create(SecureBytes(FromHex(hex)));
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return std::move(key).value();
}

constexpr std::string_view kKeyHex =
    "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f06f6e6d6c6b6a69686766656463626160"
    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f";

// AES-SIV-CMAC-512 known answer (the dchest/siv vector Nettle's testsuite also uses): associated
// data [10..27, 02], plaintext 112233..ddee → tag || ciphertext.
TEST(SivTest, SealsAndOpensKnownAnswer) {
  auto key = KeyFromHex(kKeyHex);
  const std::string ad1 = Str(FromHex("101112131415161718191a1b1c1d1e1f2021222324252627"));
  const std::string ad2 = Str(FromHex("02"));
  const std::vector<std::string_view> ad = {ad1, ad2};
  const std::string pt = Str(FromHex("112233445566778899aabbccddee"));
  auto sealed = key.Seal(ad, pt);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(ToHex(*sealed), "6f740b421e2972d85e76189e99842843ad9e6ff14ea97c32ab315e67464c");
  auto opened = key.Open(ad, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, pt);
}

TEST(SivTest, DeterministicAndBoundToEveryAdComponent) {
  auto key = KeyFromHex(kKeyHex);
  const std::vector<std::string_view> ad = {"coll", "doc", ""};
  auto a = key.Seal(ad, "field");
  auto b = key.Seal(ad, "field");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->size(), Aes256SivKey::kTagBytes + 5);
  // Components are not concatenated: moving a byte across a boundary changes the result.
  for (const std::vector<std::string_view>& other :
       {std::vector<std::string_view>{"col", "ldoc", ""},
        {"coll", "doc"},
        {"coll", "doc", "", ""},
        {"coll", "dod", ""}}) {
    auto c = key.Seal(other, "field");
    ASSERT_TRUE(c.ok());
    EXPECT_NE(*c, *a);
    EXPECT_EQ(key.Open(other, *a).status().code(), StatusCode::kFailedPrecondition);
  }
}

TEST(SivTest, TamperingAndWrongKeysFailCleanly) {
  auto key = KeyFromHex(kKeyHex);
  const std::vector<std::string_view> ad = {"c", "d"};
  auto sealed = key.Seal(ad, "patient_name");
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string bad = *sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto r = key.Open(ad, bad);
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << "byte " << i;
    EXPECT_NE(r.status().message().find("cannot decrypt"), std::string::npos);
  }
  EXPECT_EQ(key.Open(ad, sealed->substr(0, Aes256SivKey::kTagBytes)).status().code(),
            StatusCode::kFailedPrecondition);
  auto other = KeyFromHex(std::string(128, '7'));
  EXPECT_EQ(other.Open(ad, *sealed).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(key.Seal(ad, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Aes256SivKey::Create(SecureBytes(32)).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace peat

#include "crypto/aead.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "crypto/test_util.h"

namespace peat {
namespace {

using testing::FromHex;

std::string Str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

Aes256GcmKey KeyFromHex(std::string_view hex) {
  auto key = Aes256GcmKey::Create(SecureBytes(FromHex(hex)));
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return std::move(key).value();
}

// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 14 (AES-256, zero key/IV).
TEST(AeadTest, OpensKnownAnswerTestCase14) {
  auto key = KeyFromHex("0000000000000000000000000000000000000000000000000000000000000000");
  const std::string sealed =
      Str(FromHex("000000000000000000000000"
                  "cea7403d4d606b6e074ec5d3baf39d18"
                  "d0d1c8a799996bf0265b98b5d48ab919"));
  auto pt = key.Open(sealed, "");
  ASSERT_TRUE(pt.ok()) << pt.status().ToString();
  EXPECT_EQ(*pt, std::string(16, '\0'));
}

// Same source, test case 16 (AES-256 with associated data).
TEST(AeadTest, OpensKnownAnswerTestCase16WithAad) {
  auto key = KeyFromHex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const std::string sealed = Str(FromHex(
      "cafebabefacedbaddecaf888"
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
      "56828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b"));
  const std::string aad = Str(FromHex("feedfacedeadbeeffeedfacedeadbeefabaddad2"));
  auto pt = key.Open(sealed, aad);
  ASSERT_TRUE(pt.ok()) << pt.status().ToString();
  EXPECT_EQ(*pt, Str(FromHex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                             "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")));
  // Flipping one bit of the associated data breaks authentication.
  std::string bad_aad = aad;
  bad_aad[0] ^= 1;
  EXPECT_EQ(key.Open(sealed, bad_aad).status().code(), StatusCode::kFailedPrecondition);
}

TEST(AeadTest, SealOpenRoundTripWithFreshNonces) {
  auto key = KeyFromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto sealed = key.Seal("hello", "aad");
    ASSERT_TRUE(sealed.ok());
    EXPECT_EQ(sealed->size(), 5 + Aes256GcmKey::kOverheadBytes);
    EXPECT_TRUE(seen.insert(sealed->substr(0, Aes256GcmKey::kNonceBytes)).second);
    auto pt = key.Open(*sealed, "aad");
    ASSERT_TRUE(pt.ok());
    EXPECT_EQ(*pt, "hello");
  }
  auto empty = key.Seal("", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), Aes256GcmKey::kOverheadBytes);
  EXPECT_EQ(key.Open(*empty, "").value(), "");
}

TEST(AeadTest, RejectsWrongKeyTamperingAndShortInput) {
  auto key = KeyFromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  auto other = KeyFromHex("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  auto sealed = key.Seal("secret value", "ctx");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(other.Open(*sealed, "ctx").status().code(), StatusCode::kFailedPrecondition);
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string t = *sealed;
    t[i] ^= 0x40;
    EXPECT_EQ(key.Open(t, "ctx").status().code(), StatusCode::kFailedPrecondition) << i;
  }
  EXPECT_EQ(key.Open(sealed->substr(0, 27), "ctx").status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(AeadTest, KeyMustBe32Bytes) {
  EXPECT_EQ(Aes256GcmKey::Create(SecureBytes(16)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Aes256GcmKey::Create(SecureBytes()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Aes256GcmKey::Create(SecureBytes(32)).ok());
}

}  // namespace
}  // namespace peat

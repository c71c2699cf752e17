#include "crypto/hkdf.h"

#include <gtest/gtest.h>

#include "crypto/test_util.h"

namespace peat {
namespace {

using testing::FromHex;
using testing::ToHex;

// RFC 5869 Appendix A.1, test case 1.
TEST(HkdfTest, Rfc5869TestCase1) {
  const auto ikm = FromHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  const auto salt = FromHex("000102030405060708090a0b0c");
  const auto info = FromHex("f0f1f2f3f4f5f6f7f8f9");
  auto okm = HkdfSha256(ikm, salt, info, 42);
  ASSERT_TRUE(okm.ok()) << okm.status().ToString();
  EXPECT_EQ(ToHex(okm->span()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

// RFC 5869 Appendix A.3, test case 3: zero-length salt and info (salt = none).
TEST(HkdfTest, Rfc5869TestCase3EmptySaltAndInfo) {
  const auto ikm = FromHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  auto okm = HkdfSha256(ikm, {}, {}, 42);
  ASSERT_TRUE(okm.ok()) << okm.status().ToString();
  EXPECT_EQ(ToHex(okm->span()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(HkdfTest, RejectsImpossibleLengths) {
  const auto ikm = FromHex("0b0b");
  EXPECT_EQ(HkdfSha256(ikm, {}, {}, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HkdfSha256(ikm, {}, {}, 255 * 32 + 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HkdfSha256(ikm, {}, {}, 255 * 32).ok());
}

}  // namespace
}  // namespace peat

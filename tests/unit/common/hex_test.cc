#include "common/hex.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace peat {
namespace {

TEST(HexTest, EncodesLowercaseTwoDigitsPerByte) {
  EXPECT_EQ(HexEncode(std::span<const uint8_t>{}), "");
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0x0f, 0x10, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_EQ(HexEncode(bytes), "00010f107f80abff");
}

TEST(HexTest, DigitValues) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('9'), 9);
  EXPECT_EQ(HexDigitValue('a'), 10);
  EXPECT_EQ(HexDigitValue('F'), 15);
  for (char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0', '\xff'}) {
    EXPECT_EQ(HexDigitValue(c), -1) << static_cast<int>(c);
  }
}

TEST(HexTest, DecodeRoundTripsAndAcceptsEitherCase) {
  std::array<uint8_t, 256> all{};
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i);
  const std::string hex = HexEncode(all);
  std::array<uint8_t, 256> back{};
  ASSERT_TRUE(HexDecode(hex, back));
  EXPECT_EQ(back, all);

  std::array<uint8_t, 2> two{};
  ASSERT_TRUE(HexDecode("aBcD", two));
  EXPECT_EQ(two, (std::array<uint8_t, 2>{0xab, 0xcd}));
  EXPECT_TRUE(HexDecode("", std::span<uint8_t>()));
}

TEST(HexTest, DecodeRefusesWrongLengthOrNonDigits) {
  std::array<uint8_t, 2> two{};
  EXPECT_FALSE(HexDecode("abc", two));
  EXPECT_FALSE(HexDecode("abcdef", two));
  EXPECT_FALSE(HexDecode("abcg", two));
  EXPECT_FALSE(HexDecode("ab d", two));
  EXPECT_FALSE(HexDecode("0x12", two));
}

TEST(HexTest, IsLowerHex) {
  EXPECT_TRUE(IsLowerHex("0123456789abcdef"));
  EXPECT_FALSE(IsLowerHex(""));
  EXPECT_FALSE(IsLowerHex("ABCDEF"));
  EXPECT_FALSE(IsLowerHex("abcdeg"));
  EXPECT_FALSE(IsLowerHex(std::string("ab\0", 3)));
}

}  // namespace
}  // namespace peat

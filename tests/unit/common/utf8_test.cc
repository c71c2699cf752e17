#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace peat {
namespace {

// Valid iff Utf8SequenceLength steps over every byte: the scalar decoder's verdict.
bool DecoderSaysValid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

TEST(Utf8Test, AcceptsValidText) {
  for (const std::string& s :
       {std::string(""), std::string("plain ascii:with-colon"), std::string("nul\0inside", 10),
        std::string("caf\xC3\xA9"), std::string("\xE2\x82\xAC"), std::string("\xF0\x9F\x98\x80"),
        std::string("\xF4\x8F\xBF\xBF"),     // U+10FFFF, the last code point
        std::string("\xED\x9F\xBF"),         // U+D7FF, below the surrogates
        std::string("\xEE\x80\x80"),         // U+E000, above the surrogates
        std::string("\xC2\x80"),             // U+0080, the first 2-byte one
        std::string("\xE0\xA0\x80"),         // U+0800, the first 3-byte one
        std::string("\xF0\x90\x80\x80")}) {  // U+10000, the first 4-byte
    SCOPED_TRACE(::testing::PrintToString(s));
    EXPECT_TRUE(IsValidUtf8(s));
    EXPECT_TRUE(DecoderSaysValid(s));
  }
}

TEST(Utf8Test, RefusesInvalidText) {
  for (const std::string& s : {
           std::string("\xFF"),                  // never valid in UTF-8
           std::string("abc\x80"),               // lone continuation byte
           std::string("\xC3"),                  // truncated 2-byte sequence at the end
           std::string("\xC3("),                 // lead byte followed by a non-continuation
           std::string("\xE2\x82"),              // truncated 3-byte sequence
           std::string("\xF0\x9F\x98"),          // truncated 4-byte sequence
           std::string("\xC0\xAF"),              // overlong "/"
           std::string("\xC1\xBF"),              // overlong U+007F
           std::string("\xE0\x80\xAF"),          // overlong "/" (3 bytes)
           std::string("\xE0\x9F\xBF"),          // overlong U+07FF
           std::string("\xF0\x80\x80\xAF"),      // overlong "/" (4 bytes)
           std::string("\xF0\x8F\xBF\xBF"),      // overlong U+FFFF
           std::string("\xED\xA0\x80"),          // UTF-16 surrogate U+D800
           std::string("\xED\xBF\xBF"),          // UTF-16 surrogate U+DFFF
           std::string("\xF4\x90\x80\x80"),      // U+110000, above the Unicode range
           std::string("\xF5\x80\x80\x80"),      // lead byte beyond F4
           std::string("\xF8\x88\x80\x80\x80"),  // 5-byte form
       }) {
    SCOPED_TRACE(::testing::PrintToString(s));
    EXPECT_FALSE(IsValidUtf8(s));
    EXPECT_FALSE(DecoderSaysValid(s));
  }
}

TEST(Utf8Test, SequenceLength) {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\x80";
  EXPECT_EQ(Utf8SequenceLength(s, 0), 1u);
  EXPECT_EQ(Utf8SequenceLength(s, 1), 2u);
  EXPECT_EQ(Utf8SequenceLength(s, 2), 0u);  // a continuation byte starts nothing
  EXPECT_EQ(Utf8SequenceLength(s, 3), 3u);
  EXPECT_EQ(Utf8SequenceLength(s, 6), 4u);
  EXPECT_EQ(Utf8SequenceLength(s, 10), 0u);
  EXPECT_EQ(Utf8SequenceLength(std::string_view(s).substr(0, 5), 3), 0u);  // cut off by the end
  EXPECT_EQ(Utf8SequenceLength(std::string("\0", 1), 0), 1u);
  EXPECT_EQ(kUtf8Replacement, "\xEF\xBF\xBD");
}

// The SIMD validator and the scalar decoder must give the same verdict on every input, also when
// the sequence sits at a SIMD block boundary: every string of one or two bytes, every three-byte
// string that starts with a multi-byte lead, and four-byte strings over the bytes where the rules
// change.
void ExpectAgreement(const std::string& seq) {
  static const std::string kPad(61, 'x');  // puts `seq` across the first 64-byte boundary
  const bool valid = DecoderSaysValid(seq);
  ASSERT_EQ(IsValidUtf8(seq), valid) << ::testing::PrintToString(seq);
  ASSERT_EQ(IsValidUtf8(kPad + seq + kPad), valid) << ::testing::PrintToString(seq);
}

TEST(Utf8Test, ValidatorAndDecoderAgreeOnShortInputs) {
  for (int a = 0; a < 256; ++a) {
    ExpectAgreement(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) {
      ExpectAgreement({static_cast<char>(a), static_cast<char>(b)});
    }
  }
  for (int a = 0xC0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        const std::string s = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)};
        ASSERT_EQ(IsValidUtf8(s), DecoderSaysValid(s)) << ::testing::PrintToString(s);
      }
    }
  }
  const std::vector<int> edges = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
                                  0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  for (int a : {0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7}) {
    for (int b : edges) {
      for (int c : edges) {
        for (int d : edges) {
          ExpectAgreement({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                           static_cast<char>(d)});
        }
      }
    }
  }
}

}  // namespace
}  // namespace peat

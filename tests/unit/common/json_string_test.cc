#include "common/json_string.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <string>

#include "common/utf8.h"

namespace peat {
namespace {

TEST(JsonStringTest, EscapesTheCanonicalSet) {
  EXPECT_EQ(JsonQuote(""), R"("")");
  EXPECT_EQ(JsonQuote("plain"), R"("plain")");
  EXPECT_EQ(JsonQuote("q\"b\\s/\b\f\n\r\t"), R"("q\"b\\s/\b\f\n\r\t")");
  EXPECT_EQ(JsonQuote(std::string("\0\x01\x1f\x20", 4)), R"("\u0000\u0001\u001f ")");
  EXPECT_EQ(JsonQuote(std::string("nul\0byte", 8)), R"("nul\u0000byte")");
  EXPECT_EQ(JsonQuote("\x0b\x1b"), R"("\u000b\u001b")");  // lowercase hex
}

TEST(JsonStringTest, CopiesDelAndValidNonAsciiRaw) {
  EXPECT_EQ(JsonQuote("/slash/ and \x7f"), "\"/slash/ and \x7f\"");
  EXPECT_EQ(JsonQuote("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80 \xE2\x80\xA8"),
            "\"caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80 \xE2\x80\xA8\"");
}

TEST(JsonStringTest, ReplacesEachByteThatStartsNoValidSequence) {
  const std::string r(kUtf8Replacement);
  EXPECT_EQ(JsonQuote("bad \xFF\xFE end"), "\"bad " + r + r + " end\"");
  EXPECT_EQ(JsonQuote("\xED\xA0\x80"), "\"" + r + r + r + "\"");          // surrogate
  EXPECT_EQ(JsonQuote("\xC0\xAF"), "\"" + r + r + "\"");                  // overlong
  EXPECT_EQ(JsonQuote("\xE2\x82"), "\"" + r + r + "\"");                  // cut off at the end
  EXPECT_EQ(JsonQuote("\xE2\x82(\""), "\"" + r + r + "(\\\"\"");          // then a normal escape
  EXPECT_EQ(JsonQuote("\xF4\x90\x80\x80"), "\"" + r + r + r + r + "\"");  // > U+10FFFF
  EXPECT_EQ(JsonQuote("\x80\xC3\xA9"), "\"" + r + "\xC3\xA9\"");
}

TEST(JsonStringTest, AppendsToWhatIsThere) {
  std::string out = "[";
  AppendJsonString(&out, "");
  out += ',';
  AppendJsonString(&out, "a\nb");
  EXPECT_EQ(out, "[\"\",\"a\\nb\"");
}

// Any bytes give one valid JSON string in valid UTF-8; valid UTF-8 reads back unchanged.
TEST(JsonStringTest, AlwaysValidJsonAndRoundTripsValidText) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> len(0, 24);
  std::uniform_int_distribution<int> byte(0, 255);
  const char* pieces[] = {"a",
                          "\"",
                          "\\",
                          "\n",
                          "\x01",
                          "\x7f",
                          "\xC3\xA9",
                          "\xE2\x82\xAC",
                          "\xF0\x9F\x98\x80",
                          "\xED\xA0\x80",
                          "\xFF",
                          "\xC3"};
  for (int round = 0; round < 20000; ++round) {
    std::string in;
    const int n = len(rng);
    for (int i = 0; i < n; ++i) {
      if (round % 2 == 0) {
        in += static_cast<char>(byte(rng));
      } else {
        in += pieces[static_cast<size_t>(byte(rng)) % std::size(pieces)];
      }
    }
    const std::string out = JsonQuote(in);
    ASSERT_TRUE(IsValidUtf8(out)) << ::testing::PrintToString(in);
    const auto parsed = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(parsed.is_string()) << ::testing::PrintToString(in);
    if (IsValidUtf8(in)) {
      EXPECT_EQ(parsed.get<std::string>(), in);
    }
  }
}

}  // namespace
}  // namespace peat

#include "cli/table.h"

#include <gtest/gtest.h>

#include <sstream>

namespace peat::cli {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(DisplayWidthTest, CountsCodePoints) {
  EXPECT_EQ(DisplayWidth(""), 0u);
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("h\xC3\xA9llo"), 5u);  // é is two bytes, one column
  EXPECT_EQ(DisplayWidth(kEllipsis), 1u);
}

TEST(FitToWidthTest, KeepsWhatFitsAndCutsWithAnEllipsis) {
  EXPECT_EQ(FitToWidth("abc", 3), "abc");
  EXPECT_EQ(FitToWidth("abcd", 3), "ab\u2026");
  EXPECT_EQ(FitToWidth("abcd", 1), "\u2026");
  EXPECT_EQ(FitToWidth("abcd", 0), "");
  // A multi-byte code point is never split.
  EXPECT_EQ(FitToWidth("\xC3\xA9\xC3\xA9\xC3\xA9", 2), "\xC3\xA9\u2026");
  // Control characters cannot break the layout.
  EXPECT_EQ(FitToWidth("a\nb\tc", 10), "a b c");
}

TEST(TableTest, AlignsColumnsWithTwoSpacesAndNoTrailingSpaces) {
  Table t({"ID", "STATE", "NOTE"});
  t.AddRow({"a", "connected", ""});
  t.AddRow({"longer-id", "no", "x"});
  EXPECT_EQ(t.Render(),
            "ID         STATE      NOTE\n"
            "a          connected\n"
            "longer-id  no         x\n");
}

TEST(TableTest, PadsShortRowsAndDropsExtraCells) {
  Table t({"A", "B"});
  t.AddRow({"1"});
  t.AddRow({"1", "2", "3"});
  EXPECT_EQ(t.Render(), "A  B\n1\n1  2\n");
}

TEST(TableTest, NarrowsTheWidestColumnUntilEveryLineFits) {
  Table t({"DOC ID", "DOCUMENT"});
  std::string long_json = "{\"k\":\"" + std::string(200, 'v') + "\"}";
  t.AddRow({"v-1", long_json});
  t.AddRow({"v-2", "{}"});
  auto lines = Lines(t.Render(80));
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) EXPECT_LE(DisplayWidth(l), 80u) << l;
  EXPECT_EQ(DisplayWidth(lines[1]), 80u);
  EXPECT_EQ(lines[1].substr(0, 8), "v-1     ");
  EXPECT_EQ(lines[1].substr(lines[1].size() - 3), kEllipsis);
  EXPECT_EQ(lines[2], "v-2     {}");
}

TEST(TableTest, ShrinksSeveralWideColumnsEvenly) {
  Table t({"A", "B"});
  t.AddRow({std::string(60, 'a'), std::string(60, 'b')});
  auto lines = Lines(t.Render(40));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(DisplayWidth(lines[1]), 40u);
  // 19 + 2 + 19: both columns gave the same.
  EXPECT_EQ(lines[1].substr(0, 18), std::string(18, 'a'));
}

TEST(TableTest, KeepWholeColumnsGiveWidthLast) {
  Table t({"FILE", "ID", "TOKEN"});
  t.KeepWhole(1);
  t.AddRow({"a.txt", std::string(36, 'i'), std::string(64, 't')});
  auto lines = Lines(t.Render(80));
  EXPECT_EQ(DisplayWidth(lines[1]), 80u);
  EXPECT_NE(lines[1].find(std::string(36, 'i')), std::string::npos);
  // Too narrow for the kept column alone: it is cut too, and every line still fits.
  for (const auto& l : Lines(t.Render(20))) EXPECT_LE(DisplayWidth(l), 20u) << l;
}

TEST(TableTest, HeaderOnlyWhenEmpty) {
  Table t({"ENDPOINT ID", "CONNECTED"});
  EXPECT_EQ(t.rows(), 0u);
  EXPECT_EQ(t.Render(), "ENDPOINT ID  CONNECTED\n");
}

TEST(RenderKeyValuesTest, AlignsKeysAndCutsValues) {
  EXPECT_EQ(RenderKeyValues({{"node id", "n-1"}, {"phase", "SYNCING"}}),
            "node id  n-1\nphase    SYNCING\n");
  auto out = RenderKeyValues({{"k", std::string(100, 'x')}}, 20);
  EXPECT_EQ(out, "k  " + std::string(16, 'x') + std::string(kEllipsis) + "\n");
}

}  // namespace
}  // namespace peat::cli

#include "app/flag_suggestion.h"

#include <gtest/gtest.h>

namespace peat {
namespace {

TEST(FlagSuggestionTest, EditDistance) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("listen", "listen"), 0u);
  EXPECT_EQ(EditDistance("lisen", "listen"), 1u);           // deletion
  EXPECT_EQ(EditDistance("listenn", "listen"), 1u);         // insertion
  EXPECT_EQ(EditDistance("lusten", "listen"), 1u);          // substitution
  EXPECT_EQ(EditDistance("shared-kye", "shared-key"), 1u);  // adjacent transposition
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("ca", "abc"), 3u);  // OSA, not full Damerau (which says 2)
  EXPECT_EQ(EditDistance("node-id", "app-id"), EditDistance("app-id", "node-id"));
}

TEST(FlagSuggestionTest, NearestFlag) {
  const std::vector<std::string> known = {"listen",     "data-dir",       "node-id",
                                          "shared-key", "encryption-key", "gc-interval-secs"};
  EXPECT_EQ(NearestFlag("shared-kye", known), "shared-key");
  EXPECT_EQ(NearestFlag("shard-key", known), "shared-key");
  EXPECT_EQ(NearestFlag("lsiten", known), "listen");
  EXPECT_EQ(NearestFlag("datadir", known), "data-dir");
  EXPECT_EQ(NearestFlag("gc-intervall-sec", known), "gc-interval-secs");  // 2 edits, long name
  EXPECT_EQ(NearestFlag("dat", known), "data-dir");                       // unique prefix
  EXPECT_EQ(NearestFlag("bogus", known), std::nullopt);
  EXPECT_EQ(NearestFlag("x", known), std::nullopt);
  EXPECT_EQ(NearestFlag("", known), std::nullopt);
  EXPECT_EQ(NearestFlag("listen", {}), std::nullopt);
  // An ambiguous prefix suggests nothing; ties in distance go to the first known name.
  EXPECT_EQ(NearestFlag("enc", {"encryption-key", "encoding"}), std::nullopt);
  EXPECT_EQ(NearestFlag("ab", {"aa", "bb"}), "aa");
}

}  // namespace
}  // namespace peat

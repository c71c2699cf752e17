#include "crypto/random.h"

#include <gtest/gtest.h>

#include <array>
#include <set>

namespace peat {
namespace {

TEST(RandomTest, BytesAreFilledAndDiffer) {
  std::array<uint8_t, 32> a{}, b{};
  ASSERT_TRUE(RandomBytes(a).ok());
  ASSERT_TRUE(RandomBytes(b).ok());
  EXPECT_NE(a, b);
  EXPECT_TRUE(RandomBytes(std::span<uint8_t>()).ok());
}

TEST(RandomTest, UuidV4Format) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto u = RandomUuidV4();
    ASSERT_TRUE(u.ok());
    const std::string& s = *u;
    ASSERT_EQ(s.size(), 36u) << s;
    for (size_t k = 0; k < s.size(); ++k) {
      if (k == 8 || k == 13 || k == 18 || k == 23) {
        EXPECT_EQ(s[k], '-') << s;
      } else {
        EXPECT_TRUE((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f')) << s;
      }
    }
    EXPECT_EQ(s[14], '4') << s;                                          // version
    EXPECT_NE(std::string("89ab").find(s[19]), std::string::npos) << s;  // variant
    EXPECT_TRUE(seen.insert(s).second);
  }
}

}  // namespace
}  // namespace peat

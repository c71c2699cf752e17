#include "common/file_mode.h"

#include <gtest/gtest.h>

namespace peat {
namespace {

TEST(FileModeTest, ParsesOctalPermissionBits) {
  EXPECT_EQ(*ParseFileMode("0660"), 0660u);
  EXPECT_EQ(*ParseFileMode("660"), 0660u);
  EXPECT_EQ(*ParseFileMode("0600"), 0600u);
  EXPECT_EQ(*ParseFileMode("0"), 0u);
  EXPECT_EQ(*ParseFileMode("777"), 0777u);
  EXPECT_EQ(*ParseFileMode("0777"), 0777u);
}

TEST(FileModeTest, RejectsAnythingElse) {
  for (const char* bad : {"", "8", "0o660", "1777", "4755", "07777", "00660", "rw-r--r--", "-1",
                          " 660", "660 ", "0x1ff"}) {
    auto m = ParseFileMode(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(m.status().message(),
              "must be an octal mode from 0000 to 0777, e.g. 0660; got '" + std::string(bad) + "'");
  }
}

TEST(FileModeTest, FormatsFourDigits) {
  EXPECT_EQ(FormatFileMode(0660), "0660");
  EXPECT_EQ(FormatFileMode(0755), "0755");
  EXPECT_EQ(FormatFileMode(0), "0000");
  EXPECT_EQ(FormatFileMode(0777), "0777");
  for (uint32_t m = 0; m <= 0777; ++m) EXPECT_EQ(*ParseFileMode(FormatFileMode(m)), m);
}

}  // namespace
}  // namespace peat

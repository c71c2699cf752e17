#include "crypto/secure_bytes.h"

#include <gtest/gtest.h>

#include <utility>

namespace peat {
namespace {

TEST(SecureBytesTest, ConstructsZeroedAndCopies) {
  SecureBytes z(4);
  ASSERT_EQ(z.size(), 4u);
  for (size_t i = 0; i < z.size(); ++i) EXPECT_EQ(z[i], 0);

  const uint8_t raw[] = {1, 2, 3};
  SecureBytes b{std::span<const uint8_t>(raw)};
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[2], 3);
  SecureBytes c = b.Copy();
  EXPECT_TRUE(b == c);
  c[0] = 9;
  EXPECT_FALSE(b == c);
  EXPECT_EQ(b[0], 1);
}

TEST(SecureBytesTest, MoveLeavesSourceEmpty) {
  SecureBytes a = SecureBytes::FromString("secret");
  const uint8_t* p = a.data();
  SecureBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.size(), 6u);

  SecureBytes c = SecureBytes::FromString("other");
  c = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(c == SecureBytes::FromString("secret"));
}

TEST(SecureBytesTest, ClearEmpties) {
  SecureBytes a = SecureBytes::FromString("key");
  a.Clear();
  EXPECT_TRUE(a.empty());
  EXPECT_TRUE(a == SecureBytes());
}

}  // namespace
}  // namespace peat

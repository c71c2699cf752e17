#include "common/endpoint_id.h"

#include <gtest/gtest.h>

#include <string>

namespace peat {
namespace {

TEST(EndpointIdTest, ValidIsSixtyFourLowercaseHex) {
  EXPECT_TRUE(IsValidEndpointId(std::string(64, 'a')));
  EXPECT_TRUE(
      IsValidEndpointId("035254fa2cdf94cdd5fbf7ef7fe27efd26e1490d7db3b03b1bf30859be447634"));
  EXPECT_FALSE(IsValidEndpointId(""));
  EXPECT_FALSE(IsValidEndpointId(std::string(63, 'a')));
  EXPECT_FALSE(IsValidEndpointId(std::string(65, 'a')));
  EXPECT_FALSE(IsValidEndpointId(std::string(64, 'A')));
  EXPECT_FALSE(IsValidEndpointId(std::string(64, 'g')));
  EXPECT_FALSE(IsValidEndpointId(std::string(63, 'a') + '\0'));
}

TEST(EndpointIdTest, ShortIdIsTheFirstTenChars) {
  EXPECT_EQ(ShortEndpointId("035254fa2cdf94cdd5fbf7ef7fe27efd26e1490d7db3b03b1bf30859be447634"),
            "035254fa2c");
  EXPECT_EQ(ShortEndpointId("abc"), "abc");  // shorter input: as it is
  EXPECT_EQ(ShortEndpointId(""), "");
}

}  // namespace
}  // namespace peat

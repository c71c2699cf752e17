#include "mesh/priority_lanes.h"

#include <gtest/gtest.h>

namespace peat::mesh {
namespace {

TEST(PriorityLanesTest, NoClassesIsOneLaneForEverything) {
  auto lanes = BuildPriorityLanes({});
  ASSERT_EQ(lanes.size(), 1u);
  EXPECT_EQ(lanes[0].priority_class, kDefaultPriorityClass);
  EXPECT_TRUE(lanes[0].collections.empty());
  EXPECT_FALSE(lanes[0].exclude);
}

TEST(PriorityLanesTest, HighestClassFirstAndTheDefaultLaneExcludesTheOthers) {
  auto lanes = BuildPriorityLanes(
      {{"alerts", 5}, {"logs", 1}, {"tracks", 5}, {"orders", 3}, {"reports", 4}, {"odd", 9}});
  ASSERT_EQ(lanes.size(), 4u);
  EXPECT_EQ(lanes[0].priority_class, 5);
  EXPECT_EQ(lanes[0].collections, (std::vector<std::string>{"alerts", "odd", "tracks"}));
  EXPECT_FALSE(lanes[0].exclude);
  EXPECT_EQ(lanes[1].priority_class, 4);
  EXPECT_EQ(lanes[1].collections, (std::vector<std::string>{"reports"}));
  EXPECT_EQ(lanes[2].priority_class, 3);
  EXPECT_TRUE(lanes[2].exclude);
  EXPECT_EQ(lanes[2].collections,
            (std::vector<std::string>{"alerts", "logs", "odd", "reports", "tracks"}));
  EXPECT_EQ(lanes[3].priority_class, 1);
  EXPECT_EQ(lanes[3].collections, (std::vector<std::string>{"logs"}));
}

}  // namespace
}  // namespace peat::mesh

#include "attach/status_model.h"

#include <gtest/gtest.h>

namespace peat::attach {
namespace {

using S = TransferState;

TEST(StatusModelTest, TargetTransitionsFollowTheTable) {
  EXPECT_TRUE(TargetTransitionAllowed(S::kPending, S::kInProgress));
  EXPECT_TRUE(TargetTransitionAllowed(S::kInProgress, S::kCompleted));
  EXPECT_TRUE(TargetTransitionAllowed(S::kPending, S::kFailed));
  EXPECT_TRUE(TargetTransitionAllowed(S::kInProgress, S::kFailed));
  EXPECT_TRUE(TargetTransitionAllowed(S::kPending, S::kCancelled));
  EXPECT_TRUE(TargetTransitionAllowed(S::kInProgress, S::kCancelled));
  EXPECT_TRUE(TargetTransitionAllowed(S::kPending, S::kCompleted));  // blob already present
  for (auto terminal : {S::kCompleted, S::kFailed, S::kCancelled}) {
    for (auto to : {S::kPending, S::kInProgress, S::kCompleted, S::kFailed, S::kCancelled}) {
      EXPECT_FALSE(TargetTransitionAllowed(terminal, to))
          << StateName(terminal) << " → " << StateName(to);
    }
  }
  EXPECT_FALSE(TargetTransitionAllowed(S::kInProgress, S::kPending));
  EXPECT_FALSE(TargetTransitionAllowed(S::kPending, S::kPartial));
}

TEST(StatusModelTest, DistributionAggregate) {
  EXPECT_EQ(AggregateDistribution({}), S::kCompleted);
  EXPECT_EQ(AggregateDistribution({S::kPending, S::kPending}), S::kPending);
  EXPECT_EQ(AggregateDistribution({S::kPending, S::kInProgress}), S::kInProgress);
  // A failure while another target still runs does not end the distribution (Q8).
  EXPECT_EQ(AggregateDistribution({S::kFailed, S::kInProgress}), S::kInProgress);
  EXPECT_EQ(AggregateDistribution({S::kFailed, S::kPending}), S::kInProgress);
  EXPECT_EQ(AggregateDistribution({S::kCompleted, S::kCompleted}), S::kCompleted);
  EXPECT_EQ(AggregateDistribution({S::kCompleted, S::kFailed}), S::kPartial);
  EXPECT_EQ(AggregateDistribution({S::kCompleted, S::kCancelled}), S::kPartial);
  EXPECT_EQ(AggregateDistribution({S::kFailed, S::kCancelled}), S::kFailed);
  EXPECT_EQ(AggregateDistribution({S::kCancelled, S::kCancelled}), S::kCancelled);
}

TEST(StatusModelTest, BundleAggregate) {
  EXPECT_EQ(AggregateBundle({S::kCompleted, S::kInProgress}), std::nullopt);
  EXPECT_EQ(AggregateBundle({S::kCompleted, S::kCompleted}), S::kCompleted);
  EXPECT_EQ(AggregateBundle({S::kPartial, S::kCancelled}), S::kPartial);
  EXPECT_EQ(AggregateBundle({S::kPartial, S::kFailed}), S::kFailed);
  EXPECT_EQ(AggregateBundle({S::kCancelled, S::kCompleted}), S::kCancelled);
  EXPECT_EQ(AggregateBundle({}), S::kCompleted);
}

TEST(StatusModelTest, NamesRoundTrip) {
  for (auto s : {S::kPending, S::kInProgress, S::kCompleted, S::kFailed, S::kCancelled}) {
    EXPECT_EQ(ParseTargetState(StateName(s)), s);
  }
  EXPECT_EQ(ParseTargetState("partial"), std::nullopt);
  EXPECT_EQ(ParseTargetState("Completed"), std::nullopt);
  EXPECT_EQ(ParseTargetState(""), std::nullopt);
}

}  // namespace
}  // namespace peat::attach

#include "mesh/member_ack_tracker.h"

#include <gtest/gtest.h>

namespace peat::mesh {
namespace {

TEST(MemberAckTrackerTest, NoMembersMeansEveryDeleteIsAcknowledged) {
  MemberAckTracker t;
  EXPECT_TRUE(t.AllMembersAcknowledged("c", "d", {}, 100));
}

TEST(MemberAckTrackerTest, PurgeWaitsForTheSlowestMember) {
  MemberAckTracker t;
  EXPECT_TRUE(t.AddMember("b"));
  EXPECT_FALSE(t.AddMember("b"));
  EXPECT_TRUE(t.AddMember("c"));
  EXPECT_FALSE(t.AllMembersAcknowledged("c", "d", {}, 5));
  EXPECT_TRUE(t.Acknowledge("b", 10));
  EXPECT_FALSE(t.Acknowledge("b", 7));                      // never moves back
  EXPECT_FALSE(t.AllMembersAcknowledged("c", "d", {}, 5));  // c has not seen it
  EXPECT_TRUE(t.Acknowledge("c", 5));
  EXPECT_TRUE(t.AllMembersAcknowledged("c", "d", {}, 5));
  EXPECT_FALSE(t.AllMembersAcknowledged("c", "d", {}, 6));
  t.RemoveMember("c");  // DisconnectPeer: no longer waited for
  EXPECT_TRUE(t.AllMembersAcknowledged("c", "d", {}, 10));
  EXPECT_FALSE(t.Acknowledge("c", 50));  // a late ack does not bring it back
  EXPECT_EQ(t.members().size(), 1u);
}

}  // namespace
}  // namespace peat::mesh

// PendingStates: one owner per key, watchers called once with held / not held, re-entrant
// watchers, DropOwner failing only that owner's keys, the bounded memory of keys recently held.
#include "mesh/pending_states.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace peat::mesh {
namespace {

TEST(PendingStatesTest, KeysSeparateCollectionIdAndDigest) {
  EXPECT_NE(PendingStates::Key("ab", "c", "d"), PendingStates::Key("a", "bc", "d"));
  EXPECT_NE(PendingStates::Key("a", "b", "d1"), PendingStates::Key("a", "b", "d2"));
  EXPECT_EQ(PendingStates::Key("a", "b", "d"), PendingStates::Key("a", "b", "d"));
}

TEST(PendingStatesTest, TheFirstOwnerKeepsAKeyUntilItResolves) {
  PendingStates p;
  const std::string k = PendingStates::Key("c", "doc", "digest");
  EXPECT_FALSE(p.Contains(k));
  EXPECT_TRUE(p.Add(k, 1));
  EXPECT_FALSE(p.Add(k, 2));
  EXPECT_TRUE(p.Contains(k));
  p.Resolve(k, true);
  EXPECT_FALSE(p.Contains(k));
  EXPECT_TRUE(p.Add(k, 2));
}

TEST(PendingStatesTest, WatchersRunOnceWithTheOutcome) {
  PendingStates p;
  const std::string k = PendingStates::Key("c", "doc", "x");
  std::vector<bool> seen;
  EXPECT_FALSE(p.Watch(k, [&](bool held) { seen.push_back(held); }));  // nothing pending
  ASSERT_TRUE(p.Add(k, 7));
  EXPECT_TRUE(p.Watch(k, [&](bool held) { seen.push_back(held); }));
  EXPECT_TRUE(p.Watch(k, [&](bool held) { seen.push_back(held); }));
  p.Resolve(k, true);
  p.Resolve(k, false);  // no longer pending: nothing runs
  EXPECT_EQ(seen, (std::vector<bool>{true, true}));
}

TEST(PendingStatesTest, DropOwnerFailsOnlyThatOwnersKeysAndWatchersMayTakeThemOver) {
  PendingStates p;
  const std::string mine = PendingStates::Key("c", "1", "x");
  const std::string other = PendingStates::Key("c", "2", "x");
  ASSERT_TRUE(p.Add(mine, 1));
  ASSERT_TRUE(p.Add(other, 2));
  bool took_over = false;
  std::vector<bool> other_seen;
  p.Watch(mine, [&](bool held) {
    EXPECT_FALSE(held);
    took_over = p.Add(mine, 3);  // re-entrant: the key is already gone
  });
  p.Watch(other, [&](bool held) { other_seen.push_back(held); });
  p.DropOwner(1);
  EXPECT_TRUE(took_over);
  EXPECT_TRUE(p.Contains(mine));
  EXPECT_TRUE(other_seen.empty());
  EXPECT_EQ(p.size(), 2u);
  p.DropOwner(3);
  p.DropOwner(2);
  EXPECT_EQ(other_seen, (std::vector<bool>{false}));
  EXPECT_EQ(p.size(), 0u);
}

TEST(PendingStatesTest, AnExpectedKeyIsClaimedByItsOwnerOrExpires) {
  PendingStates p;
  const std::string k = PendingStates::Key("c", "doc", "x");
  std::vector<bool> seen;
  ASSERT_TRUE(p.Add(k, 5, /*expected=*/true));
  p.Watch(k, [&](bool held) { seen.push_back(held); });
  EXPECT_FALSE(p.Claim(k, 6));  // only its owner claims it
  EXPECT_TRUE(p.Claim(k, 5));
  EXPECT_FALSE(p.Claim(k, 5));  // brought now, no longer expected
  p.Expire(k, 5);               // claimed: nothing happens
  EXPECT_TRUE(seen.empty());
  p.Resolve(k, true);
  EXPECT_EQ(seen, (std::vector<bool>{true}));

  ASSERT_TRUE(p.Add(k, 5, /*expected=*/true));
  p.Watch(k, [&](bool held) { seen.push_back(held); });
  p.Expire(k, 6);  // another owner's expectation: nothing
  EXPECT_TRUE(p.Contains(k));
  p.Expire(k, 5);
  EXPECT_FALSE(p.Contains(k));
  EXPECT_EQ(seen, (std::vector<bool>{true, false}));
  // A key that is brought (not expected) never expires.
  ASSERT_TRUE(p.Add(k, 5));
  p.Expire(k, 5);
  EXPECT_TRUE(p.Contains(k));
}

TEST(PendingStatesTest, KeysResolvedHeldAreRememberedUntilNewerOnesPushThemOut) {
  PendingStates p;
  const auto key = [](size_t i) { return PendingStates::Key("c", "doc" + std::to_string(i), "d"); };
  ASSERT_TRUE(p.Add(key(0), 1));
  EXPECT_FALSE(p.RecentlyHeld(key(0)));  // pending is not held
  p.Resolve(key(0), true);
  EXPECT_TRUE(p.RecentlyHeld(key(0)));
  ASSERT_TRUE(p.Add(key(1), 1));
  p.Resolve(key(1), false);  // a failed merge holds nothing
  EXPECT_FALSE(p.RecentlyHeld(key(1)));
  ASSERT_TRUE(p.Add(key(2), 1));
  p.DropOwner(1);
  EXPECT_FALSE(p.RecentlyHeld(key(2)));
  // Held again later (another transfer of the same state): still one entry.
  ASSERT_TRUE(p.Add(key(0), 2));
  p.Resolve(key(0), true);
  for (size_t i = 3; i < 3 + PendingStates::kRecentlyHeld - 1; ++i) {
    ASSERT_TRUE(p.Add(key(i), 1));
    p.Resolve(key(i), true);
  }
  EXPECT_TRUE(p.RecentlyHeld(key(0)));  // the oldest of exactly kRecentlyHeld
  ASSERT_TRUE(p.Add(key(100000), 1));
  p.Resolve(key(100000), true);
  EXPECT_FALSE(p.RecentlyHeld(key(0)));  // pushed out
  EXPECT_TRUE(p.RecentlyHeld(key(3)));
  EXPECT_TRUE(p.RecentlyHeld(key(100000)));
}

}  // namespace
}  // namespace peat::mesh

#include "mesh/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace peat::mesh {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, GrowsWithJitterUpToTheMaximumAndResets) {
  Backoff b(milliseconds(1000), milliseconds(60000), 42);
  int64_t base = 1000;
  for (int i = 0; i < 12; ++i) {
    const auto d = b.Next().count();
    EXPECT_GE(d, base / 2) << "attempt " << i;
    EXPECT_LE(d, base) << "attempt " << i;
    base = std::min<int64_t>(base * 2, 60000);
  }
  b.Reset();
  const auto d = b.Next().count();
  EXPECT_GE(d, 500);
  EXPECT_LE(d, 1000);
}

TEST(BackoffTest, JitterSpreadsAFleet) {
  // Nodes seeded differently do not redial in lockstep.
  std::set<int64_t> firsts;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Backoff b(milliseconds(1000), milliseconds(60000), seed);
    b.Next();
    firsts.insert(b.Next().count());
  }
  EXPECT_GT(firsts.size(), 10u);
}

}  // namespace
}  // namespace peat::mesh

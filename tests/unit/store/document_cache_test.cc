#include "store/document_cache.h"

#include <gtest/gtest.h>

namespace peat::store {
namespace {

std::shared_ptr<const CachedDocument> Doc(uint64_t seq, size_t size = 10) {
  auto d = std::make_shared<CachedDocument>();
  d->state = std::string(size, 's');
  d->json = "{}";
  d->live = true;
  d->seq = seq;
  return d;
}

TEST(DocumentCacheTest, EvictsLeastRecentlyUsedBeyondMaxEntries) {
  DocumentCache cache(3, 1 << 20);
  for (uint64_t i = 0; i < 3; ++i) {
    cache.InsertIfUnchanged(cache.generation(), "k" + std::to_string(i), Doc(i));
  }
  ASSERT_NE(cache.Lookup("k0"), nullptr);  // k0 becomes most recent; k1 is now the oldest
  cache.InsertIfUnchanged(cache.generation(), "k3", Doc(3));
  EXPECT_EQ(cache.entries(), 3u);
  EXPECT_EQ(cache.Lookup("k1"), nullptr);
  EXPECT_NE(cache.Lookup("k0"), nullptr);
  EXPECT_NE(cache.Lookup("k3"), nullptr);
}

TEST(DocumentCacheTest, StaysWithinItsByteBudget) {
  const size_t budget = 16 << 10;
  DocumentCache cache(1000, budget);
  for (int i = 0; i < 200; ++i) {
    cache.Publish({{"k" + std::to_string(i), Doc(i, 1000)}});
    EXPECT_LE(cache.bytes(), budget);
  }
  EXPECT_LT(cache.entries(), 20u);
  // Too large for the cache (over an eighth of the budget): not cached, and replaces nothing.
  cache.Publish({{"big", Doc(1, budget / 4)}});
  EXPECT_EQ(cache.Lookup("big"), nullptr);
}

TEST(DocumentCacheTest, ReaderFillIsDroppedIfAWriteWasPublishedMeanwhile) {
  DocumentCache cache(10, 1 << 20);
  const uint64_t g = cache.generation();
  cache.Publish({{"k", Doc(2)}});           // the writer committed seq 2
  cache.InsertIfUnchanged(g, "k", Doc(1));  // a reader that read seq 1 before the commit
  EXPECT_EQ(cache.Lookup("k")->seq, 2u);
  cache.Publish({{"k", nullptr}});  // erased (purged)
  EXPECT_EQ(cache.Lookup("k"), nullptr);
  const uint64_t g2 = cache.generation();
  cache.InsertIfUnchanged(g2, "k", Doc(3));
  EXPECT_EQ(cache.Lookup("k")->seq, 3u);
}

TEST(DocumentCacheTest, KeysDoNotCollide) {
  EXPECT_NE(DocumentCache::Key("ab", "c"), DocumentCache::Key("a", "bc"));
}

}  // namespace
}  // namespace peat::store

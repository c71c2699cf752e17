// FakeDocumentStore::MergePut follows the real store's patch contract where callers can see it:
// other top-level fields stay, absent documents are created, a no-op patch commits nothing, bad
// JSON is INVALID_ARGUMENT.
#include "service/fake_document_store.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace peat::store::testing {
namespace {

nlohmann::json GetJson(FakeDocumentStore& store, const std::string& c, const std::string& d) {
  auto r = store.Get(c, d);
  EXPECT_TRUE(r.ok() && r->has_value());
  return r.ok() && r->has_value() ? nlohmann::json::parse(**r) : nlohmann::json();
}

TEST(FakeDocumentStoreTest, MergePutPatchesTopLevelKeys) {
  FakeDocumentStore store;  // inline: `done` runs before the call returns
  Status last;
  auto done = [&last](Status s) { last = std::move(s); };
  store.Put("nodes", "n1", R"({"name":"Alpha Edge","o":{"x":1}})", done);
  ASSERT_TRUE(last.ok());
  store.MergePut("nodes", "n1", R"({"last_seen":1,"o":{"y":2}})", done);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(GetJson(store, "nodes", "n1"),
            nlohmann::json::parse(R"({"last_seen":1,"name":"Alpha Edge","o":{"y":2}})"));
  const uint64_t seq = store.NotifiedSeq();
  store.MergePut("nodes", "n1", R"({"o":{"y":2}})", done);  // nothing changes
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(store.NotifiedSeq(), seq);
  store.MergePut("nodes", "n2", R"({"a":1})", done);  // absent: created
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(GetJson(store, "nodes", "n2"), nlohmann::json::parse(R"({"a":1})"));
  EXPECT_EQ(store.NotifiedSeq(), seq + 1);
  store.MergePut("nodes", "n1", "[1]", done);
  EXPECT_EQ(last.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace peat::store::testing

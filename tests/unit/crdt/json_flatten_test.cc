// The JSON → leaves flattener behind Document::Put (fast and general paths must agree).
#include "crdt/json_flatten.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "crdt/path.h"

namespace peat::crdt {
namespace {

struct Leaf {
  std::string path;
  RegisterKind kind;
  std::string value;
  bool operator==(const Leaf&) const = default;
};

class Collect : public LeafSink {
 public:
  void Leaf(std::string_view path, RegisterKind kind, std::string_view value) override {
    leaves.push_back({std::string(path), kind, std::string(value)});
  }
  std::vector<crdt::Leaf> leaves;
};

std::string P(std::initializer_list<std::string_view> keys) {
  std::string path;
  for (auto k : keys) AppendPathSegment(&path, k);
  return path;
}

std::vector<Leaf> Visit(std::string_view json, int max_depth = 64) {
  Collect c;
  Status s = VisitJsonObject(json, max_depth, &c);
  EXPECT_TRUE(s.ok()) << s.ToString();
  // The general path (FlattenJsonObject) yields the same leaves.
  FlatJson flat;
  EXPECT_TRUE(FlattenJsonObject(json, max_depth, &flat).ok());
  std::vector<Leaf> general;
  for (size_t i = 0; i < flat.size(); ++i) {
    general.push_back({std::string(flat.path(i)), flat.kind(i), std::string(flat.value(i))});
  }
  EXPECT_EQ(general, c.leaves);
  return c.leaves;
}

TEST(JsonFlattenTest, LeavesInPathOrderWithCanonicalValues) {
  auto leaves = Visit(
      R"({"z":1,"a":{"y":[{"b":1,"a":2}],"x":{},"w":"s\n"},"n":null,"t":true,"f":false,"d":2.50})");
  const std::vector<Leaf> want = {
      {P({"a", "w"}), RegisterKind::kString, "s\n"},
      {P({"a", "x"}), RegisterKind::kObject, ""},
      {P({"a", "y"}), RegisterKind::kArray, R"([{"a":2,"b":1}])"},
      {P({"d"}), RegisterKind::kDouble, "2.5"},
      {P({"f"}), RegisterKind::kFalse, ""},
      {P({"n"}), RegisterKind::kNull, ""},
      {P({"t"}), RegisterKind::kTrue, ""},
      {P({"z"}), RegisterKind::kInt, "1"},
  };
  EXPECT_EQ(leaves, want);
  EXPECT_TRUE(Visit("{}").empty());
}

TEST(JsonFlattenTest, EscapedKeysAndDuplicates) {
  auto leaves = Visit(R"({"k\u0000":1,"k":{"x":1},"k":2,"longer-key-\u0001-here":3})");
  const std::vector<Leaf> want = {
      {P({"k"}), RegisterKind::kInt, "2"},
      {P({std::string_view("k\0", 2)}), RegisterKind::kInt, "1"},
      {P({std::string_view("longer-key-\x01-here", 17)}), RegisterKind::kInt, "3"},
  };
  EXPECT_EQ(leaves, want);
}

TEST(JsonFlattenTest, ManyKeysWithSharedPrefixes) {
  std::string json = "{";
  for (int i = 40; i > 0; --i)
    json += "\"updated_at_" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  json.back() = '}';
  auto leaves = Visit(json);
  ASSERT_EQ(leaves.size(), 40u);
  for (size_t i = 1; i < leaves.size(); ++i) EXPECT_LT(leaves[i - 1].path, leaves[i].path);
}

TEST(JsonFlattenTest, DepthLimitIsExactOnBothPaths) {
  // Non-empty and empty innermost containers exactly at and just past the limit.
  for (std::string_view inner : {"1", "{}", "[]"}) {
    for (int depth : {2, 3}) {
      std::string json;
      for (int i = 0; i < depth; ++i) json += "{\"k\":";
      json += inner;
      for (int i = 0; i < depth; ++i) json += "}";
      const int total = depth + (inner == "1" ? 0 : 1);  // nesting of the innermost container
      Collect c;
      Status s = VisitJsonObject(json, 3, &c);
      EXPECT_EQ(s.ok(), total <= 3) << json << " " << s.ToString();
      if (!s.ok()) {
        EXPECT_EQ(s.message(), "nesting depth exceeds 3");
        EXPECT_TRUE(c.leaves.empty());  // the sink is never called on error
      }
    }
  }
}

TEST(JsonFlattenTest, ErrorsNeverReachTheSink) {
  for (std::string_view bad : {"[1]", "{\"a\":", "{\"a\":1}x", "", "{\"a\":1e999}"}) {
    Collect c;
    EXPECT_FALSE(VisitJsonObject(bad, 64, &c).ok()) << bad;
    EXPECT_TRUE(c.leaves.empty()) << bad;
  }
}

TEST(JsonFlattenTest, FreshThreadWithEmptyContainersFirst) {
  // Per-thread scratch starts empty: the first objects a thread sees may be empty ones.
  std::vector<Leaf> leaves;
  std::thread t([&] { leaves = Visit(R"({"r":{"cd":[{}]},"e":{},"a":[[],{}]})"); });
  t.join();
  const std::vector<Leaf> want = {
      {P({"a"}), RegisterKind::kArray, "[[],{}]"},
      {P({"e"}), RegisterKind::kObject, ""},
      {P({"r", "cd"}), RegisterKind::kArray, "[{}]"},
  };
  EXPECT_EQ(leaves, want);
}

TEST(JsonFlattenTest, CanonicalArray) {
  EXPECT_EQ(*CanonicalJsonArray(R"([ 1, {"b":1,"a":[2.0]}, "x" ])", 64),
            R"([1,{"a":[2.0],"b":1},"x"])");
  EXPECT_FALSE(CanonicalJsonArray("{}", 64).ok());
  EXPECT_FALSE(CanonicalJsonArray("[[1]]", 1).ok());
}

}  // namespace
}  // namespace peat::crdt

// Canonical rendering: what GetDocument returns for a put document (BEHAVIOR.md "Documents").
#include "crdt/canonical_json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "crdt/document.h"

namespace peat::crdt {
namespace {

// Put on a fresh document, then Render.
std::string Canon(std::string_view json) {
  Document doc;
  auto r = doc.Put(json, Timestamp{1 << 16, 1});
  EXPECT_TRUE(r.ok()) << r.status().ToString() << " for " << json;
  if (!r.ok()) return "<error>";
  return doc.Render();
}

TEST(CanonicalJsonTest, SortsKeysBytewise) {
  EXPECT_EQ(Canon(R"({"b":1,"a":2,"B":3,"aa":4,"":5,"a b":6})"),
            R"({"":5,"B":3,"a":2,"a b":6,"aa":4,"b":1})");
  // UTF-8 sorts by bytes: 'z' (7a) < 'é' (c3 a9) < '😀' (f0 9f 98 80).
  EXPECT_EQ(Canon(R"({"😀":3,"é":1,"z":2})"), R"({"z":2,"é":1,"😀":3})");
}

TEST(CanonicalJsonTest, IsCompact) {
  EXPECT_EQ(Canon(" {\n \"a\" : [ 1 ,\t2 ] ,\r\n \"b\" : { } } "), R"({"a":[1,2],"b":{}})");
  EXPECT_EQ(Canon("{}"), "{}");
}

TEST(CanonicalJsonTest, IntegersStayIntegersDoublesStayDoubles) {
  EXPECT_EQ(Canon(R"({"a":1})"), R"({"a":1})");
  EXPECT_EQ(Canon(R"({"a":1.0})"), R"({"a":1.0})");
  EXPECT_EQ(Canon(R"({"a":1.50})"), R"({"a":1.5})");
  EXPECT_EQ(Canon(R"({"a":-0})"), R"({"a":0})");
  EXPECT_EQ(Canon(R"({"a":-0.0})"), R"({"a":-0.0})");
  EXPECT_EQ(Canon(R"({"a":1e300})"), R"({"a":1e+300})");
  EXPECT_EQ(Canon(R"({"a":1E2})"), R"({"a":100.0})");
  EXPECT_EQ(Canon(R"({"a":1.5e-7})"), R"({"a":1.5e-07})");
  EXPECT_EQ(Canon(R"({"a":0.1})"), R"({"a":0.1})");
  EXPECT_EQ(Canon(R"({"a":123456789.125})"), R"({"a":123456789.125})");
  EXPECT_EQ(Canon(R"({"a":1e-400})"), R"({"a":0.0})");  // underflow reads as zero
}

TEST(CanonicalJsonTest, Int64AndUint64Limits) {
  EXPECT_EQ(Canon(R"({"a":18446744073709551615})"), R"({"a":18446744073709551615})");
  EXPECT_EQ(Canon(R"({"a":9223372036854775807})"), R"({"a":9223372036854775807})");
  EXPECT_EQ(Canon(R"({"a":-9223372036854775808})"), R"({"a":-9223372036854775808})");
  // Integers beyond both become doubles (shortest text: here the plain digits, plus ".0").
  EXPECT_EQ(Canon(R"({"a":18446744073709551616})"), R"({"a":18446744073709551616.0})");
  EXPECT_EQ(Canon(R"({"a":-9223372036854775809})"), R"({"a":-9223372036854775808.0})");
  EXPECT_EQ(Canon(R"({"a":123456789012345678901234567890})"), R"({"a":1.2345678901234568e+29})");
  EXPECT_EQ(Canon(R"({"a":[100000000000000000000000,1],"b":"100000000000000000000000"})"),
            R"({"a":[1e+23,1],"b":"100000000000000000000000"})");
}

TEST(CanonicalJsonTest, EscapesMinimally) {
  EXPECT_EQ(Canon(R"({"s":"q\"b\\s\/\b\f\n\r\t"})"), R"({"s":"q\"b\\s/\b\f\n\r\t"})");
  EXPECT_EQ(Canon(R"({"s":"\u0000\u0001\u001f\u0020"})"), R"({"s":"\u0000\u0001\u001f "})");
  // DEL, non-ASCII and U+2028 stay raw UTF-8; \u escapes of them are decoded.
  EXPECT_EQ(Canon("{\"s\":\"\x7f \\u00e9 \xc3\xa9 \\ud83d\\ude00 \\u2028\"}"),
            "{\"s\":\"\x7f \xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80 \xe2\x80\xa8\"}");
  // Keys are escaped the same way, including NUL and 0x01 (which the path encoding escapes).
  EXPECT_EQ(Canon(R"({"a\u0000b":1,"a":2,"a\u0001":3,"\n":4})"),
            R"({"\n":4,"a":2,"a\u0000b":1,"a\u0001":3})");
}

TEST(CanonicalJsonTest, NestedObjectsAndArrays) {
  EXPECT_EQ(Canon(R"({"a":{"c":{"e":1,"d":2},"b":[{"z":1,"y":{"q":1,"p":2}},[3,{"k":null}]]}})"),
            R"({"a":{"b":[{"y":{"p":2,"q":1},"z":1},[3,{"k":null}]],"c":{"d":2,"e":1}}})");
  EXPECT_EQ(Canon(R"({"a":{},"b":{"c":{}},"d":[],"e":[{}],"f":[[]]})"),
            R"({"a":{},"b":{"c":{}},"d":[],"e":[{}],"f":[[]]})");
  EXPECT_EQ(Canon(R"({"t":true,"f":false,"n":null,"arr":[true,false,null,"x",1.0,-2]})"),
            R"({"arr":[true,false,null,"x",1.0,-2],"f":false,"n":null,"t":true})");
}

TEST(CanonicalJsonTest, FieldsNamedValueAreOrdinary) {
  EXPECT_EQ(Canon(R"({"value":{"value":1,"other":"value"},"x":{"value":null}})"),
            R"({"value":{"other":"value","value":1},"x":{"value":null}})");
  EXPECT_EQ(Canon(R"({"value":"v"})"), R"({"value":"v"})");
}

TEST(CanonicalJsonTest, DuplicateKeysLastOneWins) {
  EXPECT_EQ(Canon(R"({"a":1,"a":{"b":2}})"), R"({"a":{"b":2}})");
  EXPECT_EQ(Canon(R"({"a":{"b":2},"a":1})"), R"({"a":1})");
  EXPECT_EQ(Canon(R"({"x":[{"k":1,"k":2}]})"), R"({"x":[{"k":2}]})");
}

TEST(CanonicalJsonTest, ManyKeysSortedLikeFewKeys) {
  std::string in = "{";
  std::string expect = "{";
  for (int i = 99; i >= 0; --i) in += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  in.back() = '}';
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back("k" + std::to_string(i));
  std::sort(keys.begin(), keys.end());
  for (const auto& k : keys) expect += "\"" + k + "\":" + k.substr(1) + ",";
  expect.back() = '}';
  EXPECT_EQ(Canon(in), expect);
}

TEST(CanonicalJsonTest, RenderingIsIdempotent) {
  for (std::string_view json :
       {R"({"b":[1,{"y":2,"x":1}],"a":{"z":"\u0001","é":-0.0}})", R"({"value":1.0,"":{}})"}) {
    const std::string once = Canon(json);
    EXPECT_EQ(Canon(once), once);
  }
}

TEST(CanonicalJsonTest, NumberHelpers) {
  std::string s;
  AppendDouble(&s, 1.0);
  EXPECT_EQ(s, "1.0");
  s.clear();
  AppendDouble(&s, 5e-324);
  EXPECT_EQ(s, "5e-324");
  s.clear();
  AppendDouble(&s, std::numeric_limits<double>::max());
  EXPECT_EQ(s, "1.7976931348623157e+308");
  EXPECT_EQ(ParseCanonicalInt64("-5"), -5);
  EXPECT_FALSE(ParseCanonicalInt64("007").has_value());
  EXPECT_FALSE(ParseCanonicalInt64("-0").has_value());
  EXPECT_FALSE(ParseCanonicalInt64("18446744073709551615").has_value());
  EXPECT_EQ(ParseCanonicalUint64("18446744073709551615"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(ParseCanonicalDouble("1.0"), 1.0);
  EXPECT_FALSE(ParseCanonicalDouble("1").has_value());
  EXPECT_FALSE(ParseCanonicalDouble("1.50").has_value());
  EXPECT_EQ(ParseCanonicalDouble("1e+300"), 1e300);
}

}  // namespace
}  // namespace peat::crdt

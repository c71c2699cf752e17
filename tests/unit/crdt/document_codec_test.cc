// Binary encoding: round trips, compactness, and robustness against arbitrary bytes.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "crdt/document.h"

namespace peat::crdt {
namespace {

Timestamp T(uint64_t ms, uint64_t tag = 0x9e3779b97f4a7c15) { return Timestamp{ms << 16, tag}; }
constexpr uint64_t kNow = 1'795'000'000'000;  // a 2026 wall clock in ms

Document FromJson(std::string_view json, Timestamp ts = T(kNow)) {
  Document doc;
  auto r = doc.Put(json, ts);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return doc;
}

void ExpectRoundTrip(const Document& doc) {
  const std::string bytes = doc.Encode();
  auto back = Document::Decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, doc);
  EXPECT_EQ(back->Encode(), bytes);
  EXPECT_EQ(back->Render(), doc.Render());
}

// Typical ~300-byte documents: sensor readings, tracks, agent status.
const std::vector<std::string>& RealisticDocs() {
  static const std::vector<std::string> docs = {
      R"({"id":"sensor-0042","type":"temperature","location":{"lat":37.774929,"lon":-122.419416,"site":"warehouse-7","floor":2},"reading":{"value":21.5,"unit":"celsius","quality":"good"},"battery":87,"online":true,"tags":["roof","north"],"updated_at":"2026-11-28T21:30:00Z","firmware":"v2.4.1","seq":1042})",
      R"({"callsign":"RAVEN-21","platform":"uav","status":"on-station","position":{"lat":34.0522,"lon":-118.2437,"alt_m":1520,"heading":270,"speed_kts":85},"fuel_pct":64,"payload":{"eo":"active","ir":"standby"},"mission_id":"M-2026-1128-07","last_contact":"2026-11-28T21:29:58Z","priority":2})",
      R"({"name":"alpha-agent:nginx","kind":"deployment","namespace":"edge","replicas":{"desired":3,"ready":3,"available":3},"image":"registry.local/nginx:1.25.3","labels":{"app":"nginx","tier":"frontend","team":"ops"},"restarts":0,"healthy":true,"cpu_millis":120,"memory_mb":48})",
      R"({"order":"PO-77120","customer":{"name":"Harbor Supply Co.","account":"C-1093","contact":"ops@harbor.example"},"items":[{"sku":"A-1","qty":4},{"sku":"B-22","qty":1}],"total":1299.95,"currency":"USD","status":"packed","notes":"deliver to dock 3","created":"2026-11-27T08:00:00Z"})",
  };
  return docs;
}

TEST(DocumentCodecTest, RoundTripsTypicalStates) {
  ExpectRoundTrip(Document());
  for (const auto& json : RealisticDocs()) ExpectRoundTrip(FromJson(json));
  ExpectRoundTrip(FromJson(R"({"":{"":{}},"a\u0000b":"\u0000","é":[1,{"b":2,"a":1}],"n":null})"));
  ExpectRoundTrip(FromJson(
      R"({"i":[-9223372036854775808,9223372036854775807,18446744073709551615,0,-1],"i2":-9223372036854775808,"u":18446744073709551615,"z":0,"m":-1})"));
  ExpectRoundTrip(FromJson(
      R"({"d":[1.0,-0.0,0.1,1e300,5e-324],"a":1.0,"b":-0.0,"c":0.1,"e":1e300,"f":5e-324,"g":21.5,"h":1.7976931348623157e308,"k":3.4028234663852886e38})"));
}

TEST(DocumentCodecTest, RoundTripsHistoryTombstonesDeletesAndManyWriters) {
  Document doc = FromJson(R"({"a":1,"b":{"c":2,"d":[3]},"e":"x"})", T(kNow, 1));
  for (int i = 1; i <= 40; ++i) {  // > 15 distinct timestamps exercises the escaped index
    const std::string json = "{\"a\":" + std::to_string(i) + ",\"k" + std::to_string(i % 7) +
                             "\":" + std::to_string(i) + "}";
    ASSERT_TRUE(doc.Put(json, T(kNow + i * 1000, 1 + i % 5)).ok());
  }
  ExpectRoundTrip(doc);
  Document deleted = doc;
  deleted.Delete(T(kNow + 100'000, 3));
  ExpectRoundTrip(deleted);
  // Format 2: the registers are kept under the delete, plus one entry per writer (5 here).
  EXPECT_EQ(deleted.Encode()[0], '\x02');
  EXPECT_EQ(deleted.deletes().seen().size(), 5u);
  EXPECT_LE(deleted.Encode().size(), doc.Encode().size() + 5 * 3 + 2);
  Document revived = deleted;
  ASSERT_TRUE(revived.Put(R"({"back":true})", T(kNow + 200'000, 4)).ok());
  ExpectRoundTrip(revived);
  // Concurrent update after a delete: the whole document comes back.
  Document concurrent = deleted;
  Document writer = doc;
  ASSERT_TRUE(writer.Put(R"({"a":99})", T(kNow + 150'000, 9)).ok());
  concurrent.Merge(writer);
  ASSERT_TRUE(concurrent.IsLive());
  ExpectRoundTrip(concurrent);
}

TEST(DocumentCodecTest, EqualStatesEncodeIdentically) {
  Document a = FromJson(RealisticDocs()[0], T(kNow, 1));
  Document b = FromJson(RealisticDocs()[1], T(kNow, 2));
  Document ab = a, ba = b;
  ab.Merge(b);
  ba.Merge(a);
  EXPECT_EQ(ab.Encode(), ba.Encode());
}

TEST(DocumentCodecTest, EncodedSizeIsAtMostTwelveTenthsOfTheJson) {
  size_t json_total = 0, encoded_total = 0;
  for (const auto& json : RealisticDocs()) {
    Document doc = FromJson(json);
    const std::string canonical = doc.Render();
    const size_t encoded = doc.Encode().size();
    json_total += canonical.size();
    encoded_total += encoded;
    EXPECT_LE(static_cast<double>(encoded), 1.2 * static_cast<double>(canonical.size()))
        << canonical;
    // After some single-field updates by two writers the state stays compact.
    for (int i = 1; i <= 5; ++i) {
      std::string updated = doc.Render();
      updated.insert(1, "\"counter\":" + std::to_string(i * 7) + ",");
      ASSERT_TRUE(doc.Put(updated, T(kNow + static_cast<uint64_t>(i) * 5000, 1 + i % 2)).ok());
    }
    EXPECT_LE(static_cast<double>(doc.Encode().size()),
              1.2 * static_cast<double>(doc.Render().size()))
        << doc.Render();
  }
  RecordProperty("encoded_to_json_ratio",
                 std::to_string(double(encoded_total) / double(json_total)));
}

// --- Robustness --------------------------------------------------------------------------------

void ExpectRejectedOrConsistent(std::string_view bytes) {
  auto doc = Document::Decode(bytes);
  if (!doc.ok()) {
    const StatusCode code = doc.status().code();
    EXPECT_TRUE(code == StatusCode::kDataLoss || code == StatusCode::kInvalidArgument)
        << doc.status().ToString();
    return;
  }
  // Whatever decodes is a valid state: it renders, re-encodes and decodes to itself.
  (void)doc->Render();
  auto again = Document::Decode(doc->Encode());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *doc);
}

TEST(DocumentCodecTest, EveryTruncationIsRejected) {
  Document doc = FromJson(RealisticDocs()[3], T(kNow, 1));
  ASSERT_TRUE(doc.Put(R"({"a":1})", T(kNow + 5, 2)).ok());
  const std::string bytes = doc.Encode();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = Document::Decode(std::string_view(bytes).substr(0, n));
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
  }
  EXPECT_FALSE(Document::Decode(bytes + "x").ok());
}

TEST(DocumentCodecTest, CorruptionIsRejectedOrYieldsAValidState) {
  std::mt19937_64 rng(20261128);
  for (const auto& json : RealisticDocs()) {
    const std::string bytes = FromJson(json).Encode();
    for (int i = 0; i < 2000; ++i) {
      std::string mutated = bytes;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) {
        mutated[rng() % mutated.size()] ^= static_cast<char>(1 + rng() % 255);
      }
      ExpectRejectedOrConsistent(mutated);
    }
  }
}

TEST(DocumentCodecTest, GarbageIsRejected) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::string garbage(rng() % 64, '\0');
    for (char& c : garbage) c = static_cast<char>(rng());
    if (!garbage.empty() && i % 2 == 0) garbage[0] = 1;  // get past the version check
    ExpectRejectedOrConsistent(garbage);
  }
  EXPECT_EQ(Document::Decode("").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Document::Decode("\x03").status().code(), StatusCode::kInvalidArgument);
  // Counts far larger than the input are refused before allocating.
  EXPECT_EQ(Document::Decode(std::string("\x01\xff\xff\xff\xff\x0f", 6)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(
      Document::Decode(std::string("\x01\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 14))
          .status()
          .code(),
      StatusCode::kDataLoss);
  // Varint longer than 64 bits.
  EXPECT_FALSE(
      Document::Decode(std::string("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11)).ok());
}

TEST(DocumentCodecTest, RejectsStatesNestedDeeperThanPutAllows) {
  auto nested = [](int depth, std::string_view inner) {
    std::string s;
    for (int i = 0; i < depth; ++i) s += "{\"k\":";
    s += inner;
    for (int i = 0; i < depth; ++i) s += "}";
    return s;
  };
  for (std::string_view inner : {"1", "{}", "[1]"}) {
    const int depth = inner == "1" ? 64 : 63;  // rendered depth 64 either way
    Document doc = FromJson(nested(depth, inner));
    const std::string bytes = doc.Encode();
    ASSERT_TRUE(Document::Decode(bytes).ok()) << inner;
    EXPECT_EQ(Document::Decode(bytes, 63).status().code(), StatusCode::kDataLoss) << inner;
  }
}

// Stores and peers of the previous version hold format 1: never-deleted states are still written
// in it, byte for byte, and a format-1 delete register keeps its rule (every register not newer
// than it is dead) as the delete context's floor.
TEST(DocumentCodecTest, ReadsAndWritesFormatOne) {
  const Document live = FromJson(RealisticDocs()[0], T(kNow, 1));
  EXPECT_EQ(live.Encode()[0], '\x01');
  // version 1, 1 tag (1), 1 stamp (hlc 20 << 16), delete register = that stamp, no root, none.
  const std::string v1_deleted(
      "\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x01\x80\x80\x50\x01\x00\x00", 17);
  auto deleted = Document::Decode(v1_deleted);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->delete_ts(), T(20, 1));
  EXPECT_EQ(deleted->deletes().floor(), T(20, 1));
  EXPECT_FALSE(deleted->IsLive());
  EXPECT_EQ(deleted->Encode(), v1_deleted);
  // An older state of any writer stays dead under it (as the previous version decided) ...
  Document older;
  ASSERT_TRUE(older.Put(R"({"a":1,"b":2})", T(15, 2)).ok());
  Document merged = *deleted;
  merged.Merge(older);
  EXPECT_FALSE(merged.IsLive());
  EXPECT_EQ(merged.Encode()[0], '\x02');  // it keeps registers the floor covers: format 2
  ExpectRoundTrip(merged);
  // ... and a newer write brings back the document with every field it holds.
  Document newer = older;
  ASSERT_TRUE(newer.MergePut(R"({"b":3})", T(25, 2)).ok());
  merged.Merge(newer);
  EXPECT_EQ(merged.Render(), R"({"a":1,"b":3})");
  ExpectRoundTrip(merged);
  // Format 2 is only written for what format 1 cannot hold.
  std::string not_canonical = v1_deleted;
  not_canonical[0] = '\x02';
  not_canonical.insert(15, 1, '\x00');  // an empty context
  EXPECT_EQ(Document::Decode(not_canonical).status().code(), StatusCode::kDataLoss);
}

TEST(DocumentCodecTest, RejectsStatesThatBreakInvariants) {
  // version, 1 tag, 1 stamp (hlc 10), no delete, root, 1 register "a" string "x" with a bad byte.
  std::string good(
      "\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x01\x0a\x00\x01\x01\x00\x01"
      "a\x06\x01x",
      21);
  ASSERT_TRUE(Document::Decode(good).ok()) << Document::Decode(good).status().ToString();
  std::string bad_utf8 = good;
  bad_utf8.back() = '\xff';
  EXPECT_EQ(Document::Decode(bad_utf8).status().code(), StatusCode::kDataLoss);
  std::string bad_array = good;
  bad_array[18] = 0x07;  // value code: array, text "x"
  EXPECT_EQ(Document::Decode(bad_array).status().code(), StatusCode::kDataLoss);
  std::string bad_path = good;
  bad_path[17] = '\x01';  // path "\x01" + terminator: a dangling escape
  EXPECT_EQ(Document::Decode(bad_path).status().code(), StatusCode::kDataLoss);
  std::string bad_key = good;
  bad_key[17] = '\xff';  // the key "a" becomes invalid UTF-8
  EXPECT_EQ(Document::Decode(bad_key).status().code(), StatusCode::kDataLoss);
  std::string dead = good;
  dead[12] = 0x01;  // delete register = the only timestamp: every register is dead
  EXPECT_EQ(Document::Decode(dead).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace peat::crdt

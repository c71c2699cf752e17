#include "attach/distribution_doc.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace peat::attach {
namespace {

const std::string kSenderEndpoint = "a1b2c3d4e5" + std::string(54, 'f');
const std::string kTargetEndpoint = "0123456789" + std::string(54, 'e');
const std::string kRoot(64, 'a');
const std::string kSha(64, 'b');
constexpr const char* kDistributionId = "0f8e2c1a-3b4d-4e5f-8a9b-0c1d2e3f4a5b";

DistributionDoc SampleDoc() {
  DistributionDoc d;
  d.distribution_id = kDistributionId;
  d.bundle_id = "bundle-1";
  d.file_index = 2;
  d.sender_endpoint_id = kSenderEndpoint;
  d.sender_short_id = "a1b2c3d4e5";
  d.sender_node_id = "alpha";
  d.blob_root = kRoot;
  d.blob_sha256 = kSha;
  d.blob_size = 2097152;
  d.name = "sub/payload.bin";
  d.all_nodes = false;
  d.declared_node_ids = {"bravo"};
  d.targets = {"0123456789"};
  d.started_at_ms = 1700000000000;
  d.deadline_at_ms = 1700086400000;
  return d;
}

TargetStatusDoc SampleStatus() {
  TargetStatusDoc t;
  t.distribution_id = kDistributionId;
  t.node_id = "0123456789";
  t.endpoint_id = kTargetEndpoint;
  t.status = TransferState::kInProgress;
  t.progress_bytes = 1048576;
  t.total_bytes = 2097152;
  t.sources = {"a1b2c3d4e5"};
  t.started_at_ms = 1700000000100;
  t.updated_at_ms = 1700000000200;
  return t;
}

// Where the value of `"key":` starts and ends in compact JSON (the keys used are unique in the
// sample documents).
std::pair<size_t, size_t> ValueSpan(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  const size_t at = json.find(needle);
  EXPECT_NE(at, std::string::npos) << key;
  EXPECT_EQ(json.find(needle, at + 1), std::string::npos) << key << " is not unique";
  const size_t start = at + needle.size();
  size_t i = start;
  int depth = 0;
  bool in_string = false;
  for (; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        if (depth == 0) return {start, i + 1};
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) break;
      if (--depth == 0) return {start, i + 1};
    } else if (c == ',' && depth == 0) {
      break;
    }
  }
  return {start, i};
}

std::string WithValue(std::string json, const std::string& key, const std::string& value) {
  const auto [start, end] = ValueSpan(json, key);
  return json.replace(start, end - start, value);
}

std::string WithoutKey(std::string json, const std::string& key) {
  size_t begin = json.find("\"" + key + "\":");
  size_t end = ValueSpan(json, key).second;
  if (json[end] == ',') {
    ++end;
  } else if (json[begin - 1] == ',') {
    --begin;
  }
  return json.erase(begin, end - begin);
}

// INVALID_ARGUMENT whose message names `field` (in backquotes).
void ExpectRefused(const Status& s, const std::string& field, const std::string& input) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << input;
  EXPECT_NE(s.message().find("`" + field + "`"), std::string::npos)
      << s.message() << " should name " << field << "\n"
      << input;
}

void ExpectDocRefused(const std::string& json, const std::string& field) {
  ExpectRefused(ParseDistributionDoc(json).status(), field, json);
}
void ExpectStatusRefused(const std::string& json, const std::string& field) {
  ExpectRefused(ParseTargetStatusDoc(json).status(), field, json);
}

template <typename Doc>
void ExpectRoundTrips(const std::vector<Doc>& docs, std::string (*encode)(const Doc&),
                      StatusOr<Doc> (*parse)(std::string_view)) {
  for (const Doc& d : docs) {
    const std::string json = encode(d);
    auto parsed = parse(json);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << json;
    EXPECT_EQ(*parsed, d) << json;
  }
}

// --- helpers

TEST(DistributionDocTest, Helpers) {
  EXPECT_EQ(ShortId(kSenderEndpoint), "a1b2c3d4e5");
  EXPECT_TRUE(IsShortId("a1b2c3d4e5"));
  EXPECT_FALSE(IsShortId("a1b2c3d4e"));
  EXPECT_FALSE(IsShortId("a1b2c3d4e5f"));
  EXPECT_FALSE(IsShortId("A1B2C3D4E5"));
  EXPECT_FALSE(IsShortId("a1b2c3d4eg"));
  EXPECT_FALSE(IsShortId(""));

  EXPECT_TRUE(IsDistributionId(kDistributionId));
  EXPECT_TRUE(IsDistributionId("A_b-9"));
  EXPECT_TRUE(IsDistributionId(std::string(kMaxDistributionIdBytes, 'x')));
  EXPECT_FALSE(IsDistributionId(std::string(kMaxDistributionIdBytes + 1, 'x')));
  for (const char* bad : {"", "a/b", "..", "a.b", "a b", "a:b", "é"}) {
    EXPECT_FALSE(IsDistributionId(bad)) << bad;
  }

  EXPECT_EQ(StatusDocId("d-1", "a1b2c3d4e5"), "d-1:a1b2c3d4e5");
  EXPECT_TRUE(IsReservedAttachmentCollection("file_distributions"));
  EXPECT_TRUE(IsReservedAttachmentCollection("file_distribution_status"));
  EXPECT_FALSE(IsReservedAttachmentCollection("file_distribution"));
  EXPECT_FALSE(IsReservedAttachmentCollection("tracks"));
}

TEST(DistributionDocTest, PriorityNames) {
  const std::vector<std::string_view> names = {"bulk", "low", "routine", "priority", "critical"};
  for (int c = 1; c <= 5; ++c) {
    EXPECT_EQ(PriorityName(c), names[c - 1]);
    EXPECT_EQ(ParsePriorityName(names[c - 1]), c);
  }
  for (int c : {-1, 0, 6, 99}) EXPECT_EQ(PriorityName(c), std::nullopt) << c;
  for (const char* n : {"", "Routine", "normal", "high", "ROUTINE"}) {
    EXPECT_EQ(ParsePriorityName(n), std::nullopt) << n;
  }
}

// --- distribution document

TEST(DistributionDocTest, EncodesTheSpecShape) {
  EXPECT_EQ(EncodeDistributionDoc(SampleDoc()),
            R"({"blob":{"chunk_bytes":262144,"root":")" + kRoot + R"(","sha256":")" + kSha +
                R"(","size":2097152},"bundle_id":"bundle-1","cancelled_at_ms":null,)"
                R"("content_type":null,"deadline_at_ms":1700086400000,"declared_node_ids":)"
                R"(["bravo"],"distribution_id":"0f8e2c1a-3b4d-4e5f-8a9b-0c1d2e3f4a5b",)"
                R"("file_index":2,"name":"sub/payload.bin","priority":"routine",)"
                R"("scope":"node_list","sender":{"endpoint_id":")" +
                kSenderEndpoint +
                R"(","node_id":"alpha","short_id":"a1b2c3d4e5"},)"
                R"("started_at_ms":1700000000000,"status":"distributing",)"
                R"("targets":["0123456789"],"v":1})");
}

TEST(DistributionDocTest, RoundTrips) {
  std::vector<DistributionDoc> docs;
  docs.push_back(SampleDoc());
  DistributionDoc all = SampleDoc();
  all.all_nodes = true;
  all.declared_node_ids.clear();
  all.targets.clear();
  all.deadline_at_ms.reset();
  all.blob_size = 0;
  all.file_index = 0;
  docs.push_back(all);
  DistributionDoc cancelled = SampleDoc();
  cancelled.status = DistributionDocStatus::kCancelled;
  cancelled.cancelled_at_ms = 1700000005000;
  cancelled.content_type = "application/octet-stream";
  cancelled.name = "naïve \"quoted\" \\ name\twith tab";
  cancelled.targets = {"0123456789", "charlie node", "a1b2c3d4e6"};
  cancelled.declared_node_ids = {"0123456789", kTargetEndpoint, "charlie node"};
  docs.push_back(cancelled);
  DistributionDoc finished = SampleDoc();
  finished.status = DistributionDocStatus::kFinished;
  finished.blob_size = kMaxDocInteger;
  finished.started_at_ms = static_cast<int64_t>(kMaxDocInteger);
  finished.file_index = UINT32_MAX;
  finished.chunk_bytes = 4096;
  docs.push_back(finished);
  for (int c = 1; c <= 5; ++c) {
    DistributionDoc d = SampleDoc();
    d.priority_class = c;
    docs.push_back(d);
  }
  ExpectRoundTrips(docs, &EncodeDistributionDoc, &ParseDistributionDoc);
}

TEST(DistributionDocTest, InvalidUtf8InANameIsReplacedNotThrown) {
  DistributionDoc d = SampleDoc();
  d.name = "bad\xff.bin";
  const std::string json = EncodeDistributionDoc(d);
  EXPECT_NE(json.find("bad\xEF\xBF\xBD.bin"), std::string::npos);
  ASSERT_TRUE(ParseDistributionDoc(json).ok());
}

TEST(DistributionDocTest, EveryFieldMissingIsRefused) {
  const std::string json = EncodeDistributionDoc(SampleDoc());
  for (const char* key :
       {"v", "distribution_id", "bundle_id", "file_index", "sender", "blob", "name", "content_type",
        "scope", "declared_node_ids", "targets", "priority", "started_at_ms", "deadline_at_ms",
        "status", "cancelled_at_ms"}) {
    ExpectDocRefused(WithoutKey(json, key), key);
  }
  for (const char* key : {"endpoint_id", "short_id", "node_id"}) {
    ExpectDocRefused(WithoutKey(json, key), std::string("sender.") + key);
  }
  for (const char* key : {"root", "sha256", "size", "chunk_bytes"}) {
    ExpectDocRefused(WithoutKey(json, key), std::string("blob.") + key);
  }
}

struct Mutation {
  std::string key;
  std::string value;
  std::string field;  // named in the error
};

TEST(DistributionDocTest, EveryFieldMistypedIsRefused) {
  const std::string json = EncodeDistributionDoc(SampleDoc());
  const std::vector<Mutation> rows = {
      {"v", "\"1\"", "v"},
      {"distribution_id", "7", "distribution_id"},
      {"bundle_id", "null", "bundle_id"},
      {"file_index", "\"2\"", "file_index"},
      {"file_index", "true", "file_index"},
      {"sender", "\"alpha\"", "sender"},
      {"sender", "[]", "sender"},
      {"endpoint_id", "1", "sender.endpoint_id"},
      {"short_id", "null", "sender.short_id"},
      {"node_id", "{}", "sender.node_id"},
      {"blob", "null", "blob"},
      {"root", "[]", "blob.root"},
      {"sha256", "false", "blob.sha256"},
      {"size", "\"2097152\"", "blob.size"},
      {"chunk_bytes", "null", "blob.chunk_bytes"},
      {"name", "[\"a\"]", "name"},
      {"content_type", "3", "content_type"},
      {"scope", "{\"Nodes\":{}}", "scope"},
      {"declared_node_ids", "\"bravo\"", "declared_node_ids"},
      {"declared_node_ids", "[1]", "declared_node_ids[0]"},
      {"targets", "{}", "targets"},
      {"targets", "[\"0123456789\",null]", "targets[1]"},
      {"priority", "3", "priority"},
      {"started_at_ms", "\"2026-05-17T10:00:00Z\"", "started_at_ms"},
      {"deadline_at_ms", "true", "deadline_at_ms"},
      {"status", "null", "status"},
      {"cancelled_at_ms", "\"now\"", "cancelled_at_ms"},
  };
  for (const Mutation& m : rows) ExpectDocRefused(WithValue(json, m.key, m.value), m.field);
}

TEST(DistributionDocTest, NumbersOutOfRangeAreRefused) {
  const std::string json = EncodeDistributionDoc(SampleDoc());
  const std::vector<Mutation> rows = {
      {"size", "-1", "blob.size"},
      {"size", "9007199254740992", "blob.size"},  // 2^53
      {"size", "18446744073709551615", "blob.size"},
      {"size", "18446744073709551616", "blob.size"},
      {"size", "1e30", "blob.size"},
      {"size", "2097152.5", "blob.size"},
      {"size", "2097152.0", "blob.size"},
      {"file_index", "-1", "file_index"},
      {"file_index", "4294967296", "file_index"},
      {"started_at_ms", "-1700000000000", "started_at_ms"},
      {"started_at_ms", "99999999999999999999999999999", "started_at_ms"},
      {"deadline_at_ms", "-1", "deadline_at_ms"},
      {"cancelled_at_ms", "1.5", "cancelled_at_ms"},
      {"chunk_bytes", "0", "blob.chunk_bytes"},
      {"chunk_bytes", "2048", "blob.chunk_bytes"},      // below the blob store's minimum
      {"chunk_bytes", "262145", "blob.chunk_bytes"},    // not a power of two
      {"chunk_bytes", "33554432", "blob.chunk_bytes"},  // above the maximum
      {"chunk_bytes", "4294967296", "blob.chunk_bytes"},
  };
  for (const Mutation& m : rows) ExpectDocRefused(WithValue(json, m.key, m.value), m.field);
  EXPECT_TRUE(ParseDistributionDoc(WithValue(json, "size", "9007199254740991")).ok());
}

TEST(DistributionDocTest, NamesAreTheReceiversToSanitize) {
  // §13: the receiver maps a bad name to <distribution_id>.bin; the document still parses.
  const std::string json = EncodeDistributionDoc(SampleDoc());
  EXPECT_TRUE(ParseDistributionDoc(WithValue(json, "name", "\"\"")).ok());
  EXPECT_TRUE(ParseDistributionDoc(WithValue(json, "name", "\"../a\\u0000b\"")).ok());
  EXPECT_TRUE(ParseDistributionDoc(WithValue(json, "name", "\"/etc/passwd\"")).ok());
}

TEST(DistributionDocTest, BadIdsAreRefused) {
  const std::string json = EncodeDistributionDoc(SampleDoc());
  const std::string upper(64, 'A');
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"root", "\"" + std::string(64, 'g') + "\""},
      {"root", "\"" + upper + "\""},
      {"root", "\"" + std::string(63, 'a') + "\""},
      {"root", "\"" + std::string(65, 'a') + "\""},
      {"sha256", "\"\""},
      {"sha256", "\"" + std::string(62, 'a') + "zz\""},
      {"endpoint_id", "\"" + std::string(64, 'F') + "\""},
      {"endpoint_id", "\"a1b2c3d4e5\""},
      {"short_id", "\"a1b2c3d4e\""},
      {"short_id", "\"A1B2C3D4E5\""},
      {"short_id", "\"0123456789\""},  // not the prefix of the endpoint id
      {"node_id", "\"\""},
      {"node_id", "\"al\\u0000pha\""},
      {"node_id", "\"" + std::string(kMaxDocIdBytes + 1, 'n') + "\""},
      {"distribution_id", "\"../../etc/passwd\""},
      {"distribution_id", "\"\""},
      {"distribution_id", "\"" + std::string(kMaxDistributionIdBytes + 1, 'd') + "\""},
      {"bundle_id", "\"\""},
      {"bundle_id", "\"b\\n1\""},
      {"bundle_id", "\"" + std::string(kMaxDocIdBytes + 1, 'b') + "\""},
      {"name", "\"" + std::string(kMaxDocNameBytes + 1, 'n') + "\""},
      {"content_type", "\"" + std::string(kMaxDocTextBytes + 1, 'c') + "\""},
  };
  for (const auto& [key, value] : rows) {
    const std::string field = key == "root" || key == "sha256" ? "blob." + key
                              : key == "endpoint_id" || key == "short_id" || key == "node_id"
                                  ? "sender." + key
                                  : key;
    ExpectDocRefused(WithValue(json, key, value), field);
  }
}

TEST(DistributionDocTest, EnumsAndScopeAreStrict) {
  const std::string json = EncodeDistributionDoc(SampleDoc());
  ExpectDocRefused(WithValue(json, "status", "\"partial\""), "status");
  ExpectDocRefused(WithValue(json, "status", "\"Distributing\""), "status");
  ExpectDocRefused(WithValue(json, "scope", "\"AllNodes\""), "scope");
  ExpectDocRefused(WithValue(json, "priority", "\"Normal\""), "priority");
  ExpectDocRefused(WithValue(json, "priority", "\"\""), "priority");
  // node_list needs declared ids; all_nodes has none.
  ExpectDocRefused(WithValue(json, "declared_node_ids", "[]"), "declared_node_ids");
  ExpectDocRefused(WithValue(json, "scope", "\"all_nodes\""), "declared_node_ids");
  ExpectDocRefused(WithValue(json, "declared_node_ids", "[\"\"]"), "declared_node_ids[0]");
  ExpectDocRefused(WithValue(json, "targets", "[\"ok\",\"tab\\there\"]"), "targets[1]");
  std::string many = "[";
  for (size_t i = 0; i <= kMaxDocListEntries; ++i)
    many += (i ? ",\"n" : "\"n") + std::to_string(i) + "\"";
  many += "]";
  ExpectDocRefused(WithValue(json, "targets", many), "targets");
}

TEST(DistributionDocTest, VersionMustBeOne) {
  const std::string json = EncodeDistributionDoc(SampleDoc());
  for (const char* v : {"2", "0", "-1", "1.0", "\"1\"", "null", "18446744073709551616"}) {
    ExpectDocRefused(WithValue(json, "v", v), "v");
  }
}

TEST(DistributionDocTest, ExtraFieldsAreIgnored) {
  const DistributionDoc d = SampleDoc();
  std::string json = EncodeDistributionDoc(d);
  json.insert(1, R"("future":{"x":[1,2,{"y":null}]},"zz":-5.5,)");
  json = WithValue(json, "blob",
                   R"({"chunk_bytes":262144,"root":")" + kRoot + R"(","sha256":")" + kSha +
                       R"(","size":2097152,"encrypted":true})");
  auto parsed = ParseDistributionDoc(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, d);
}

TEST(DistributionDocTest, NotAnObjectIsRefused) {
  for (const std::string& text :
       {std::string(), std::string("{"), std::string("[]"), std::string("null"),
        std::string("\"doc\""), std::string("{\"v\":1"), std::string("{\"v\":1}x"),
        std::string("{\"name\":\"\xff\"}"), std::string(100000, '[')}) {
    auto d = ParseDistributionDoc(text);
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << text.substr(0, 40);
    auto t = ParseTargetStatusDoc(text);
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << text.substr(0, 40);
  }
  ExpectDocRefused("{}", "v");
}

// --- target status document

TEST(TargetStatusDocTest, EncodesTheSpecShape) {
  EXPECT_EQ(EncodeTargetStatusDoc(SampleStatus()),
            R"({"completed_at_ms":null,"distribution_id":"0f8e2c1a-3b4d-4e5f-8a9b-0c1d2e3f4a5b",)"
            R"("endpoint_id":")" +
                kTargetEndpoint +
                R"(","error":null,"node_id":"0123456789","progress_bytes":1048576,)"
                R"("sources":["a1b2c3d4e5"],"started_at_ms":1700000000100,)"
                R"("status":"in_progress","total_bytes":2097152,"updated_at_ms":1700000000200,)"
                R"("v":1})");
}

TEST(TargetStatusDocTest, RoundTrips) {
  std::vector<TargetStatusDoc> docs;
  for (auto s : {TransferState::kPending, TransferState::kInProgress, TransferState::kCompleted,
                 TransferState::kFailed, TransferState::kCancelled}) {
    TargetStatusDoc t = SampleStatus();
    t.status = s;
    docs.push_back(t);
  }
  TargetStatusDoc failed = SampleStatus();  // written by the sender for a target it never met
  failed.endpoint_id.clear();
  failed.status = TransferState::kFailed;
  failed.progress_bytes = 0;
  failed.sources.clear();
  failed.error = "discovery grace expired: peer never connected";
  failed.completed_at_ms = 1700000030000;
  docs.push_back(failed);
  TargetStatusDoc unresolved = failed;  // a --node-id name no known peer had
  unresolved.node_id = "charlie node";
  docs.push_back(unresolved);
  TargetStatusDoc done = SampleStatus();
  done.status = TransferState::kCompleted;
  done.progress_bytes = done.total_bytes = kMaxDocInteger;
  done.sources = {"a1b2c3d4e5", "0123456789"};
  docs.push_back(done);
  ExpectRoundTrips(docs, &EncodeTargetStatusDoc, &ParseTargetStatusDoc);
}

TEST(TargetStatusDocTest, EveryFieldMissingIsRefused) {
  const std::string json = EncodeTargetStatusDoc(SampleStatus());
  for (const char* key :
       {"v", "distribution_id", "node_id", "endpoint_id", "status", "progress_bytes", "total_bytes",
        "sources", "started_at_ms", "completed_at_ms", "error", "updated_at_ms"}) {
    ExpectStatusRefused(WithoutKey(json, key), key);
  }
}

TEST(TargetStatusDocTest, MistypedOrOutOfRangeIsRefused) {
  const std::string json = EncodeTargetStatusDoc(SampleStatus());
  const std::vector<Mutation> rows = {
      {"v", "2", "v"},
      {"distribution_id", "null", "distribution_id"},
      {"distribution_id", "\"a/b\"", "distribution_id"},
      {"node_id", "\"bravo\"", "node_id"},  // a name needs endpoint_id ""
      {"node_id", "\"\"", "node_id"},
      {"node_id", "\"a\\u0007b\"", "node_id"},
      {"node_id", "\"0123456788\"", "node_id"},  // not the prefix of endpoint_id
      {"endpoint_id", "null", "endpoint_id"},
      {"endpoint_id", "\"0123456789\"", "endpoint_id"},
      {"status", "\"partial\"", "status"},
      {"status", "\"Completed\"", "status"},
      {"status", "3", "status"},
      {"progress_bytes", "-1", "progress_bytes"},
      {"progress_bytes", "2097153", "progress_bytes"},  // beyond total_bytes
      {"progress_bytes", "\"0\"", "progress_bytes"},
      {"total_bytes", "1e100", "total_bytes"},
      {"total_bytes", "9007199254740992", "total_bytes"},
      {"sources", "\"a1b2c3d4e5\"", "sources"},
      {"sources", "[\"a1b2c3d4e5\",\"A1B2C3D4E5\"]", "sources[1]"},
      {"sources", "[\"" + std::string(64, 'a') + "\"]", "sources[0]"},
      {"started_at_ms", "-5", "started_at_ms"},
      {"completed_at_ms", "\"later\"", "completed_at_ms"},
      {"error", "42", "error"},
      {"error", "\"" + std::string(kMaxDocTextBytes + 1, 'e') + "\"", "error"},
      {"updated_at_ms", "null", "updated_at_ms"},
  };
  for (const Mutation& m : rows) ExpectStatusRefused(WithValue(json, m.key, m.value), m.field);
}

TEST(TargetStatusDocTest, ExtraFieldsAreIgnored) {
  std::string json = EncodeTargetStatusDoc(SampleStatus());
  json.insert(1, R"("rate_bps":123456,"hint":{"a":[true]},)");
  auto parsed = ParseTargetStatusDoc(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, SampleStatus());
}

}  // namespace
}  // namespace peat::attach

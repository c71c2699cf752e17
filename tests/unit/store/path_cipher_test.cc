// Opaque field names: PathCipher tokens (deterministic per collection, document and parent;
// invertible; tamper-evident) and DocumentCipher's stored form and plaintext view (per-path merge
// of clear and token registers, conversion of the old scheme's clear names).
#include "store/path_cipher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "crdt/document.h"
#include "crdt/path.h"
#include "store/document_cipher.h"
#include "store/store_test_util.h"

namespace peat::store {
namespace {

using testing::LegacyForm;
using testing::RandomKey;

PathCipher MakePathCipher(const SecureBytes& key) {
  auto c = PathCipher::Create(key);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

DocumentCipher MakeDocumentCipher(const SecureBytes& key) {
  auto c = DocumentCipher::Create(key);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

std::string Token(const PathCipher& c, std::string_view coll, std::string_view doc,
                  std::string_view parent, std::string_view key) {
  auto t = c.EncryptKey(coll, doc, parent, key);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? *t : std::string();
}

std::string Path(std::initializer_list<std::string_view> keys) {
  std::string p;
  for (auto k : keys) crdt::AppendPathSegment(&p, k);
  return p;
}

crdt::Document Doc(const std::string& json, uint64_t hlc, uint64_t tag = 7) {
  crdt::Document d;
  auto r = d.Put(json, crdt::Timestamp{hlc, tag});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return d;
}

TEST(PathCipherTest, TokensAreDeterministicPerCollectionDocumentAndParent) {
  const SecureBytes key = RandomKey();
  const PathCipher c = MakePathCipher(key);
  const PathCipher again = MakePathCipher(key);  // another node with the same key
  const std::string t = Token(c, "c", "d", "", "patient_name");
  EXPECT_TRUE(t.starts_with(PathCipher::kPrefix)) << t;
  EXPECT_EQ(t.find("patient"), std::string::npos);
  EXPECT_EQ(Token(c, "c", "d", "", "patient_name"), t);
  EXPECT_EQ(Token(again, "c", "d", "", "patient_name"), t);
  // Another document, collection or parent: another token (nothing to correlate across them).
  EXPECT_NE(Token(c, "c", "d2", "", "patient_name"), t);
  EXPECT_NE(Token(c, "c2", "d", "", "patient_name"), t);
  EXPECT_NE(Token(c, "c", "d", Path({"x"}), "patient_name"), t);
  EXPECT_NE(Token(c, "cd", "", "", "patient_name"), Token(c, "c", "d", "", "patient_name"));
  // Another key: another token.
  EXPECT_NE(Token(MakePathCipher(RandomKey()), "c", "d", "", "patient_name"), t);
}

TEST(PathCipherTest, TokensInvertAndPadNameLengths) {
  const PathCipher c = MakePathCipher(RandomKey());
  std::vector<std::string> names = {"",
                                    "a",
                                    "id",
                                    "patient_name",
                                    std::string(15, 'x'),
                                    std::string(16, 'x'),
                                    std::string(17, 'x'),
                                    std::string("nul\0one\x01two", 12),
                                    "ключ",
                                    "with.dot"};
  for (const std::string& name : names) {
    const std::string t = Token(c, "c", "d", "", name);
    for (char ch : t.substr(PathCipher::kPrefix.size())) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') << t;
    }
    // 16-byte SIV tag + the name padded to a multiple of 16 bytes (at least one pad byte).
    const size_t padded = (name.size() / PathCipher::kPadBytes + 1) * PathCipher::kPadBytes;
    EXPECT_EQ(t.size(), PathCipher::kPrefix.size() + ((16 + padded) * 4 + 2) / 3) << name;
    auto back = c.DecryptKey("c", "d", "", t);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, name);
  }
  // Every name of up to 15 bytes gives a token of one length.
  EXPECT_EQ(Token(c, "c", "d", "", "a").size(), Token(c, "c", "d", "", "patient_name").size());
}

TEST(PathCipherTest, WholePathsRoundTripAndKeepTheirShape) {
  const PathCipher c = MakePathCipher(RandomKey());
  const std::string plain = Path({"outer", "inner", "leaf"});
  PathCipher::Memo memo;
  auto stored = c.EncryptPath("c", "d", plain, &memo);
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(PathCipher::IsOpaquePath(*stored));
  EXPECT_TRUE(crdt::IsValidEncodedPath(*stored));
  auto keys = crdt::DecodePath(*stored);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 3u);  // the depth is kept
  // A parent's token is a prefix of its children's paths (ancestry survives for keyless nodes).
  auto parent = c.EncryptPath("c", "d", Path({"outer", "inner"}));
  ASSERT_TRUE(parent.ok());
  EXPECT_TRUE(crdt::IsDescendant(*stored, *parent));
  EXPECT_EQ(memo.at(Path({"outer", "inner"})), *parent);
  auto back = c.DecryptPath("c", "d", *stored);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, plain);
  // Clear segments decrypt to themselves; the root stays "".
  auto mixed = c.DecryptPath("c", "d", *parent + Path({"clear"}));
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(*mixed, Path({"outer", "inner", "clear"}));
  EXPECT_EQ(*c.EncryptPath("c", "d", ""), "");
  EXPECT_FALSE(PathCipher::IsOpaquePath(Path({"clear"})));
  EXPECT_TRUE(PathCipher::HasTokenSegment(*parent + Path({"clear"})));
  EXPECT_FALSE(PathCipher::HasTokenSegment(Path({"a", "b"})));
}

TEST(PathCipherTest, TamperingWrongKeysAndMovedTokensFailWithCannotDecrypt) {
  const SecureBytes key = RandomKey();
  const PathCipher c = MakePathCipher(key);
  const std::string t = Token(c, "c", "d", "", "classified");
  auto expect_fails = [&](const PathCipher& with, std::string_view doc, std::string_view token) {
    auto r = with.DecryptKey("c", doc, "", token);
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << token;
    EXPECT_NE(r.status().message().find("cannot decrypt"), std::string::npos);
  };
  for (size_t i = PathCipher::kPrefix.size(); i < t.size(); ++i) {
    std::string bad = t;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    expect_fails(c, "d", bad);
  }
  expect_fails(c, "d", t.substr(0, t.size() - 4));
  expect_fails(c, "d", std::string(PathCipher::kPrefix) + "!!!!");
  expect_fails(c, "other-doc", t);                    // moved to another document
  expect_fails(MakePathCipher(RandomKey()), "d", t);  // another key
  // A whole path with a bad segment fails the same way.
  auto r = c.DecryptPath("c", "d", Path({t, t}));  // t under itself: wrong parent
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
}

TEST(DocumentCipherTest, EncryptDecryptRoundTripsAndHidesEveryName) {
  const DocumentCipher c = MakeDocumentCipher(RandomKey());
  crdt::Document plain = Doc(
      R"({"patient_name":"x","vitals":{"blood_pressure":[120,80],"empty_obj":{}},"removed_field":1})",
      100);
  ASSERT_TRUE(
      plain
          .Put(R"({"patient_name":"x","vitals":{"blood_pressure":[120,80],"empty_obj":{}}})",
               crdt::Timestamp{200, 7})
          .ok());  // a tombstone: names of tombstones are hidden too
  auto stored = c.Encrypt("c", "d", nullptr, plain);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_TRUE(DocumentCipher::IsNormalized(*stored));
  EXPECT_EQ(stored->registers().size(), plain.registers().size());
  const std::string bytes = stored->Encode();
  // (names long enough not to occur by chance in the base64 of tokens and values)
  for (const char* name :
       {"patient_name", "vitals", "blood_pressure", "empty_obj", "removed_field"}) {
    EXPECT_EQ(bytes.find(name), std::string::npos) << name;
  }
  EXPECT_EQ(stored->registers().begin()->first, "");  // the root marker stays at ""
  auto back = c.Decrypt("c", "d", *stored);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, plain);
  EXPECT_EQ(c.CheckKey("c", "d", *stored), DocumentCipher::KeyCheck::kMatches);
  EXPECT_EQ(MakeDocumentCipher(RandomKey()).CheckKey("c", "d", *stored),
            DocumentCipher::KeyCheck::kMismatch);
  EXPECT_EQ(c.CheckKey("c", "d", plain), DocumentCipher::KeyCheck::kNothingToCheck);
  // Tampering with a stored name: the document does not decrypt.
  crdt::Document tampered;
  for (const auto& [path, reg] : stored->registers()) {
    std::string p = path;
    if (!p.empty()) p[p.size() - 2] = p[p.size() - 2] == 'A' ? 'B' : 'A';
    tampered.MergeRegister(p, reg);
  }
  auto bad = c.Decrypt("c", "d", tampered);
  EXPECT_EQ(bad.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(bad.status().message().find("cannot decrypt"), std::string::npos);
}

TEST(DocumentCipherTest, UnchangedRegistersKeepTheirStoredBytes) {
  const DocumentCipher c = MakeDocumentCipher(RandomKey());
  crdt::Document plain = Doc(R"({"a":"x","b":2})", 100);
  auto v1 = c.Encrypt("c", "d", nullptr, plain);
  ASSERT_TRUE(v1.ok());
  PathCipher::Memo paths;
  auto view = c.Decrypt("c", "d", *v1, &paths);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(paths.size(), 2u);  // "a" and "b" (the root is not a name)
  ASSERT_TRUE(view->Put(R"({"a":"x","b":3})", crdt::Timestamp{200, 7})->changed);
  auto v2 = c.Encrypt("c", "d", &*v1, *view, &paths);
  ASSERT_TRUE(v2.ok());
  int same = 0, changed = 0;
  for (const auto& [path, reg] : v2->registers()) {
    if (path.empty()) continue;
    auto it = v1->registers().find(path);
    ASSERT_NE(it, v1->registers().end());  // names are deterministic
    (it->second.value == reg.value ? same : changed) += 1;
  }
  EXPECT_EQ(same, 1);
  EXPECT_EQ(changed, 1);
}

TEST(DocumentCipherTest, PlainViewMergesClearAndTokenRegistersByTheMergeRule) {
  const DocumentCipher c = MakeDocumentCipher(RandomKey());
  // The same field under its clear name (old scheme, older) and its token (newer), and the other
  // way round for a second field: the newer one wins either way.
  crdt::Document older = Doc(R"({"f":"old","g":"new-clear"})", 100);
  crdt::Document newer = Doc(R"({"f":"new","g":"old-token"})", 200);
  crdt::Document mixed = LegacyForm(c, "c", "d", older);  // f (100), g (100) under clear names
  auto tokens = c.Encrypt("c", "d", nullptr, newer);      // f (200), g (200) under tokens
  ASSERT_TRUE(tokens.ok());
  const std::string f_token = *c.paths().EncryptPath("c", "d", Path({"f"}));
  mixed.MergeRegister(f_token, tokens->registers().at(f_token));
  // g: its token register is older than a clear one written later.
  const std::string g_token = *c.paths().EncryptPath("c", "d", Path({"g"}));
  crdt::Register g_old = tokens->registers().at(g_token);
  g_old.ts = crdt::Timestamp{50, 7};
  mixed.MergeRegister(g_token, g_old);
  const crdt::Document g_newer = LegacyForm(c, "c", "d", Doc(R"({"g":"newest-clear"})", 300));
  mixed.MergeRegister(Path({"g"}), g_newer.registers().at(Path({"g"})));
  ASSERT_EQ(mixed.registers().size(), 5u);  // root, f, g under both
  auto view = c.Decrypt("c", "d", mixed);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(view->Render(), R"({"f":"new","g":"newest-clear"})");
  EXPECT_EQ(c.Decrypt("c", "d", c.Normalize("c", "d", mixed))->Render(), view->Render());
}

TEST(DocumentCipherTest, NormalizeMovesLegacyNamesWithoutReencryptingValues) {
  const DocumentCipher c = MakeDocumentCipher(RandomKey());
  crdt::Document plain = Doc(R"({"secret_name":"v","nested_obj":{"deep_field":1,"e":{}}})", 100);
  ASSERT_TRUE(
      plain.Put(R"({"nested_obj":{"deep_field":1,"e":{}}})", crdt::Timestamp{200, 7})->changed);
  const crdt::Document legacy = LegacyForm(c, "c", "d", plain);
  EXPECT_FALSE(DocumentCipher::IsNormalized(legacy));
  EXPECT_EQ(c.CheckKey("c", "d", legacy), DocumentCipher::KeyCheck::kMatches);
  const crdt::Document normalized = c.Normalize("c", "d", legacy);
  EXPECT_TRUE(DocumentCipher::IsNormalized(normalized));
  EXPECT_EQ(normalized.delete_ts(), legacy.delete_ts());
  const std::string bytes = normalized.Encode();
  for (const char* name : {"secret_name", "nested_obj", "deep_field"}) {
    EXPECT_EQ(bytes.find(name), std::string::npos) << name;
  }
  // Same timestamps and value bytes, only the paths moved.
  std::vector<std::string> legacy_values, normalized_values;
  for (const auto& [p, r] : legacy.registers()) legacy_values.push_back(r.value);
  for (const auto& [p, r] : normalized.registers()) normalized_values.push_back(r.value);
  std::sort(legacy_values.begin(), legacy_values.end());
  std::sort(normalized_values.begin(), normalized_values.end());
  EXPECT_EQ(legacy_values, normalized_values);
  EXPECT_EQ(normalized.MaxTimestamp(), legacy.MaxTimestamp());
  auto view = c.Decrypt("c", "d", normalized);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(*view, plain);
  // Idempotent, and equal to what a node writing the new scheme would store.
  EXPECT_EQ(c.Normalize("c", "d", normalized), normalized);
  EXPECT_EQ(*c.Decrypt("c", "d", *c.Encrypt("c", "d", nullptr, plain)), *view);
  // Registers whose names another key encrypted are left where they are.
  const DocumentCipher other = MakeDocumentCipher(RandomKey());
  const crdt::Document foreign = *other.Encrypt("c", "d", nullptr, plain);
  EXPECT_EQ(c.Normalize("c", "d", foreign), foreign);
}

}  // namespace
}  // namespace peat::store

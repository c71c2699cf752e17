// Per-leaf encryption and opaque field names: no plaintext value or field name ever reaches the
// database files, wrong keys fail cleanly, keyless nodes see ENC:n1: names and ENC:v1: values,
// unchanged leaves keep their ciphertext, stores of the old scheme (clear names) are migrated at
// open, and clear names arriving by merge are converted.
#include <gtest/gtest.h>

#include <map>

#include "crdt/document.h"
#include "store/document_cipher.h"
#include "store/sqlite_connection.h"
#include "store/sqlite_document_store.h"
#include "store/store_test_util.h"
#include "store/value_cipher.h"

namespace peat::store {
namespace {

using testing::BaseOptions;
using testing::GetOrDie;
using testing::OpenOrDie;
using testing::PutSync;
using testing::TempDir;

// The stored state of a document, read straight from the database file.
crdt::Document RawState(const std::string& dir, const std::string& c, const std::string& d) {
  auto db = SqliteConnection::Open(dir + "/peat.db", false, "", 1000);
  EXPECT_TRUE(db.ok());
  auto st = db->Prepare("SELECT state FROM docs WHERE collection = ?1 AND doc_id = ?2");
  EXPECT_TRUE(st.ok());
  st->BindText(1, c);
  st->BindText(2, d);
  EXPECT_EQ(st->Step(), SQLITE_ROW);
  auto doc = crdt::Document::Decode(st->ColumnBlob(0));
  EXPECT_TRUE(doc.ok());
  return doc.ok() ? std::move(doc).value() : crdt::Document();
}

// The stored state of a document of collection "c", through the change feed.
crdt::Document RawStateOf(ReplicationLog& s, const std::string& d) {
  return testing::RawFeedState(s, "c", d);
}

class EncryptionTest : public ::testing::Test {
 protected:
  StoreOptions Options(const SecureBytes* key) {
    auto o = BaseOptions(dir_.path());
    if (key != nullptr) o.encryption_key = key->Copy();
    return o;
  }
  TempDir dir_;
  SecureBytes key_ = testing::RandomKey();
};

TEST_F(EncryptionTest, DatabaseFilesNeverContainPlaintextValuesOrFieldNames) {
  const std::string json =
      R"({"secret":"CANARY-7f3a9-plain","n":424242424242,"f":31337.5,"ok":true,"nil":null,)"
      R"("arr":["CANARY-in-array"],"nested":{"deep":"CANARY-nested"},)"
      R"("CANARYNAME_top":1,"CANARYNAME_obj":{"CANARYNAME_deep":{"CANARYNAME_leaf":2},)"
      R"("CANARYNAME_empty":{}},"CANARYNAME_removed":3})";
  auto s = OpenOrDie(Options(&key_));
  ASSERT_TRUE(PutSync(*s, "c", "d", json).ok());
  // A field that is removed leaves a tombstone under its name: that name is hidden too.
  ASSERT_TRUE(
      PutSync(*s, "c", "d", json.substr(0, json.rfind(",\"CANARYNAME_removed")) + "}").ok());
  ASSERT_TRUE(PutSync(*s, "c", "d2", R"({"other":"CANARY-second-doc"})").ok());
  EXPECT_EQ(
      GetOrDie(*s, "c", "d"),
      R"({"CANARYNAME_obj":{"CANARYNAME_deep":{"CANARYNAME_leaf":2},"CANARYNAME_empty":{}},"CANARYNAME_top":1,"arr":["CANARY-in-array"],"f":31337.5,"n":424242424242,"nested":{"deep":"CANARY-nested"},"nil":null,"ok":true,"secret":"CANARY-7f3a9-plain"})");
  auto check_files = [&](const char* when) {
    std::string all;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      all += testing::ReadFileBytes(dir_.path() + "/peat.db" + suffix);
    }
    EXPECT_FALSE(all.empty());
    for (const char* canary : {"CANARY", "424242424242", "31337", "secret"}) {
      EXPECT_EQ(all.find(canary), std::string::npos) << canary << " found " << when;
    }
    EXPECT_NE(all.find("ENC:v1:"), std::string::npos) << when;
    EXPECT_NE(all.find("ENC:n1:"), std::string::npos) << when;
  };
  check_files("while open (WAL)");
  s.reset();  // checkpoints the WAL into the main file
  check_files("after close");
}

TEST_F(EncryptionTest, KindsAreHiddenAndUnchangedLeavesKeepTheirCiphertext) {
  auto s = OpenOrDie(Options(&key_));
  ASSERT_TRUE(PutSync(*s, "c", "d", R"({"a":"x","b":2,"c":{"d":[1]}})").ok());
  const uint64_t seq = s->LastSeq();
  ASSERT_TRUE(PutSync(*s, "c", "d", R"({"c":{"d":[1]},"b":2,"a":"x"})").ok());
  EXPECT_EQ(s->LastSeq(), seq);  // the diff compares plaintext: identical re-put is a no-op
  s.reset();
  const crdt::Document before = RawState(dir_.path(), "c", "d");
  for (const auto& [path, reg] : before.registers()) {
    if (reg.kind == crdt::RegisterKind::kObject || reg.kind == crdt::RegisterKind::kTombstone) {
      continue;
    }
    EXPECT_EQ(reg.kind, crdt::RegisterKind::kString);
    EXPECT_TRUE(reg.value.starts_with("ENC:v1:")) << reg.value;
  }
  s = OpenOrDie(Options(&key_));
  ASSERT_TRUE(PutSync(*s, "c", "d", R"({"a":"x","b":3,"c":{"d":[1]}})").ok());
  EXPECT_EQ(GetOrDie(*s, "c", "d"), R"({"a":"x","b":3,"c":{"d":[1]}})");
  s.reset();
  const crdt::Document after = RawState(dir_.path(), "c", "d");
  int same = 0, changed = 0;
  for (const auto& [path, reg] : after.registers()) {
    if (!reg.value.starts_with("ENC:v1:")) continue;
    auto it = before.registers().find(path);
    ASSERT_NE(it, before.registers().end());
    (it->second.value == reg.value ? same : changed) += 1;
  }
  EXPECT_EQ(same, 2);     // "a" and "c.d" kept their bytes
  EXPECT_EQ(changed, 1);  // only "b" was re-encrypted
}

TEST_F(EncryptionTest, WrongKeyFailsReadsAndWritesAndOverwritesNothing) {
  {
    auto s = OpenOrDie(Options(&key_));
    ASSERT_TRUE(PutSync(*s, "c", "d", R"({"v":"mine"})").ok());
  }
  const SecureBytes wrong = testing::RandomKey();
  {
    auto s = OpenOrDie(Options(&wrong));
    auto r = s->Get("c", "d");
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find("cannot decrypt"), std::string::npos);
    Status put = PutSync(*s, "c", "d", R"({"v":"theirs"})");
    EXPECT_EQ(put.code(), StatusCode::kFailedPrecondition) << put.ToString();
    EXPECT_EQ(*s->List("c"), std::vector<std::string>{"d"});  // ids are not encrypted
    EXPECT_EQ(s->Scan({}, [](const ChangeEvent&) { return true; }).code(),
              StatusCode::kFailedPrecondition);
    // Documents it can read are fine.
    ASSERT_TRUE(PutSync(*s, "c", "own", R"({"v":1})").ok());
    EXPECT_EQ(GetOrDie(*s, "c", "own"), R"({"v":1})");
  }
  auto s = OpenOrDie(Options(&key_));
  EXPECT_EQ(GetOrDie(*s, "c", "d"), R"({"v":"mine"})");
}

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(EncryptionTest, WithoutAKeyNamesReadAsEncN1AndValuesAsEncV1Strings) {
  {
    auto s = OpenOrDie(Options(&key_));
    ASSERT_TRUE(PutSync(*s, "c", "d", R"({"name":1,"s":"x","o":{"t":true}})").ok());
  }
  auto s = OpenOrDie(Options(nullptr));
  auto json = GetOrDie(*s, "c", "d");
  // {"ENC:n1:…":"ENC:v1:…","ENC:n1:…":{"ENC:n1:…":"ENC:v1:…"},"ENC:n1:…":"ENC:v1:…"} in some
  // order: the shape (4 names, 3 values, one object) and nothing else.
  EXPECT_TRUE(json.starts_with(R"({"ENC:n1:)")) << json;
  EXPECT_EQ(Count(json, R"("ENC:n1:)"), 4u) << json;
  EXPECT_EQ(Count(json, R"(":"ENC:v1:)"), 3u) << json;
  EXPECT_EQ(Count(json, R"(":{"ENC:n1:)"), 1u) << json;
  for (const char* name : {R"("name")", R"("s")", R"("o")", R"("t")"}) {
    EXPECT_EQ(json.find(name), std::string::npos) << name << " in " << json;
  }
  // The keyless node can still write (in clear); the keyed node reads both afterwards.
  ASSERT_TRUE(PutSync(*s, "c", "d", json.substr(0, json.size() - 1) + R"(,"clear":2})").ok());
  s.reset();
  s = OpenOrDie(Options(&key_));
  EXPECT_EQ(GetOrDie(*s, "c", "d"), R"({"clear":2,"name":1,"o":{"t":true},"s":"x"})");
}

// --- Migration of stores written before field names were encrypted ---

struct Row {
  std::string state;
  int64_t seq = 0;
  int64_t updated_ms = 0;
  std::string src_peer;
};

std::map<std::string, Row> Rows(const std::string& dir) {
  auto db = SqliteConnection::Open(dir + "/peat.db", false, "", 1000);
  EXPECT_TRUE(db.ok());
  auto st = db->Prepare("SELECT doc_id, state, seq, updated_ms, src_peer FROM docs");
  EXPECT_TRUE(st.ok());
  std::map<std::string, Row> out;
  while (st->Step() == SQLITE_ROW) {
    out[std::string(st->ColumnText(0))] = Row{std::string(st->ColumnBlob(1)), st->ColumnInt64(2),
                                              st->ColumnInt64(3), std::string(st->ColumnText(4))};
  }
  return out;
}

std::string AllFiles(const std::string& dir) {
  std::string all;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    all += testing::ReadFileBytes(dir + "/peat.db" + suffix);
  }
  return all;
}

// Rewrites every row of a (closed) store in the old scheme's form and drops the migration mark:
// what a store written before field names were encrypted holds.
void RewriteAsLegacyStore(const std::string& dir, const SecureBytes& key) {
  auto cipher = DocumentCipher::Create(key);
  ASSERT_TRUE(cipher.ok());
  auto db = SqliteConnection::Open(dir + "/peat.db", false, "", 1000);
  ASSERT_TRUE(db.ok());
  for (const auto& [id, row] : Rows(dir)) {
    auto stored = crdt::Document::Decode(row.state);
    ASSERT_TRUE(stored.ok());
    auto plain = cipher->Decrypt("c", id, *stored);
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    auto st = db->Prepare("UPDATE docs SET state = ?2, src_peer = 'peer-x' WHERE doc_id = ?1");
    ASSERT_TRUE(st.ok());
    st->BindText(1, id);
    st->BindBlob(2, testing::LegacyForm(*cipher, "c", id, *plain).Encode());
    ASSERT_TRUE(st->Run("legacy").ok());
  }
  ASSERT_TRUE(db->Exec("DELETE FROM meta WHERE key = 'field_names'").ok());
  ASSERT_TRUE(db->Exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
}

TEST_F(EncryptionTest, StoresOfTheOldSchemeAreMigratedAtOpenKeepingTheFeed) {
  const std::map<std::string, std::string> docs = {
      {"a", R"({"CANARYNAME_patient":"Ann","vitals":{"CANARYNAME_bp":120,"CANARYNAME_e":{}}})"},
      {"b", R"({"x":1})"},  // after a Put that removed "CANARYNAME_gone" (a tombstone)
      {"big", "{\"CANARYNAME_big\":\"" + std::string(6000, 'v') + "\"}"},  // overflow pages
  };
  {
    auto s = OpenOrDie(Options(&key_));
    ASSERT_TRUE(PutSync(*s, "c", "b", R"({"x":1,"CANARYNAME_gone":2})").ok());
    for (const auto& [id, json] : docs) ASSERT_TRUE(PutSync(*s, "c", id, json).ok());
    // Many more documents, so the migration runs in several batches.
    for (int i = 0; i < 600; ++i) {
      ASSERT_TRUE(PutSync(*s, "c", "n" + std::to_string(i), R"({"CANARYNAME_n":1})").ok());
    }
  }
  RewriteAsLegacyStore(dir_.path(), key_);
  const auto legacy = Rows(dir_.path());
  EXPECT_NE(AllFiles(dir_.path()).find("CANARYNAME"), std::string::npos);  // control

  // A wrong key does not touch it (names encrypted under it would be lost to the right key).
  {
    const SecureBytes wrong = testing::RandomKey();
    auto s = OpenOrDie(Options(&wrong));
    EXPECT_EQ(s->Get("c", "a").status().code(), StatusCode::kFailedPrecondition);
  }
  for (const auto& [id, row] : Rows(dir_.path())) EXPECT_EQ(row.state, legacy.at(id).state) << id;

  {
    auto s = OpenOrDie(Options(&key_));
    for (const auto& [id, json] : docs) EXPECT_EQ(GetOrDie(*s, "c", id), json) << id;
    EXPECT_EQ(GetOrDie(*s, "c", "n599"), R"({"CANARYNAME_n":1})");
    const uint64_t seq = s->LastSeq();
    // Put diffing still sees the plaintext: an identical re-put is a no-op.
    ASSERT_TRUE(PutSync(*s, "c", "a", docs.at("a")).ok());
    EXPECT_EQ(s->LastSeq(), seq);
  }
  const auto migrated = Rows(dir_.path());
  ASSERT_EQ(migrated.size(), legacy.size());
  for (const auto& [id, row] : migrated) {
    const Row& before = legacy.at(id);
    EXPECT_NE(row.state, before.state) << id;
    EXPECT_EQ(row.seq, before.seq) << id;  // the change feed does not move
    EXPECT_EQ(row.updated_ms, before.updated_ms) << id;
    EXPECT_EQ(row.src_peer, "peer-x") << id;
    auto doc = crdt::Document::Decode(row.state);
    ASSERT_TRUE(doc.ok());
    EXPECT_TRUE(DocumentCipher::IsNormalized(*doc)) << id;
  }
  // No name is left anywhere in the files (the old pages were overwritten, the WAL truncated).
  EXPECT_EQ(AllFiles(dir_.path()).find("CANARYNAME"), std::string::npos);
  {
    auto db = SqliteConnection::Open(dir_.path() + "/peat.db", false, "", 1000);
    ASSERT_TRUE(db.ok());
    EXPECT_EQ(*db->QueryInt("SELECT value FROM meta WHERE key = 'field_names'"), 1);
  }
  // Idempotent: another open changes nothing.
  OpenOrDie(Options(&key_)).reset();
  for (const auto& [id, row] : Rows(dir_.path())) EXPECT_EQ(row.state, migrated.at(id).state);
}

// Puts the docs table of a (closed) store back in its v3 form (WITHOUT ROWID, state third).
void DowngradeDocsToV3(const std::string& dir) {
  auto db = SqliteConnection::Open(dir + "/peat.db", false, "", 1000);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db->Exec(R"sql(
BEGIN;
CREATE TABLE docs_v3(
  collection TEXT NOT NULL, doc_id TEXT NOT NULL, state BLOB NOT NULL, live INTEGER NOT NULL,
  seq INTEGER NOT NULL, updated_ms INTEGER NOT NULL, src_peer TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(collection, doc_id)
) WITHOUT ROWID;
INSERT INTO docs_v3 SELECT collection, doc_id, state, live, seq, updated_ms, src_peer FROM docs;
DROP TABLE docs;
ALTER TABLE docs_v3 RENAME TO docs;
CREATE UNIQUE INDEX docs_by_seq ON docs(seq);
CREATE INDEX docs_by_age ON docs(live, collection, updated_ms);
UPDATE meta SET value = 3 WHERE key = 'schema_version';
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
)sql")
                  .ok());
}

// A v3 store of the old scheme: the v4 rebuild copies the clear names into new pages and drops
// the old ones, then the name migration rewrites the copies; no name may survive in a page the
// rebuild freed.
TEST_F(EncryptionTest, V3StoresOfTheOldSchemeKeepNoNameAfterBothMigrations) {
  {
    auto s = OpenOrDie(Options(&key_));
    ASSERT_TRUE(
        PutSync(*s, "c", "big", "{\"CANARYNAME_big\":\"" + std::string(3000, 'v') + "\"}").ok());
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(PutSync(*s, "c", "n" + std::to_string(i), R"({"CANARYNAME_n":1})").ok());
    }
  }
  RewriteAsLegacyStore(dir_.path(), key_);
  DowngradeDocsToV3(dir_.path());
  const auto legacy = Rows(dir_.path());
  EXPECT_NE(AllFiles(dir_.path()).find("CANARYNAME"), std::string::npos);  // control
  {
    auto s = OpenOrDie(Options(&key_));
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(GetOrDie(*s, "c", "big"), "{\"CANARYNAME_big\":\"" + std::string(3000, 'v') + "\"}");
    EXPECT_EQ(GetOrDie(*s, "c", "n199"), R"({"CANARYNAME_n":1})");
  }
  const auto migrated = Rows(dir_.path());
  ASSERT_EQ(migrated.size(), legacy.size());
  for (const auto& [id, row] : migrated) EXPECT_EQ(row.seq, legacy.at(id).seq) << id;
  EXPECT_EQ(AllFiles(dir_.path()).find("CANARYNAME"), std::string::npos);
  auto db = SqliteConnection::Open(dir_.path() + "/peat.db", false, "", 1000);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*db->QueryInt("SELECT value FROM meta WHERE key = 'schema_version'"), 4);
}

TEST_F(EncryptionTest, ClearNamesArrivingByMergeAreConverted) {
  auto cipher = DocumentCipher::Create(key_);
  ASSERT_TRUE(cipher.ok());
  auto s = OpenOrDie(Options(&key_));
  // An old-scheme relay sends a state: clear names, encrypted values.
  crdt::Document plain;
  ASSERT_TRUE(plain
                  .Put(R"({"CANARYNAME_a":"v","o":{"CANARYNAME_b":1,"e":{}}})",
                       crdt::Timestamp{1'000 << 16, 9})
                  .ok());
  const crdt::Document legacy = testing::LegacyForm(*cipher, "c", "d", plain);
  ASSERT_TRUE(
      testing::MergeSync(*s, "peer-old", {testing::Change("c", "d", legacy.Encode())}).ok());
  EXPECT_EQ(GetOrDie(*s, "c", "d"), R"({"CANARYNAME_a":"v","o":{"CANARYNAME_b":1,"e":{}}})");
  auto feed = testing::FeedOrDie(*s);
  ASSERT_EQ(feed.entries.size(), 1u);
  EXPECT_EQ(feed.entries[0].state.find("CANARYNAME"), std::string::npos);
  EXPECT_EQ(feed.entries[0].src_peer, "peer-old");  // it equals the sender's, converted
  EXPECT_TRUE(DocumentCipher::IsNormalized(RawStateOf(*s, "d")));
  // The same state again, or its new-scheme form, changes nothing.
  const uint64_t seq = s->LastSeq();
  ASSERT_TRUE(
      testing::MergeSync(*s, "peer-old", {testing::Change("c", "d", legacy.Encode())}).ok());
  ASSERT_TRUE(
      testing::MergeSync(*s, "peer-new", {testing::Change("c", "d", feed.entries[0].state)}).ok());
  EXPECT_EQ(s->LastSeq(), seq);

  // A keyless relay adds a field in clear to the encrypted document: converted here too (the
  // document's other names prove the key).
  crdt::Document relayed = RawStateOf(*s, "d");
  crdt::Document addition;
  ASSERT_TRUE(addition.Put(R"({"CANARYNAME_z":5})", crdt::Timestamp{2'000 << 16, 3}).ok());
  for (const auto& [path, reg] : addition.registers()) {
    if (!path.empty()) relayed.MergeRegister(path, reg);
  }
  ASSERT_TRUE(
      testing::MergeSync(*s, "peer-relay", {testing::Change("c", "d", relayed.Encode())}).ok());
  EXPECT_EQ(GetOrDie(*s, "c", "d"),
            R"({"CANARYNAME_a":"v","CANARYNAME_z":5,"o":{"CANARYNAME_b":1,"e":{}}})");
  EXPECT_TRUE(DocumentCipher::IsNormalized(RawStateOf(*s, "d")));

  // A document written in clear by a keyless node proves no key: it is stored as it came (a
  // node with a wrong key must not make its names unreadable to the others).
  ASSERT_TRUE(
      testing::MergeSync(*s, "peer-relay", {testing::Change("c", "k", addition.Encode())}).ok());
  EXPECT_EQ(GetOrDie(*s, "c", "k"), R"({"CANARYNAME_z":5})");
  EXPECT_EQ(RawStateOf(*s, "k"), addition);

  // A node with another key neither converts nor breaks the old scheme's state: it relays it
  // intact, and this node converts it.
  TempDir other_dir;
  auto other_options = BaseOptions(other_dir.path());
  const SecureBytes other_key = testing::RandomKey();
  other_options.encryption_key = other_key.Copy();
  auto other = OpenOrDie(other_options);
  crdt::Document plain2;
  ASSERT_TRUE(plain2.Put(R"({"CANARYNAME_w":1})", crdt::Timestamp{3'000 << 16, 9}).ok());
  const crdt::Document legacy2 = testing::LegacyForm(*cipher, "c", "w", plain2);
  ASSERT_TRUE(
      testing::MergeSync(*other, "peer-old", {testing::Change("c", "w", legacy2.Encode())}).ok());
  EXPECT_EQ(RawStateOf(*other, "w"), legacy2);
  ASSERT_TRUE(testing::MergeSync(*s, "peer-other", testing::FeedChanges(*other)).ok());
  EXPECT_EQ(GetOrDie(*s, "c", "w"), R"({"CANARYNAME_w":1})");
  EXPECT_TRUE(DocumentCipher::IsNormalized(RawStateOf(*s, "w")));
}

TEST(ValueCipherTest, AadBindsValueToCollectionDocumentAndPath) {
  SecureBytes key = testing::RandomKey();
  auto cipher = ValueCipher::Create(key);
  ASSERT_TRUE(cipher.ok());
  crdt::Register reg;
  reg.kind = crdt::RegisterKind::kInt;
  reg.value = "42";
  auto sealed = cipher->Seal(ValueCipher::Aad("c", "d", "p"), reg);
  ASSERT_TRUE(sealed.ok());
  crdt::Register enc;
  enc.kind = crdt::RegisterKind::kString;
  enc.value = *sealed;
  EXPECT_TRUE(ValueCipher::IsEncrypted(enc));
  for (auto aad : {ValueCipher::Aad("c", "x", "p"), ValueCipher::Aad("x", "d", "p"),
                   ValueCipher::Aad("c", "d", "q"), ValueCipher::Aad("c\0d", "", "p")}) {
    crdt::Register copy = enc;
    EXPECT_EQ(cipher->Open(aad, copy).code(), StatusCode::kFailedPrecondition);
  }
  crdt::Register copy = enc;
  ASSERT_TRUE(cipher->Open(ValueCipher::Aad("c", "d", "p"), copy).ok());
  EXPECT_EQ(copy.kind, crdt::RegisterKind::kInt);
  EXPECT_EQ(copy.value, "42");
  crdt::Register junk;
  junk.kind = crdt::RegisterKind::kString;
  junk.value = "ENC:v1:not base64!";
  EXPECT_EQ(cipher->Open("aad", junk).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace peat::store

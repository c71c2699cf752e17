// Per-leaf encryption: no plaintext value ever reaches the database files, wrong keys fail
// cleanly, keyless nodes see ENC:v1: strings, and unchanged leaves keep their ciphertext.
#include <gtest/gtest.h>

#include <map>

#include "crdt/document.h"
#include "crypto/random.h"
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

SecureBytes RandomKey() {
  SecureBytes k(32);
  EXPECT_TRUE(RandomBytes(k.span()).ok());
  return k;
}

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

class EncryptionTest : public ::testing::Test {
 protected:
  StoreOptions Options(const SecureBytes* key) {
    auto o = BaseOptions(dir_.path());
    if (key != nullptr) o.encryption_key = key->Copy();
    return o;
  }
  TempDir dir_;
  SecureBytes key_ = RandomKey();
};

TEST_F(EncryptionTest, DatabaseFilesNeverContainPlaintextValues) {
  const std::string json =
      R"({"secret":"CANARY-7f3a9-plain","n":424242424242,"f":31337.5,"ok":true,"nil":null,)"
      R"("arr":["CANARY-in-array"],"nested":{"deep":"CANARY-nested"}})";
  auto s = OpenOrDie(Options(&key_));
  ASSERT_TRUE(PutSync(*s, "c", "d", json).ok());
  ASSERT_TRUE(PutSync(*s, "c", "d2", R"({"other":"CANARY-second-doc"})").ok());
  EXPECT_EQ(
      GetOrDie(*s, "c", "d"),
      R"({"arr":["CANARY-in-array"],"f":31337.5,"n":424242424242,"nested":{"deep":"CANARY-nested"},"nil":null,"ok":true,"secret":"CANARY-7f3a9-plain"})");
  auto check_files = [&](const char* when) {
    std::string all;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      all += testing::ReadFileBytes(dir_.path() + "/peat.db" + suffix);
    }
    EXPECT_FALSE(all.empty());
    for (const char* canary : {"CANARY", "424242424242", "31337"}) {
      EXPECT_EQ(all.find(canary), std::string::npos) << canary << " found " << when;
    }
    EXPECT_NE(all.find("ENC:v1:"), std::string::npos) << when;
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
  const SecureBytes wrong = RandomKey();
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

TEST_F(EncryptionTest, WithoutAKeyValuesReadAsEncStrings) {
  {
    auto s = OpenOrDie(Options(&key_));
    ASSERT_TRUE(PutSync(*s, "c", "d", R"({"n":1,"s":"x","o":{"t":true}})").ok());
  }
  auto s = OpenOrDie(Options(nullptr));
  auto json = GetOrDie(*s, "c", "d");
  EXPECT_TRUE(json.starts_with(R"({"n":"ENC:v1:)")) << json;
  EXPECT_NE(json.find(R"("o":{"t":"ENC:v1:)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("s":"ENC:v1:)"), std::string::npos) << json;
}

TEST(ValueCipherTest, AadBindsValueToCollectionDocumentAndPath) {
  SecureBytes key = RandomKey();
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

// Store-level CRDT property test with encryption on (tests/unit/crdt/document_property_test.cc is
// the pure-CRDT one): random writes and deletes on 3 replicas holding the key, merged in random
// orders, some through a keyless replica that relays the stored states, and some in the old
// scheme's form (clear names, encrypted values) as a relay of that scheme would send them. After a
// full sync every keyed replica renders the same JSON, the relay's state decrypts to it as well,
// no keyed store holds a clear name, and the relay never shows, sends or stores a field name.
// Fixed seeds; a failure names its seed.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "crdt/document.h"
#include "store/document_cipher.h"
#include "store/sqlite_document_store.h"
#include "store/store_test_util.h"

namespace peat::store {
namespace {

using testing::BaseOptions;
using testing::FeedChanges;
using testing::MergeSync;
using testing::OpenOrDie;
using testing::TempDir;

// Every field name carries this marker, so "no field name" is a substring check.
constexpr std::string_view kMarker = "fieldname_";
const char* const kNames[] = {"fieldname_alpha", "fieldname_beta", "fieldname_gamma",
                              "fieldname_delta"};
const char* const kDocs[] = {"d0", "d1", "d2", "d3"};
constexpr int kKeyed = 3;  // replicas 0..2 hold the key, replica 3 is the keyless relay
constexpr int kRelay = 3;

class Rng {
 public:
  explicit Rng(uint64_t seed) : rng_(seed) {}
  size_t Pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool Chance(int percent) { return static_cast<int>(Pick(100)) < percent; }

  std::string Scalar() {
    switch (Pick(6)) {
      case 0:
        return std::to_string(static_cast<int>(Pick(1000)) - 500);
      case 1:
        return "\"v" + std::to_string(Pick(50)) + "\"";
      case 2:
        return Pick(2) ? "true" : "false";
      case 3:
        return "null";
      case 4:
        return "[" + std::to_string(Pick(9)) + ",\"a\"]";
      default:
        return "{}";
    }
  }
  std::string Object(int depth) {
    std::string s = "{";
    const size_t n = Pick(depth == 0 ? 4 : 3) + (depth == 0 ? 1 : 0);
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) s += ',';
      s += "\"" + std::string(kNames[Pick(std::size(kNames))]) + "\":";
      s += depth < 2 && Chance(30) ? Object(depth + 1) : Scalar();
    }
    return s + "}";
  }

 private:
  std::mt19937_64 rng_;
};

class EncryptedReplicationPropertyTest : public ::testing::Test {
 protected:
  void Open() {
    for (int i = 0; i < 4; ++i) {
      auto o = BaseOptions(dirs_[i]->path());
      o.node_tag = static_cast<uint64_t>(i + 1);
      if (i < kKeyed) o.encryption_key = key_.Copy();
      stores_[i] = OpenOrDie(o);
      ASSERT_NE(stores_[i], nullptr);
    }
  }

  // What replica `src` sends: its stored states, or (old_scheme) their old-scheme form. A state
  // with no encrypted value (only object markers and tombstones) goes in the new form: its clear
  // names would prove no key, so a keyed node stores them as they come (the documented residual:
  // an old-scheme relay has those names in clear anyway).
  std::vector<RemoteChange> Changes(int src, bool old_scheme) {
    std::vector<RemoteChange> changes = FeedChanges(*stores_[src]);
    if (!old_scheme) return changes;
    for (RemoteChange& c : changes) {
      auto stored = crdt::Document::Decode(c.state);
      EXPECT_TRUE(stored.ok());
      auto plain = cipher_.Decrypt(c.collection, c.doc_id, *stored);
      EXPECT_TRUE(plain.ok()) << plain.status().ToString();
      const crdt::Document legacy = testing::LegacyForm(cipher_, c.collection, c.doc_id, *plain);
      if (cipher_.CheckKey(c.collection, c.doc_id, legacy) == DocumentCipher::KeyCheck::kMatches) {
        c.state = legacy.Encode();
        ++old_scheme_states_;
      }
    }
    return changes;
  }

  void Merge(int src, int dst, bool old_scheme = false) {
    ASSERT_TRUE(
        MergeSync(*stores_[dst], "peer-" + std::to_string(src), Changes(src, old_scheme)).ok());
  }

  // The relay never shows, sends or stores a field name.
  void ExpectRelayBlind(const char* when) {
    for (const char* d : kDocs) {
      auto got = stores_[kRelay]->Get("c", d);
      ASSERT_TRUE(got.ok());
      if (got->has_value()) {
        EXPECT_EQ((*got)->find(kMarker), std::string::npos) << when << ": " << **got;
      }
    }
    for (const RemoteChange& c : FeedChanges(*stores_[kRelay])) {
      EXPECT_EQ(c.state.find(kMarker), std::string::npos) << when << ": " << c.doc_id;
    }
  }

  std::string Json(int replica, const char* d) {
    auto got = stores_[replica]->Get("c", d);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return !got.ok() ? "<error>" : got->has_value() ? **got : "<absent>";
  }

  SecureBytes key_ = testing::RandomKey();
  DocumentCipher cipher_ = std::move(DocumentCipher::Create(key_)).value();
  std::unique_ptr<TempDir> dirs_[4];
  std::unique_ptr<SqliteDocumentStore> stores_[4];
  int old_scheme_states_ = 0;
};

TEST_F(EncryptedReplicationPropertyTest, KeyedReplicasConvergeAndTheRelayNeverSeesAName) {
  constexpr int kSeeds = 8;
  constexpr int kSteps = 60;
  int total_live = 0;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    for (auto& d : dirs_) d = std::make_unique<TempDir>();
    Open();
    Rng rng(static_cast<uint64_t>(seed));
    int writes = 0;
    for (int step = 0; step < kSteps; ++step) {
      if (rng.Chance(50)) {  // a local write on a keyed replica
        auto& s = *stores_[rng.Pick(kKeyed)];
        const char* d = kDocs[rng.Pick(std::size(kDocs))];
        if (rng.Chance(85)) {
          ASSERT_TRUE(testing::PutSync(s, "c", d, rng.Object(0)).ok());
        } else {
          ASSERT_TRUE(testing::DeleteSync(s, "c", d).ok());
        }
        ++writes;
      } else {  // a merge: keyed ↔ keyed, keyed ↔ relay, or an old-scheme relay → keyed
        const int src = static_cast<int>(rng.Pick(4));
        int dst = static_cast<int>(rng.Pick(3));
        if (dst >= src) ++dst;
        const bool old_scheme = src != kRelay && dst != kRelay && rng.Chance(25);
        ASSERT_NO_FATAL_FAILURE(Merge(src, dst, old_scheme));
      }
    }
    ASSERT_NO_FATAL_FAILURE(ExpectRelayBlind("during the run"));
    // Full sync, the relay in the middle: everything reaches it, then it reaches everyone.
    for (int round = 0; round < 2; ++round) {
      for (int src = 0; src < kKeyed; ++src) ASSERT_NO_FATAL_FAILURE(Merge(src, kRelay));
      for (int dst = 0; dst < kKeyed; ++dst) ASSERT_NO_FATAL_FAILURE(Merge(kRelay, dst));
    }
    ASSERT_GT(writes, 0);
    int live = 0;
    for (const char* d : kDocs) {
      const std::string want = Json(0, d);
      if (want != "<absent>") ++live;
      for (int r = 1; r < kKeyed; ++r) EXPECT_EQ(Json(r, d), want) << d << " on replica " << r;
      // The relay holds all of it: a key holder decrypts its state to the same JSON.
      for (const RemoteChange& c : FeedChanges(*stores_[kRelay])) {
        if (c.doc_id != d) continue;
        auto plain = cipher_.Decrypt("c", d, *crdt::Document::Decode(c.state));
        ASSERT_TRUE(plain.ok()) << plain.status().ToString();
        EXPECT_EQ(plain->IsLive() ? plain->Render() : "<absent>", want) << d << " via the relay";
      }
    }
    // Keyed stores hold no clear name, even after old-scheme merges.
    for (int r = 0; r < kKeyed; ++r) {
      for (const RemoteChange& c : FeedChanges(*stores_[r])) {
        EXPECT_TRUE(DocumentCipher::IsNormalized(*crdt::Document::Decode(c.state)))
            << c.doc_id << " on replica " << r;
      }
    }
    ASSERT_NO_FATAL_FAILURE(ExpectRelayBlind("after the sync"));
    for (auto& s : stores_) s.reset();
    const std::string relay_files = testing::ReadFileBytes(dirs_[kRelay]->path() + "/peat.db") +
                                    testing::ReadFileBytes(dirs_[kRelay]->path() + "/peat.db-wal");
    EXPECT_FALSE(relay_files.empty());
    EXPECT_EQ(relay_files.find(kMarker), std::string::npos) << "a field name in the relay's files";
    total_live += live;
  }
  EXPECT_GT(total_live, 0);  // the histories did not all end with every document deleted
  EXPECT_GT(old_scheme_states_, 0);
}

}  // namespace
}  // namespace peat::store

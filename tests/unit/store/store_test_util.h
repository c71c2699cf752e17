// Helpers shared by the store unit tests: a temporary data dir, an injectable clock, synchronous
// wrappers around the asynchronous writes (and merges), the change feed as mergeable changes, a
// random encryption key, the old scheme's stored form of a state, and a listener that records
// events.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "crdt/document.h"
#include "crypto/random.h"
#include "store/document_cipher.h"
#include "store/sqlite_document_store.h"
#include "temp_dir.h"

namespace peat::store::testing {

// Store tests name their temporary directories peat-store-*.
class TempDir : public peat::testing::TempDir {
 public:
  TempDir() : peat::testing::TempDir("peat-store") {}
};

// A wall clock tests move by hand.
class FakeClock {
 public:
  explicit FakeClock(uint64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  uint64_t Now() const { return now_.load(); }
  void Advance(uint64_t ms) { now_.fetch_add(ms); }
  std::function<uint64_t()> fn() {
    return [this] { return now_.load(); };
  }

 private:
  std::atomic<uint64_t> now_;
};

inline StoreOptions BaseOptions(const std::string& dir) {
  StoreOptions o;
  o.data_dir = dir;
  o.node_tag = 0x1234;
  o.gc_interval = std::chrono::milliseconds(0);  // tests run GC explicitly
  return o;
}

inline std::unique_ptr<SqliteDocumentStore> OpenOrDie(const StoreOptions& o) {
  auto s = SqliteDocumentStore::Open(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

inline Status Wait(const std::function<void(WriteDone)>& op) {
  std::promise<Status> p;
  auto f = p.get_future();
  op([&p](Status s) { p.set_value(std::move(s)); });
  return f.get();
}

inline Status PutSync(DocumentStore& s, const std::string& c, const std::string& d,
                      const std::string& json) {
  return Wait([&](DocumentStore::Done done) { s.Put(c, d, json, std::move(done)); });
}
inline Status MergePutSync(DocumentStore& s, const std::string& c, const std::string& d,
                           const std::string& json) {
  return Wait([&](DocumentStore::Done done) { s.MergePut(c, d, json, std::move(done)); });
}
inline Status DeleteSync(DocumentStore& s, const std::string& c, const std::string& d) {
  return Wait([&](DocumentStore::Done done) { s.Delete(c, d, std::move(done)); });
}
inline Status SetConfigSync(DocumentStore& s, CollectionConfig c) {
  return Wait([&](DocumentStore::Done done) { s.SetCollectionConfig(c, std::move(done)); });
}
inline Status GcSync(SqliteDocumentStore& s) {
  return Wait([&](WriteDone done) { s.CollectGarbage(std::move(done)); });
}
inline Status MergeSync(ReplicationLog& s, const std::string& peer,
                        std::vector<RemoteChange> changes, ReplicationCheckpoint checkpoint = {}) {
  return Wait([&](WriteDone done) { s.MergeRemote(peer, changes, checkpoint, std::move(done)); });
}

inline RemoteChange Change(const std::string& c, const std::string& d, std::string state) {
  return RemoteChange{c, d, std::move(state)};
}

inline FeedPage FeedOrDie(ReplicationLog& s, uint64_t after = 0, size_t max_entries = 1000,
                          size_t max_bytes = 1 << 30, const std::string& skip = "") {
  auto page = s.ReadFeed(FeedQuery{after, UINT64_MAX, max_entries, max_bytes, skip, {}, false});
  EXPECT_TRUE(page.ok()) << page.status().ToString();
  return page.ok() ? std::move(page).value() : FeedPage();
}

// Everything in a store's feed as changes another store can merge.
inline std::vector<RemoteChange> FeedChanges(ReplicationLog& s, const std::string& skip = "") {
  std::vector<RemoteChange> out;
  for (FeedEntry& e : FeedOrDie(s, 0, 100000, 1 << 30, skip).entries) {
    out.push_back(Change(e.collection, e.doc_id, std::move(e.state)));
  }
  return out;
}

// The stored state of one document, as the store's change feed carries it.
inline crdt::Document RawFeedState(ReplicationLog& s, const std::string& c, const std::string& d) {
  for (const FeedEntry& e : FeedOrDie(s).entries) {
    if (e.collection == c && e.doc_id == d) {
      auto doc = crdt::Document::Decode(e.state);
      EXPECT_TRUE(doc.ok()) << doc.status().ToString();
      return doc.ok() ? std::move(doc).value() : crdt::Document();
    }
  }
  ADD_FAILURE() << "no feed entry for " << c << "/" << d;
  return crdt::Document();
}

// The stored form of `plain` under the scheme before field names were encrypted: clear paths,
// "ENC:v1:" values bound to them (what a store or a relay of that scheme holds).
inline crdt::Document LegacyForm(const DocumentCipher& cipher, std::string_view collection,
                                 std::string_view doc_id, const crdt::Document& plain) {
  crdt::Document out;
  out.MergeDelete(plain.deletes());
  for (const auto& [path, reg] : plain.registers()) {
    crdt::Register r = reg;
    if (r.kind != crdt::RegisterKind::kTombstone && r.kind != crdt::RegisterKind::kObject) {
      auto sealed = cipher.values().Seal(ValueCipher::Aad(collection, doc_id, path), r);
      EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
      r.kind = crdt::RegisterKind::kString;
      r.value = sealed.ok() ? *sealed : std::string();
    }
    out.MergeRegister(path, std::move(r));
  }
  return out;
}

// A random 32-byte --encryption-key.
inline SecureBytes RandomKey() {
  SecureBytes k(32);
  EXPECT_TRUE(RandomBytes(k.span()).ok());
  return k;
}

// Get that must succeed; returns the JSON or "<absent>".
inline std::string GetOrDie(DocumentStore& s, const std::string& c, const std::string& d) {
  auto r = s.Get(c, d);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return "<error>";
  return r->has_value() ? **r : "<absent>";
}

class RecordingListener : public ChangeListener {
 public:
  void OnChange(const ChangeEvent& e) override {
    std::lock_guard lock(mu_);
    events_.push_back(e);
    cv_.notify_all();
  }
  std::vector<ChangeEvent> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return events_.size() >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ChangeEvent> events_;
};

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Waits until `pred` holds (polling), up to `timeout`.
template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

}  // namespace peat::store::testing

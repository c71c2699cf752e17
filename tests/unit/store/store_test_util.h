// Helpers shared by the store unit tests: a temporary data dir, an injectable clock, synchronous
// wrappers around the asynchronous writes, and a listener that records events.
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

#include "store/sqlite_document_store.h"

namespace peat::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "peat-store-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
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

inline Status Wait(const std::function<void(DocumentStore::Done)>& op) {
  std::promise<Status> p;
  auto f = p.get_future();
  op([&p](Status s) { p.set_value(std::move(s)); });
  return f.get();
}

inline Status PutSync(DocumentStore& s, const std::string& c, const std::string& d,
                      const std::string& json) {
  return Wait([&](DocumentStore::Done done) { s.Put(c, d, json, std::move(done)); });
}
inline Status DeleteSync(DocumentStore& s, const std::string& c, const std::string& d) {
  return Wait([&](DocumentStore::Done done) { s.Delete(c, d, std::move(done)); });
}
inline Status SetConfigSync(DocumentStore& s, CollectionConfig c) {
  return Wait([&](DocumentStore::Done done) { s.SetCollectionConfig(c, std::move(done)); });
}
inline Status GcSync(SqliteDocumentStore& s) {
  return Wait([&](DocumentStore::Done done) { s.CollectGarbage(std::move(done)); });
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

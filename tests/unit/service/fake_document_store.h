// FakeDocumentStore: an in-memory, thread-safe store::DocumentStore for service tests.
//
// Behaviour (a simplified model of the real store's contract, store/document_store.h):
// - Put stores the JSON text as given (no canonicalisation) after checking, with nlohmann::json,
//   that it parses and is an object (else INVALID_ARGUMENT). A Put that does not change the
//   document (same text, doc live) commits nothing: no new seq, no event.
// - MergePut (a patch) sets the top-level keys of the JSON object on the parsed current document
//   (or on {} when missing or deleted) and stores nlohmann's dump of the result. A patch whose
//   keys all already hold those values (doc live) commits nothing.
// - Delete tombstones a live doc (new seq, DELETE event); a missing or deleted doc is a no-op OK.
//   Delete in an IMMUTABLE collection fails FAILED_PRECONDITION.
// - Writes are serialised (one at a time, like the real writer thread): commit, then the
//   listeners are called in commit order (holding the listener lock, as the real store does),
//   then `done`. With Mode::kWriterThread every write is queued to a dedicated writer thread and
//   listeners/done run there; with Mode::kInline they run on the calling thread before Put returns.
// - Reads never wait for writers. Scan visits (collection, doc_id) in order. By default it reads
//   one consistent snapshot, taken when it reads its first document (like the SQLite store's
//   read transaction): changes committed while it runs are not in it. With
//   SetScanIsolation(ScanIsolation::kLive) it instead reads each document when it reaches it, so
//   changes committed during the scan are seen if the scan has not passed them yet.
//
// Test hooks:
// - FailNextWrite(status): the next write fails with `status` and changes nothing.
// - FailNextRead(status): the next Get/List/Scan/GetCollectionConfig/ListCollectionConfigs fails.
// - PauseNextScanAt(n): the next Scan stops before delivering its (n+1)-th document (after n
//   documents) until ResumeScan(); WaitForScanPaused() waits for that point. A pause at 0 comes
//   before the snapshot is taken, so writes committed during it are in the snapshot; writes
//   committed during a later pause are seen only with kLive isolation.
// - HoldNotifications(true): writes commit (and are visible to reads, and `done` runs) but listener
//   calls are queued; ReleaseNotifications(n) delivers the oldest n queued ones, in commit order
//   (this models the real store's group commit, where several commits become visible before their
//   listeners run). HoldNotifications(false) delivers the rest and stops holding.
// - Shutdown(): resumes any paused scan and disables further pauses (call before joining pools).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/document_store.h"

namespace peat::store::testing {

class FakeDocumentStore : public DocumentStore {
 public:
  enum class Mode { kInline, kWriterThread };
  enum class ScanIsolation { kSnapshot, kLive };

  explicit FakeDocumentStore(Mode mode = Mode::kInline) : mode_(mode) {
    if (mode_ == Mode::kWriterThread) writer_ = std::thread([this] { WriterLoop(); });
  }
  ~FakeDocumentStore() override {
    Shutdown();
    if (writer_.joinable()) {
      {
        std::lock_guard lock(queue_mu_);
        stop_writer_ = true;
      }
      queue_cv_.notify_all();
      writer_.join();
    }
  }
  FakeDocumentStore(const FakeDocumentStore&) = delete;
  FakeDocumentStore& operator=(const FakeDocumentStore&) = delete;

  // --- DocumentStore: writes ---
  void Put(std::string collection, std::string doc_id, std::string json, Done done) override {
    WriteDocument(std::move(collection), std::move(doc_id), std::move(json), /*patch=*/false,
                  std::move(done));
  }

  void MergePut(std::string collection, std::string doc_id, std::string json, Done done) override {
    WriteDocument(std::move(collection), std::move(doc_id), std::move(json), /*patch=*/true,
                  std::move(done));
  }

  void Delete(std::string collection, std::string doc_id, Done done) override {
    Submit([this, collection = std::move(collection), doc_id = std::move(doc_id),
            done = std::move(done)]() mutable {
      ApplyWrite(
          [&]() -> std::pair<Status, std::optional<ChangeEvent>> {
            auto cfg = configs_.find(collection);
            if (cfg != configs_.end() &&
                cfg->second.deletion_policy == DeletionPolicy::kImmutable) {
              return {FailedPreconditionError("collection " + collection + " is IMMUTABLE"),
                      std::nullopt};
            }
            auto it = docs_.find({collection, doc_id});
            if (it == docs_.end() || it->second.deleted) return {Status::Ok(), std::nullopt};
            it->second.deleted = true;
            it->second.json.clear();
            it->second.seq = ++seq_;
            return {Status::Ok(), ChangeEvent{it->second.seq, collection, doc_id, true, ""}};
          },
          std::move(done));
    });
  }

  void SetCollectionConfig(CollectionConfig config, Done done) override {
    Submit([this, config = std::move(config), done = std::move(done)]() mutable {
      ApplyWrite(
          [&]() -> std::pair<Status, std::optional<ChangeEvent>> {
            configs_[config.collection] = config;
            return {Status::Ok(), std::nullopt};
          },
          std::move(done));
    });
  }

  // --- DocumentStore: reads ---
  StatusOr<std::optional<std::string>> Get(const std::string& collection,
                                           const std::string& doc_id) override {
    std::lock_guard lock(mu_);
    if (auto st = TakeReadFailure()) return *st;
    auto it = docs_.find({collection, doc_id});
    if (it == docs_.end() || it->second.deleted) return std::optional<std::string>();
    return std::optional<std::string>(it->second.json);
  }

  StatusOr<std::vector<std::string>> List(const std::string& collection) override {
    std::lock_guard lock(mu_);
    if (auto st = TakeReadFailure()) return *st;
    std::vector<std::string> ids;
    for (auto it = docs_.lower_bound({collection, ""});
         it != docs_.end() && it->first.first == collection; ++it) {
      if (!it->second.deleted) ids.push_back(it->first.second);
    }
    return ids;
  }

  StatusOr<std::vector<CollectionCount>> CountByCollection() override {
    std::lock_guard lock(mu_);
    if (auto st = TakeReadFailure()) return *st;
    std::vector<CollectionCount> counts;
    for (const auto& [key, doc] : docs_) {
      if (doc.deleted) continue;
      if (counts.empty() || counts.back().collection != key.first) counts.push_back({key.first, 0});
      ++counts.back().documents;
    }
    return counts;
  }

  Status Scan(const std::vector<std::string>& collections,
              const std::function<bool(const ChangeEvent&)>& fn) override {
    const std::set<std::string> wanted(collections.begin(), collections.end());
    std::optional<std::size_t> pause_at;
    {
      std::lock_guard lock(mu_);
      ++scans_started_;
      if (auto st = TakeReadFailure()) {
        ++scans_finished_;
        cv_.notify_all();
        return *st;
      }
      pause_at = std::exchange(pause_next_scan_at_, std::nullopt);
    }
    auto matches = [&wanted](const std::pair<const Key, Doc>& entry) {
      return !entry.second.deleted && (wanted.empty() || wanted.count(entry.first.first));
    };
    std::optional<std::vector<ChangeEvent>> snapshot;  // kSnapshot: taken at the first read
    std::optional<Key> last;                           // kLive: position of the scan
    std::size_t delivered = 0;
    for (;;) {
      ChangeEvent event;
      {
        std::unique_lock lock(mu_);
        if (pause_at && *pause_at == delivered) {
          pause_at.reset();
          scan_paused_ = true;
          cv_.notify_all();
          cv_.wait(lock, [this] { return resume_scan_ || shutdown_; });
          resume_scan_ = false;
          scan_paused_ = false;
        }
        if (scan_isolation_ == ScanIsolation::kSnapshot) {
          if (!snapshot) {
            snapshot.emplace();
            for (const auto& entry : docs_) {
              if (!matches(entry)) continue;
              snapshot->push_back(ChangeEvent{entry.second.seq, entry.first.first,
                                              entry.first.second, false, entry.second.json});
            }
          }
          if (delivered >= snapshot->size()) break;
          event = (*snapshot)[delivered];
        } else {
          auto it = last ? docs_.upper_bound(*last) : docs_.begin();
          while (it != docs_.end() && !matches(*it)) ++it;
          if (it == docs_.end()) break;
          last = it->first;
          event = ChangeEvent{it->second.seq, it->first.first, it->first.second, false,
                              it->second.json};
        }
      }
      if (!fn(event)) break;
      ++delivered;
    }
    std::lock_guard lock(mu_);
    ++scans_finished_;
    cv_.notify_all();
    return Status::Ok();
  }

  StatusOr<std::optional<CollectionConfig>> GetCollectionConfig(
      const std::string& collection) override {
    std::lock_guard lock(mu_);
    if (auto st = TakeReadFailure()) return *st;
    auto it = configs_.find(collection);
    if (it == configs_.end()) return std::optional<CollectionConfig>();
    return std::optional<CollectionConfig>(it->second);
  }

  StatusOr<std::vector<CollectionConfig>> ListCollectionConfigs() override {
    std::lock_guard lock(mu_);
    if (auto st = TakeReadFailure()) return *st;
    std::vector<CollectionConfig> out;
    for (const auto& [name, c] : configs_) out.push_back(c);
    return out;
  }

  // --- DocumentStore: listeners ---
  uint64_t AddListener(std::shared_ptr<ChangeListener> listener) override {
    std::lock_guard lock(listeners_mu_);
    uint64_t id = ++next_listener_id_;
    listeners_.emplace(id, std::move(listener));
    return id;
  }
  void RemoveListener(uint64_t id) override {
    std::shared_ptr<ChangeListener> removed;  // released outside the lock
    std::lock_guard lock(listeners_mu_);
    auto it = listeners_.find(id);
    if (it == listeners_.end()) return;
    removed = std::move(it->second);
    listeners_.erase(it);
  }

  uint64_t NotifiedSeq() const override { return notified_seq_.load(); }

  // --- Test hooks ---
  void FailNextWrite(Status status) {
    std::lock_guard lock(mu_);
    fail_next_write_ = std::move(status);
  }
  void FailNextRead(Status status) {
    std::lock_guard lock(mu_);
    fail_next_read_ = std::move(status);
  }

  void SetScanIsolation(ScanIsolation isolation) {
    std::lock_guard lock(mu_);
    scan_isolation_ = isolation;
  }

  void PauseNextScanAt(std::size_t documents) {
    std::lock_guard lock(mu_);
    pause_next_scan_at_ = documents;
  }
  bool WaitForScanPaused(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return scan_paused_; });
  }
  void ResumeScan() {
    std::lock_guard lock(mu_);
    resume_scan_ = true;
    cv_.notify_all();
  }
  // Waits until `n` scans (since construction) have returned.
  bool WaitForScansFinished(int n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this, n] { return scans_finished_ >= n; });
  }
  int scans_started() const {
    std::lock_guard lock(mu_);
    return scans_started_;
  }

  void HoldNotifications(bool hold) {
    std::lock_guard write_lock(write_mu_);
    std::deque<ChangeEvent> release;
    {
      std::lock_guard lock(mu_);
      hold_notifications_ = hold;
      if (!hold) release.swap(held_);
    }
    for (const auto& e : release) CallListeners(e);
  }
  // Delivers the oldest `n` held notifications; returns how many were delivered.
  std::size_t ReleaseNotifications(std::size_t n) {
    std::lock_guard write_lock(write_mu_);
    std::deque<ChangeEvent> release;
    {
      std::lock_guard lock(mu_);
      while (n-- > 0 && !held_.empty()) {
        release.push_back(std::move(held_.front()));
        held_.pop_front();
      }
    }
    for (const auto& e : release) CallListeners(e);
    return release.size();
  }
  std::size_t held_notifications() const {
    std::lock_guard lock(mu_);
    return held_.size();
  }

  void Shutdown() {
    std::lock_guard lock(mu_);
    shutdown_ = true;
    pause_next_scan_at_.reset();
    cv_.notify_all();
  }

  std::size_t listener_count() const {
    std::lock_guard lock(listeners_mu_);
    return listeners_.size();
  }
  // The stored state of a document (including tombstones); nullopt if never written.
  struct DocState {
    std::string json;
    bool deleted = false;
    uint64_t seq = 0;
  };
  std::optional<DocState> Inspect(const std::string& collection, const std::string& doc_id) const {
    std::lock_guard lock(mu_);
    auto it = docs_.find({collection, doc_id});
    if (it == docs_.end()) return std::nullopt;
    return DocState{it->second.json, it->second.deleted, it->second.seq};
  }
  std::optional<CollectionConfig> InspectConfig(const std::string& collection) const {
    std::lock_guard lock(mu_);
    auto it = configs_.find(collection);
    if (it == configs_.end()) return std::nullopt;
    return it->second;
  }
  int write_count() const {
    std::lock_guard lock(mu_);
    return writes_;
  }

  // Convenience for tests: performs the write and waits for its completion.
  Status PutAndWait(std::string collection, std::string doc_id, std::string json) {
    return Wait([&](Done done) {
      Put(std::move(collection), std::move(doc_id), std::move(json), std::move(done));
    });
  }
  Status DeleteAndWait(std::string collection, std::string doc_id) {
    return Wait(
        [&](Done done) { Delete(std::move(collection), std::move(doc_id), std::move(done)); });
  }

 private:
  using Key = std::pair<std::string, std::string>;
  struct Doc {
    std::string json;
    bool deleted = false;
    uint64_t seq = 0;
  };

  Status Wait(const std::function<void(Done)>& start) {
    std::mutex m;
    std::condition_variable cv;
    std::optional<Status> result;
    start([&](Status st) {
      std::lock_guard lock(m);
      result = std::move(st);
      cv.notify_all();
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return result.has_value(); });
    return *result;
  }

  void Submit(std::function<void()> op) {
    if (mode_ == Mode::kInline) return op();
    {
      std::lock_guard lock(queue_mu_);
      queue_.push_back(std::move(op));
    }
    queue_cv_.notify_all();
  }

  void WriterLoop() {
    for (;;) {
      std::function<void()> op;
      {
        std::unique_lock lock(queue_mu_);
        queue_cv_.wait(lock, [this] { return stop_writer_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        op = std::move(queue_.front());
        queue_.pop_front();
      }
      op();
    }
  }

  // Commits one write (`apply` runs under mu_), notifies listeners in commit order, then
  // completes it. Writes are serialised by write_mu_, like the real store's single writer.
  // Put (`patch` false: the JSON text is stored as given) and MergePut (`patch`: the top-level
  // keys set on the current document, or on {}, stored as nlohmann's dump).
  void WriteDocument(std::string collection, std::string doc_id, std::string json, bool patch,
                     Done done) {
    Submit([this, collection = std::move(collection), doc_id = std::move(doc_id),
            json = std::move(json), patch, done = std::move(done)]() mutable {
      ApplyWrite(
          [&]() -> std::pair<Status, std::optional<ChangeEvent>> {
            auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
            if (parsed.is_discarded()) {
              return {InvalidArgumentError("json_data is not valid JSON"), std::nullopt};
            }
            if (!parsed.is_object()) {
              return {InvalidArgumentError("json_data must be a JSON object"), std::nullopt};
            }
            Doc& d = docs_[{collection, doc_id}];
            const bool live = d.seq != 0 && !d.deleted;
            std::string text = json;
            if (patch) {
              const nlohmann::json current =
                  live ? nlohmann::json::parse(d.json) : nlohmann::json::object();
              nlohmann::json merged = current;
              merged.update(parsed);  // top-level keys replaced, values not merged
              if (live && merged == current) return {Status::Ok(), std::nullopt};
              text = merged.dump();
            }
            if (live && d.json == text) return {Status::Ok(), std::nullopt};
            d.json = text;
            d.deleted = false;
            d.seq = ++seq_;
            return {Status::Ok(), ChangeEvent{d.seq, collection, doc_id, false, std::move(text)}};
          },
          std::move(done));
    });
  }

  void ApplyWrite(const std::function<std::pair<Status, std::optional<ChangeEvent>>()>& apply,
                  Done done) {
    std::unique_lock write_lock(write_mu_);
    std::pair<Status, std::optional<ChangeEvent>> result;
    bool notify_now = false;
    {
      std::lock_guard lock(mu_);
      ++writes_;
      if (fail_next_write_) {
        result.first = std::move(*fail_next_write_);
        fail_next_write_.reset();
      } else {
        result = apply();
      }
      if (result.second) {
        if (hold_notifications_) {
          held_.push_back(*result.second);
        } else {
          notify_now = true;
        }
      }
    }
    if (notify_now) CallListeners(*result.second);
    write_lock.unlock();
    if (done) done(std::move(result.first));
  }

  void CallListeners(const ChangeEvent& event) {
    std::lock_guard lock(listeners_mu_);
    notified_seq_.store(std::max(notified_seq_.load(), event.seq));
    for (const auto& [id, l] : listeners_) l->OnChange(event);
  }

  // Caller holds mu_.
  std::optional<Status> TakeReadFailure() {
    if (!fail_next_read_) return std::nullopt;
    return std::exchange(fail_next_read_, std::nullopt);
  }

  const Mode mode_;

  std::mutex write_mu_;  // serialises commit + notify (the "writer")

  mutable std::mutex mu_;  // documents, configs, seq, hooks
  std::condition_variable cv_;
  std::map<Key, Doc> docs_;
  std::map<std::string, CollectionConfig> configs_;
  uint64_t seq_ = 0;
  int writes_ = 0;
  std::optional<Status> fail_next_write_;
  std::optional<Status> fail_next_read_;
  ScanIsolation scan_isolation_ = ScanIsolation::kSnapshot;
  std::optional<std::size_t> pause_next_scan_at_;
  bool scan_paused_ = false;
  bool resume_scan_ = false;
  bool shutdown_ = false;
  int scans_started_ = 0;
  int scans_finished_ = 0;
  bool hold_notifications_ = false;
  std::deque<ChangeEvent> held_;

  mutable std::mutex listeners_mu_;
  std::map<uint64_t, std::shared_ptr<ChangeListener>> listeners_;
  std::atomic<uint64_t> notified_seq_{0};
  uint64_t next_listener_id_ = 0;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_writer_ = false;
  std::thread writer_;
};

inline std::ostream& operator<<(std::ostream& os, FakeDocumentStore::ScanIsolation isolation) {
  return os << (isolation == FakeDocumentStore::ScanIsolation::kSnapshot ? "kSnapshot" : "kLive");
}

}  // namespace peat::store::testing

// DocumentCache: a bounded LRU of hot documents shared by the readers and the writer.
//
// An entry holds a document's stored state (the encoded crdt::Document, ciphertext when
// encrypted), whether it is live, its seq, and its rendered decrypted JSON. The cache is bounded
// both in entries and in (estimated) bytes, so memory does not grow with the store size; entries
// larger than an eighth of the byte budget are never cached.
//
// Consistency with the database: the writer Publish()es every committed change (insert or
// overwrite, or erase for a purged row) and each Publish bumps a generation. A reader that misses
// notes generation() before it opens its read transaction and fills the cache with
// InsertIfUnchanged(), which inserts only if no Publish happened since — so a reader can never
// put a state older than a committed one back into the cache. The writer may therefore trust a
// cache hit to be the latest committed state.
//
// Thread-safe (one mutex; held only for map/list updates).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace peat::store {

struct CachedDocument {
  std::string state;  // crdt::Document::Encode() as stored
  bool live = false;
  uint64_t seq = 0;
  std::string json;  // canonical decrypted JSON when live; empty otherwise
};

class DocumentCache {
 public:
  DocumentCache(size_t max_entries, size_t max_bytes);

  static std::string Key(std::string_view collection, std::string_view doc_id);

  // The cached entry (and marks it most recently used), or null.
  std::shared_ptr<const CachedDocument> Lookup(const std::string& key);
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Reader fill after a miss; ignored if anything was published since `generation`.
  void InsertIfUnchanged(uint64_t generation, const std::string& key,
                         std::shared_ptr<const CachedDocument> doc);
  // Writer, after a commit: sets (or erases, for null) every entry of one group at once.
  void Publish(std::vector<std::pair<std::string, std::shared_ptr<const CachedDocument>>> updates);

  size_t entries() const;
  size_t bytes() const;
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  static size_t EstimateBytes(const std::string& key, const CachedDocument& doc);

 private:
  struct Node {
    std::string key;
    std::shared_ptr<const CachedDocument> doc;
    size_t bytes;
  };
  void SetLocked(const std::string& key, std::shared_ptr<const CachedDocument> doc);
  void EraseLocked(const std::string& key);
  void EvictLocked();

  const size_t max_entries_;
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::list<Node> lru_;  // front = most recently used
  std::unordered_map<std::string, std::list<Node>::iterator> index_;
  size_t bytes_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace peat::store

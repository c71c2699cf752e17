#include "store/document_cache.h"

namespace peat::store {

DocumentCache::DocumentCache(size_t max_entries, size_t max_bytes)
    : max_entries_(max_entries), max_bytes_(max_bytes) {}

std::string DocumentCache::Key(std::string_view collection, std::string_view doc_id) {
  std::string k;
  k.reserve(collection.size() + 1 + doc_id.size());
  k.append(collection);
  k.push_back('\0');  // collections never contain NUL, so the key is unambiguous
  k.append(doc_id);
  return k;
}

size_t DocumentCache::EstimateBytes(const std::string& key, const CachedDocument& doc) {
  // Key stored twice (list node + map), the strings, and node/map/control-block overhead.
  return 2 * key.size() + doc.state.size() + doc.json.size() + 192;
}

std::shared_ptr<const CachedDocument> DocumentCache::Lookup(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second->doc;
}

void DocumentCache::InsertIfUnchanged(uint64_t generation, const std::string& key,
                                      std::shared_ptr<const CachedDocument> doc) {
  std::lock_guard lock(mu_);
  if (generation_.load(std::memory_order_relaxed) != generation) return;
  SetLocked(key, std::move(doc));
}

void DocumentCache::Publish(
    std::vector<std::pair<std::string, std::shared_ptr<const CachedDocument>>> updates) {
  std::lock_guard lock(mu_);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  for (auto& [key, doc] : updates) {
    if (doc) {
      SetLocked(key, std::move(doc));
    } else {
      EraseLocked(key);
    }
  }
}

void DocumentCache::SetLocked(const std::string& key, std::shared_ptr<const CachedDocument> doc) {
  const size_t b = EstimateBytes(key, *doc);
  if (max_entries_ == 0 || b > max_bytes_ / 8) {
    EraseLocked(key);  // too big to cache: make sure no stale copy stays behind
    return;
  }
  auto it = index_.find(key);
  if (it != index_.end()) {
    bytes_ -= it->second->bytes;
    it->second->doc = std::move(doc);
    it->second->bytes = b;
    lru_.splice(lru_.begin(), lru_, it->second);
  } else {
    lru_.push_front(Node{key, std::move(doc), b});
    index_.emplace(key, lru_.begin());
  }
  bytes_ += b;
  EvictLocked();
}

void DocumentCache::EraseLocked(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  bytes_ -= it->second->bytes;
  lru_.erase(it->second);
  index_.erase(it);
}

void DocumentCache::EvictLocked() {
  while (!lru_.empty() && (index_.size() > max_entries_ || bytes_ > max_bytes_)) {
    auto& last = lru_.back();
    bytes_ -= last.bytes;
    index_.erase(last.key);
    lru_.pop_back();
  }
}

size_t DocumentCache::entries() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

size_t DocumentCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

}  // namespace peat::store

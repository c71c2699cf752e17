#include "mesh/pending_states.h"

#include <utility>

namespace peat::mesh {

namespace {
void AppendField(std::string* out, std::string_view field) {
  out->append(std::to_string(field.size()));
  out->push_back(':');
  out->append(field);
}
}  // namespace

std::string PendingStates::Key(std::string_view collection, std::string_view doc_id,
                               std::string_view digest) {
  std::string key;
  key.reserve(collection.size() + doc_id.size() + digest.size() + 12);
  AppendField(&key, collection);
  AppendField(&key, doc_id);
  AppendField(&key, digest);
  return key;
}

bool PendingStates::Add(const std::string& key, Owner owner, bool expected) {
  return entries_.try_emplace(key, Entry{owner, expected, {}}).second;
}

bool PendingStates::Claim(const std::string& key, Owner owner) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.owner != owner || !it->second.expected) return false;
  it->second.expected = false;
  return true;
}

void PendingStates::Expire(const std::string& key, Owner owner) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.owner != owner || !it->second.expected) return;
  Resolve(key, false);
}

bool PendingStates::Watch(const std::string& key, Watcher watcher) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  it->second.watchers.push_back(std::move(watcher));
  return true;
}

void PendingStates::Resolve(const std::string& key, bool held) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  std::vector<Watcher> watchers = std::move(it->second.watchers);
  entries_.erase(it);
  if (held && recent_.insert(key).second) {
    recent_order_.push_back(key);
    if (recent_order_.size() > kRecentlyHeld) {
      recent_.erase(recent_order_.front());
      recent_order_.pop_front();
    }
  }
  for (auto& w : watchers) w(held);
}

void PendingStates::DropOwner(Owner owner) {
  std::vector<std::string> keys;
  for (const auto& [key, entry] : entries_) {
    if (entry.owner == owner) keys.push_back(key);
  }
  for (const auto& key : keys) Resolve(key, false);
}

}  // namespace peat::mesh

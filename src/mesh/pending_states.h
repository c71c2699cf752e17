// PendingStates: the document states this node is about to hold, so that an offer of the same
// state from a second peer waits for the first transfer instead of starting another (relay
// once). A state is pending while a received batch holding it is being merged, or while it was
// asked of a peer (ChangeWant) and its reply is not merged yet. Keyed by (collection, doc_id,
// StateDigest); each key has one owner (the session that brings it) and any number of watchers.
//
// An owner may also be only expected to bring a key (Add with expected = true: another session's
// offer said the state came from that owner's peer); it Claims the key when its batch holding
// the state is submitted, and an expected key nobody claimed in time is Expired (fetch it).
//
// Resolution: the owner calls Resolve(key, true) once the state is merged (false when the merge
// failed), or DropOwner when its session ends or restarts its stream; each watcher is called
// once, with held = true (the node holds the state now) or false (nobody brings it: fetch it
// yourself). Watchers run after the key is removed, so they may Add or Watch again.
//
// Recently held: the last kRecentlyHeld keys that resolved held are remembered, so an offer of a
// state this node merged moments ago (the usual case: a relay tree brought it, the other
// neighbours offer it) is known held without reading the store. Our state of a document only
// grows by merging, so a state merged once stays covered.
//
// Threading: the mesh loop only (the sessions' thread). Memory: one entry per state in flight,
// bounded by the sessions' windows, plus the kRecentlyHeld keys.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace peat::mesh {

class PendingStates {
 public:
  using Owner = uint64_t;  // a session's serial
  using Watcher = std::function<void(bool held)>;
  static constexpr size_t kRecentlyHeld = 4096;

  static std::string Key(std::string_view collection, std::string_view doc_id,
                         std::string_view digest);

  // Registers `key` as brought by `owner` (or only expected from it); false (and nothing
  // changes) if it is pending already.
  bool Add(const std::string& key, Owner owner, bool expected = false);
  // `key` is expected from `owner`, which now brings it: true (and it is no longer expected).
  bool Claim(const std::string& key, Owner owner);
  // `key` is still only expected from `owner`: it fails (held = false). Otherwise nothing.
  void Expire(const std::string& key, Owner owner);
  bool Contains(const std::string& key) const { return entries_.count(key) != 0; }
  // Whether `key` is among the last kRecentlyHeld keys resolved held (see above).
  bool RecentlyHeld(const std::string& key) const { return recent_.count(key) != 0; }
  // Calls `watcher` once when `key` resolves; false (and `watcher` is dropped) if `key` is not
  // pending.
  bool Watch(const std::string& key, Watcher watcher);
  // The owner's transfer of `key` ended: held = merged. No-op for a key not pending.
  void Resolve(const std::string& key, bool held);
  // Every key `owner` brings fails (held = false).
  void DropOwner(Owner owner);

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Owner owner = 0;
    bool expected = false;
    std::vector<Watcher> watchers;
  };
  std::unordered_map<std::string, Entry> entries_;
  std::unordered_set<std::string> recent_;  // RecentlyHeld; recent_order_ is oldest first
  std::deque<std::string> recent_order_;
};

}  // namespace peat::mesh

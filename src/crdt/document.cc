#include "crdt/document.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "crdt/json_flatten.h"
#include "crdt/path.h"
#include "crdt/visible_leaves.h"

namespace peat::crdt {
namespace {

// A reused flattening buffer per thread; released after an unusually large document.
constexpr size_t kKeepFlatBytes = 256 * 1024;

// The deterministic winner when two replicas hold different registers at one path: the newer
// timestamp, and for equal timestamps (only possible with a misbehaving writer) the larger
// content, so every replica still picks the same one.
bool Wins(const Register& a, const Register& b) {
  if (a.ts != b.ts) return a.ts > b.ts;
  if (a.kind != b.kind) return a.kind > b.kind;
  return a.value > b.value;
}

// A timestamp for a local write that is newer than everything in the state: `ts` itself when it
// already is (the normal case: the caller's HLC observed the state), else just above the state.
Timestamp NewerThan(Timestamp ts, Timestamp state_max) {
  if (ts > state_max) return ts;
  Timestamp bumped{state_max.hlc + 1, ts.node_tag};
  if (bumped.hlc == 0) bumped.hlc = state_max.hlc;  // saturate instead of wrapping
  return bumped;
}

bool SameContent(const Register& r, RegisterKind kind, std::string_view value) {
  return r.kind == kind && EqualBytes(r.value, value);
}

}  // namespace

StatusOr<ChangeResult> Document::Put(std::string_view json, Timestamp ts, int max_depth) {
  thread_local FlatJson flat;
  Status parsed = FlattenJsonObject(json, max_depth, &flat);
  struct Release {  // keeps the per-thread buffer small after a large document
    ~Release() {
      if (flat.capacity_bytes() > kKeepFlatBytes) flat = FlatJson();
    }
  } release;
  if (!parsed.ok()) return InvalidArgumentError("json_data: " + parsed.message());

  const bool live = IsLive();
  if (live) {
    // Same content as what renders now: nothing to write (a re-put replicates nothing).
    size_t k = 0;
    bool same = true;
    ForEachVisibleLeaf(registers_, [&](std::string_view path, const Register& reg) {
      if (k == flat.size() || !EqualBytes(flat.path(k), path) ||
          !SameContent(reg, flat.kind(k), flat.value(k))) {
        same = false;
        return false;
      }
      ++k;
      return true;
    });
    if (same && k == flat.size()) return ChangeResult{};
  }

  const Timestamp at = NewerThan(ts, MaxTimestamp());
  // One ordered walk over the state and the new leaves: registers absent from the new content
  // become tombstones, new or different leaves are written at `at`, equal ones keep their clocks.
  auto it = registers_.begin();
  size_t k = 0;
  auto tombstone = [&](Register& reg) {
    reg.ts = at;
    reg.kind = RegisterKind::kTombstone;
    reg.value.clear();
  };
  while (it != registers_.end() || k < flat.size()) {
    int cmp;
    if (it == registers_.end()) {
      cmp = 1;
    } else if (k == flat.size()) {
      cmp = -1;
    } else {
      cmp = CompareBytes(it->first, flat.path(k));
    }
    if (cmp < 0) {  // only in the state
      if (!it->first.empty() && it->second.kind != RegisterKind::kTombstone) tombstone(it->second);
      ++it;
    } else if (cmp == 0) {
      Register& reg = it->second;
      if (!SameContent(reg, flat.kind(k), flat.value(k))) {
        reg.ts = at;
        reg.kind = flat.kind(k);
        reg.value.assign(flat.value(k));
      }
      ++it;
      ++k;
    } else {  // only in the new content
      it = registers_.emplace_hint(it, std::string(flat.path(k)),
                                   Register{at, flat.kind(k), std::string(flat.value(k))});
      ++it;
      ++k;
    }
  }
  // The root marker records the (re)creation. A live document can lack one (fields written
  // concurrently with a delete outlive it): give it one, or a Put of {} would leave nothing live.
  if (!live || registers_.begin()->first != "") {
    registers_[std::string()] = Register{at, RegisterKind::kObject, {}};
  }
  return ChangeResult{true, at};
}

ChangeResult Document::Delete(Timestamp ts) {
  if (!IsLive()) return ChangeResult{};
  const Timestamp at = NewerThan(ts, MaxTimestamp());
  delete_ts_ = at;
  registers_.clear();  // everything was older than `at`: dead
  return ChangeResult{true, at};
}

ChangeResult Document::Merge(const Document& other) {
  if (&other == this) return ChangeResult{};
  bool changed = false;
  if (other.delete_ts_ > delete_ts_) {
    delete_ts_ = other.delete_ts_;
    std::erase_if(registers_, [&](const auto& entry) { return entry.second.ts <= delete_ts_; });
    changed = true;
  }
  auto it = registers_.begin();
  for (const auto& [path, reg] : other.registers_) {
    if (reg.ts <= delete_ts_) continue;  // dead under the merged delete register
    while (it != registers_.end() && it->first < path) ++it;
    if (it != registers_.end() && it->first == path) {
      if (Wins(reg, it->second)) {
        it->second = reg;
        changed = true;
      }
      ++it;
    } else {
      it = std::next(registers_.emplace_hint(it, path, reg));
      changed = true;
    }
  }
  return ChangeResult{changed, {}};
}

bool Document::IsLive() const {
  return std::any_of(registers_.begin(), registers_.end(), [&](const auto& entry) {
    return entry.second.kind != RegisterKind::kTombstone && entry.second.ts > delete_ts_;
  });
}

Timestamp Document::MaxTimestamp() const {
  Timestamp max = delete_ts_;
  for (const auto& [path, reg] : registers_) max = std::max(max, reg.ts);
  return max;
}

size_t Document::PurgeOlderThan(Timestamp horizon) {
  return std::erase_if(registers_, [&](const auto& entry) {
    const Register& reg = entry.second;
    return reg.ts < horizon && (reg.kind == RegisterKind::kTombstone || reg.ts <= delete_ts_);
  });
}

}  // namespace peat::crdt

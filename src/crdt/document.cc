#include "crdt/document.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "crdt/json_flatten.h"
#include "crdt/path.h"
#include "crdt/visible_leaves.h"

namespace peat::crdt {
namespace {

using RegisterMap = std::map<std::string, Register>;

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

// Applies a Put's leaves, in path order, to a "clean" state: one where every live register
// renders (no scalar/array and no object marker with live descendants). There, writing nothing
// means exactly "same content as what renders", so one pass both diffs and applies.
class PutApplier final : public LeafSink {
 public:
  PutApplier(std::map<std::string, Register>* regs, Timestamp ts, Timestamp state_max)
      : regs_(regs), it_(regs->begin()), ts_(ts), state_max_(state_max) {}

  void Leaf(std::string_view path, RegisterKind kind, std::string_view value) override {
    while (it_ != regs_->end() && CompareBytes(it_->first, path) < 0) Vanish();
    if (it_ != regs_->end() && EqualBytes(it_->first, path)) {
      Register& reg = it_->second;
      if (!SameContent(reg, kind, value)) {
        reg.ts = At();
        reg.kind = kind;
        reg.value.assign(value);
      }
      ++it_;
    } else {
      it_ = std::next(
          regs_->emplace_hint(it_, std::string(path), Register{At(), kind, std::string(value)}));
    }
  }

  // Tombstones what the new content no longer has.
  void Finish() {
    while (it_ != regs_->end()) Vanish();
  }

  bool changed() const { return changed_; }
  // The write timestamp (fixed at the first write).
  Timestamp At() {
    if (!changed_) {
      at_ = NewerThan(ts_, state_max_);
      changed_ = true;
    }
    return at_;
  }

 private:
  void Vanish() {
    Register& reg = it_->second;
    if (!it_->first.empty() && reg.kind != RegisterKind::kTombstone) {
      reg.ts = At();
      reg.kind = RegisterKind::kTombstone;
      reg.value.clear();
    }
    ++it_;
  }

  std::map<std::string, Register>* regs_;
  std::map<std::string, Register>::iterator it_;
  Timestamp ts_;
  Timestamp state_max_;
  Timestamp at_;
  bool changed_ = false;
};

// The per-thread flattening buffer of PutSlow and MergePut; released after a large document.
class ThreadFlat {
 public:
  ThreadFlat() : flat_(Instance()) {}
  ~ThreadFlat() {
    if (flat_.capacity_bytes() > kKeepFlatBytes) flat_ = FlatJson();
  }
  ThreadFlat(const ThreadFlat&) = delete;
  ThreadFlat& operator=(const ThreadFlat&) = delete;

  // Parses `json` into the buffer: INVALID_ARGUMENT "json_data: ..." on bad input.
  Status Parse(std::string_view json, int max_depth) {
    Status parsed = FlattenJsonObject(json, max_depth, &flat_);
    if (!parsed.ok()) return InvalidArgumentError("json_data: " + parsed.message());
    return Status::Ok();
  }
  const FlatJson& get() const { return flat_; }

 private:
  static FlatJson& Instance() {
    thread_local FlatJson flat;
    return flat;
  }
  FlatJson& flat_;
};

// True if what renders from [first, last) (a range closed under descendants) is exactly the
// leaves [k, k_end) of `flat`.
bool RendersAs(RegisterMap::const_iterator first, RegisterMap::const_iterator last,
               const FlatJson& flat, size_t k, size_t k_end) {
  bool same = true;
  ForEachVisibleLeaf(first, last, [&](std::string_view path, const Register& reg) {
    if (k == k_end || !EqualBytes(flat.path(k), path) ||
        !SameContent(reg, flat.kind(k), flat.value(k))) {
      same = false;
      return false;
    }
    ++k;
    return true;
  });
  return same && k == k_end;
}

// Rewrites the registers [it, last) to hold the leaves [k, k_end) of `flat`, in one ordered walk:
// registers absent from the new content become tombstones at `at` (the root marker excepted), new
// or different leaves are written at `at`, equal ones keep their clocks (`fresh`: are written at
// `at` too — a re-creation after a delete writes all of its content).
void Overwrite(RegisterMap& regs, RegisterMap::iterator it, RegisterMap::iterator last,
               const FlatJson& flat, size_t k, size_t k_end, Timestamp at, bool fresh) {
  while (it != last || k < k_end) {
    int cmp;
    if (it == last) {
      cmp = 1;
    } else if (k == k_end) {
      cmp = -1;
    } else {
      cmp = CompareBytes(it->first, flat.path(k));
    }
    if (cmp < 0) {  // only in the state
      Register& reg = it->second;
      if (!it->first.empty() && reg.kind != RegisterKind::kTombstone) {
        reg.ts = at;
        reg.kind = RegisterKind::kTombstone;
        reg.value.clear();
      }
      ++it;
    } else if (cmp == 0) {
      Register& reg = it->second;
      if (fresh || !SameContent(reg, flat.kind(k), flat.value(k))) {
        reg.ts = at;
        reg.kind = flat.kind(k);
        reg.value.assign(flat.value(k));
      }
      ++it;
      ++k;
    } else {  // only in the new content
      it = regs.emplace_hint(it, std::string(flat.path(k)),
                             Register{at, flat.kind(k), std::string(flat.value(k))});
      ++it;
      ++k;
    }
  }
}

// The encoded first segment of a non-root encoded path (the top-level key, with its terminator).
std::string_view TopLevelSegment(std::string_view path) {
  return path.substr(0, path.find('\0') + 1);
}

}  // namespace

bool DeleteContext::Add(Timestamp ts) {
  if (ts <= floor_) return false;
  auto [it, inserted] = seen_.emplace(ts.node_tag, ts.hlc);
  if (inserted) return true;
  if (ts.hlc <= it->second) return false;
  it->second = ts.hlc;
  return true;
}

bool DeleteContext::RaiseFloor(Timestamp ts) {
  if (ts <= floor_) return false;
  floor_ = ts;
  std::erase_if(seen_, [&](const auto& entry) {
    return Timestamp{entry.second, entry.first} <= floor_;
  });
  return true;
}

bool DeleteContext::Join(const DeleteContext& other) {
  if (&other == this) return false;
  bool changed = RaiseFloor(other.floor_);
  for (const auto& [tag, hlc] : other.seen_) changed |= Add(Timestamp{hlc, tag});
  return changed;
}

Timestamp DeleteContext::Newest() const {
  Timestamp newest = floor_;
  for (const auto& [tag, hlc] : seen_) newest = std::max(newest, Timestamp{hlc, tag});
  return newest;
}

StatusOr<ChangeResult> Document::Put(std::string_view json, Timestamp ts, int max_depth) {
  // One pass over the state: the newest timestamp, and whether it is "clean".
  const bool live = IsLive();
  bool has_root = false;
  bool clean = true;
  Timestamp state_max = deletes_.Newest();
  std::string_view last_live;  // the previous non-tombstone non-root path
  for (const auto& [path, reg] : registers_) {
    state_max = std::max(state_max, reg.ts);
    if (reg.kind == RegisterKind::kTombstone) continue;
    if (path.empty()) {
      has_root = true;
      continue;
    }
    if (!last_live.empty() && IsDescendant(path, last_live)) clean = false;
    last_live = path;
  }
  // A deleted document keeps its registers (covered): re-creating it rewrites all of them.
  if (clean && (live || registers_.empty())) {
    PutApplier applier(&registers_, ts, state_max);
    Status s = VisitJsonObject(json, max_depth, &applier);
    if (!s.ok()) {
      if (s.code() != StatusCode::kInvalidArgument) return s;
      return InvalidArgumentError("json_data: " + s.message());
    }
    applier.Finish();
    if (live && !applier.changed()) return ChangeResult{};
    const Timestamp at = applier.At();
    // The root marker records the (re)creation. A live document can lack one (e.g. a state
    // rebuilt register by register): give it one, or a Put of {} would leave nothing.
    if (!live || !has_root) registers_[std::string()] = Register{at, RegisterKind::kObject, {}};
    return ChangeResult{true, at};
  }
  return PutSlow(json, ts, max_depth, live, state_max);
}

// A state where some registers are hidden by the conflict rule, or a deleted document: compare
// with what renders first (if live), then rewrite everything that is not in the new content.
StatusOr<ChangeResult> Document::PutSlow(std::string_view json, Timestamp ts, int max_depth,
                                         bool live, Timestamp state_max) {
  ThreadFlat buffer;
  PEAT_RETURN_IF_ERROR(buffer.Parse(json, max_depth));
  const FlatJson& flat = buffer.get();
  // Same content as what renders now: nothing to write (a re-put replicates nothing).
  if (live && RendersAs(registers_.begin(), registers_.end(), flat, 0, flat.size())) {
    return ChangeResult{};
  }
  const Timestamp at = NewerThan(ts, state_max);
  Overwrite(registers_, registers_.begin(), registers_.end(), flat, 0, flat.size(), at,
            /*fresh=*/!live);
  if (!live || registers_.begin()->first != "") {
    registers_[std::string()] = Register{at, RegisterKind::kObject, {}};
  }
  return ChangeResult{true, at};
}

StatusOr<ChangeResult> Document::MergePut(std::string_view json, Timestamp ts, int max_depth) {
  // A document that is not live is created with exactly the patch's keys: the registers its
  // deletes cover must be tombstoned, as a Put does.
  if (!IsLive()) return Put(json, ts, max_depth);
  ThreadFlat buffer;
  PEAT_RETURN_IF_ERROR(buffer.Parse(json, max_depth));
  const FlatJson& flat = buffer.get();
  bool has_root = false;
  Timestamp state_max = deletes_.Newest();
  for (const auto& [path, reg] : registers_) {
    state_max = std::max(state_max, reg.ts);
    if (path.empty() && reg.kind != RegisterKind::kTombstone) has_root = true;
  }
  const Timestamp at = NewerThan(ts, state_max);
  bool changed = false;
  // Leaves come in path order, so each top-level key's leaves, and its subtree of registers, are
  // contiguous: replace each key's subtree as Put would replace the whole document.
  for (size_t k = 0; k < flat.size();) {
    const std::string key(TopLevelSegment(flat.path(k)));
    size_t k_end = k + 1;
    while (k_end < flat.size() && flat.path(k_end).starts_with(key)) ++k_end;
    auto first = registers_.lower_bound(key);
    auto last = first;
    while (last != registers_.end() && last->first.starts_with(key)) ++last;
    if (!RendersAs(first, last, flat, k, k_end)) {
      Overwrite(registers_, first, last, flat, k, k_end, at, /*fresh=*/false);
      changed = true;
    }
    k = k_end;
  }
  if (!changed) return ChangeResult{};
  // As in Put: a live document lacking a root marker gets one.
  if (!has_root) registers_[std::string()] = Register{at, RegisterKind::kObject, {}};
  return ChangeResult{true, at};
}

ChangeResult Document::Delete(Timestamp ts) {
  if (!IsLive()) return ChangeResult{};
  const Timestamp at = NewerThan(ts, MaxTimestamp());
  // The delete saw every register of the state: cover them (kept, for a concurrent update).
  for (const auto& [path, reg] : registers_) deletes_.Add(reg.ts);
  deletes_.Add(at);
  return ChangeResult{true, at};
}

ChangeResult Document::Merge(const Document& other) {
  if (&other == this) return ChangeResult{};
  bool changed = deletes_.Join(other.deletes_);
  auto it = registers_.begin();
  for (const auto& [path, reg] : other.registers_) {
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

bool Document::MergeRegister(std::string path, Register reg) {
  auto it = registers_.lower_bound(path);
  if (it == registers_.end() || it->first != path) {
    registers_.emplace_hint(it, std::move(path), std::move(reg));
    return true;
  }
  if (!Wins(reg, it->second)) return false;
  it->second = std::move(reg);
  return true;
}

bool Document::MergeDelete(const DeleteContext& deletes) { return deletes_.Join(deletes); }

bool Document::IsLive() const {
  bool unseen = false;
  bool content = false;
  for (const auto& [path, reg] : registers_) {
    if (!unseen && !deletes_.Covers(reg.ts)) unseen = true;
    if (!content && reg.kind != RegisterKind::kTombstone) content = true;
    if (unseen && content) return true;
  }
  return false;
}

Timestamp Document::MaxTimestamp() const {
  Timestamp max = deletes_.Newest();
  for (const auto& [path, reg] : registers_) max = std::max(max, reg.ts);
  return max;
}

size_t Document::PurgeOlderThan(Timestamp horizon) {
  const bool live = IsLive();
  // A live document whose only unseen writes are tombstones (a field removed concurrently with a
  // delete) keeps those: GC must not change what renders.
  bool unseen_content = false;
  for (const auto& [path, reg] : registers_) {
    if (reg.kind != RegisterKind::kTombstone && !deletes_.Covers(reg.ts)) unseen_content = true;
  }
  return std::erase_if(registers_, [&](const auto& entry) {
    const Register& reg = entry.second;
    if (!(reg.ts < horizon)) return false;
    if (reg.kind == RegisterKind::kTombstone) {
      return !live || unseen_content || deletes_.Covers(reg.ts);
    }
    return !live && deletes_.Covers(reg.ts);
  });
}

}  // namespace peat::crdt

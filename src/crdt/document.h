// CRDT document state: a last-writer-wins map from JSON path to register, plus a document-level
// delete register. Pure data: no I/O, no threads, no clocks (callers pass timestamps in).
//
// Model (DESIGN.md "CRDT", BEHAVIOR.md "Documents"):
// - Every leaf of the JSON object tree is a register at its path: a scalar (string, integer,
//   double, bool, null), an atomic array, an empty-object marker, or a tombstone. The root path ""
//   holds a marker register that records when the document was (re)created.
// - A register carries a Timestamp (HLC + node tag). Merge = per-path max by Timestamp, and the
//   delete register = join (DeleteContext): commutative, associative, idempotent.
// - A Put diffs the new JSON against the current state: changed or new leaves get the new
//   timestamp, vanished leaves get tombstones, unchanged leaves keep their timestamps (re-putting
//   identical content changes nothing).
// - Rendering is a pure function of the state: at a path, a live scalar/array wins over live
//   descendants only if it is newer than all of them; objects render with keys sorted bytewise.
//
// - A document is never a fragment (issue #13; docs/ARCHITECTURE.md "Deletes"): the delete
//   register is a DeleteContext, the writes the deletes had SEEN (per writer, the newest stamp of
//   that writer in the deleting node's state, and the delete's own stamp). A Delete keeps every
//   register (they are not erased, only covered). The document is live iff some register (the
//   latest write at its path) was not seen by any delete, and the state has content (a
//   non-tombstone register); a live document renders EVERY register, covered or not, so an update
//   concurrent with a delete brings back the whole document with each field's latest value, and a
//   delete that saw every update removes it on every replica, whatever the merge order.
//   Covered registers are dropped only by GC (PurgeOlderThan; the store purges whole rows).
// - Local writes are newer than the state (added): Put/Delete write at `ts` when ts is greater
//   than MaxTimestamp(), else at {MaxTimestamp().hlc + 1, ts.node_tag}, so a local write always
//   wins locally and after merges even if the caller's clock is behind the document (e.g. its
//   HLC clamped a far-future remote). ChangeResult::ts says which timestamp was written. So each
//   writer's writes to one document have increasing stamps, which DeleteContext relies on.
//
// Thread-compatible value type (copy freely; synchronise access to one instance yourself).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crdt/hlc.h"

namespace peat::crdt {

enum class RegisterKind : uint8_t {
  kTombstone = 0,
  kNull = 1,
  kFalse = 2,
  kTrue = 3,
  kInt = 4,     // value = decimal text of an int64 or uint64 ("-5", "18446744073709551615")
  kDouble = 5,  // value = shortest round-trip text, always with '.' or an exponent ("1.0")
  kString = 6,  // value = raw UTF-8 (unescaped)
  kArray = 7,   // value = canonical JSON text of the whole array (arrays are atomic)
  kObject = 8,  // empty-object marker (also the root marker at path "")
};

struct Register {
  Timestamp ts;
  RegisterKind kind = RegisterKind::kTombstone;
  std::string value;

  bool SameContent(const Register& o) const { return kind == o.kind && value == o.value; }
};
// Well-formed values (what Put and Decode produce; MergeRegister callers must keep to them):
// kInt/kDouble hold exactly the canonical text described above, kString valid UTF-8, kArray
// canonical JSON, the other kinds an empty value. Encode stores a kInt/kDouble whose text is not
// canonical as a string.

// Paths are encoded so that the bytewise order of encoded paths is depth-first order with sibling
// keys sorted bytewise: each key is escaped (0x00 → 0x01 0x01, 0x01 → 0x01 0x02) and terminated
// by 0x00. The root is "".
std::string EncodePathSegment(std::string_view key);
// Splits an encoded path back into keys; INVALID_ARGUMENT on malformed input.
StatusOr<std::vector<std::string>> DecodePath(std::string_view encoded);

// The document-level delete register: which writes the document's deletes had seen. Replicas
// ship whole document states, and each writer's writes to a document have increasing stamps, so a
// deleting node that holds a register stamped (h, W) holds every earlier write of W to the
// document (or a newer write at that path): "seen" is exact, per writer, without a full vector
// clock. A write is covered iff its stamp is ≤ the floor, or its writer's entry is ≥ its HLC.
// The floor is the delete register of format-1 states (written before contexts existed), whose
// rule was "everything not newer than the delete is dead"; new deletes never raise it.
// Join = floor max + per-writer max (a lattice); entries not above the floor are dropped, so
// equal contexts are equal values.
class DeleteContext {
 public:
  bool Covers(Timestamp ts) const {
    if (ts <= floor_) return true;
    auto it = seen_.find(ts.node_tag);
    return it != seen_.end() && ts.hlc <= it->second;
  }
  // Records `ts` as seen. Returns true if the context changed.
  bool Add(Timestamp ts);
  // Raises the floor (format-1 delete registers). Returns true if the context changed.
  bool RaiseFloor(Timestamp ts);
  // Joins another context into this one. Returns true if this one changed.
  bool Join(const DeleteContext& other);
  // The newest recorded stamp (the newest delete's own stamp); zero if never deleted.
  Timestamp Newest() const;
  bool empty() const { return floor_.IsZero() && seen_.empty(); }

  Timestamp floor() const { return floor_; }
  // node tag → newest HLC of that writer seen, every entry above the floor.
  const std::map<uint64_t, uint64_t>& seen() const { return seen_; }

  friend bool operator==(const DeleteContext&, const DeleteContext&) = default;

 private:
  Timestamp floor_;
  std::map<uint64_t, uint64_t> seen_;
};

// Result of applying a local Put/Delete or a remote merge.
struct ChangeResult {
  bool changed = false;  // false: nothing observable changed (no change-feed entry)
  // (added) Put/Delete: the timestamp written (see "Local writes" above); zero when !changed and
  // after Merge.
  Timestamp ts;
};

class Document {
 public:
  // Parses `json` (must be an object, depth ≤ max_depth) and applies it as a Put at `ts`
  // against the current state. INVALID_ARGUMENT (state untouched) on bad JSON, with a message
  // saying what is wrong.
  // (added) Messages start "json_data: " ("json_data: top level must be a JSON object, got
  // array", "json_data: nesting depth exceeds 64", "json_data: invalid JSON at byte 17: ...").
  // Duplicate keys: the last occurrence wins. changed=false (state untouched) when the content
  // equals what Render() returns now. Otherwise afterwards Render() is exactly the canonical
  // `json`: every live register that is not a leaf of `json` (rendered, or hidden by the conflict
  // rule) becomes a tombstone, and the root marker is set only if the document was not live.
  StatusOr<ChangeResult> Put(std::string_view json, Timestamp ts, int max_depth = 64);
  // (added) A patch: applies the top-level keys of `json` (an object, checked as in Put, same
  // messages) at `ts` and leaves every other top-level key exactly as it is (registers and
  // timestamps untouched). Each key of `json` replaces that key's subtree as Put replaces a
  // document: the key's new or changed leaves get the write timestamp, its vanished leaves
  // (including live registers the conflict rule hides) get tombstones, its unchanged leaves keep
  // theirs; a key whose rendered value already equals the new one is not touched at all. So a
  // nested object value replaces the old value of its key (it is not merged into it), and a
  // concurrent write to another key merges with this one like any two writes to different paths.
  // changed=false (state untouched) when the document is live and no key's value changes. A
  // document that is not live (never written, or deleted) is created with exactly the keys of
  // `json`, as a Put of `json` would create it; the root marker is set as in Put. Not to be
  // confused with Merge (another replica's state). (A not-live document's covered registers are
  // tombstoned as a Put would: a patch on a deleted document does not bring back its old fields.)
  StatusOr<ChangeResult> MergePut(std::string_view json, Timestamp ts, int max_depth = 64);
  // Document-level delete at `ts`. No-op if the document is already deleted.
  // (added) "Already deleted" = not live, including never written: changed=false, state untouched.
  // The delete records every register stamp of the state and its own stamp in the DeleteContext;
  // registers are kept (covered) so that a concurrent update can bring the whole document back.
  ChangeResult Delete(Timestamp ts);
  // Merges another replica's state into this one.
  // (added) changed = this replica's state changed (so it must be stored and relayed), even when
  // the rendered JSON did not (e.g. a newer tombstone). Merging a document into itself is a no-op.
  ChangeResult Merge(const Document& other);

  // (added) The merge rule for one register, for rebuilding a state under other paths (the
  // store's field-name encryption): `reg` replaces the register at `path` only if it wins
  // (newer, or an equal timestamp and larger content). `path` must be a valid encoded path; the
  // caller keeps the state well-formed (as Decode would accept it). Returns true if the state
  // changed.
  bool MergeRegister(std::string path, Register reg);
  // (added) The merge rule for the delete register (join). Returns true if the state changed.
  bool MergeDelete(const DeleteContext& deletes);

  // True if the document exists: some register was not seen by any delete (never deleted, written
  // concurrently with or after its deletes), and some register is not a tombstone.
  bool IsLive() const;
  // Canonical JSON: compact, keys sorted bytewise, numbers as stored. "" if not live.
  std::string Render() const;
  // Largest timestamp in the state (registers and the delete register's newest stamp).
  Timestamp MaxTimestamp() const;

  // Compact binary encoding (versioned); Decode(Encode(d)) == d. A state without per-writer
  // delete entries is written in format 1 (what nodes before DeleteContext read), else format 2;
  // Decode reads both.
  // (added) Format in document_codec.cc. Encode is a function of the state (equal states encode to
  // equal bytes). Decode never trusts its input: DATA_LOSS for malformed bytes (truncated,
  // inconsistent, invalid UTF-8/array text, broken invariants), INVALID_ARGUMENT for an unknown
  // version; it never allocates more than a small multiple of the input size.
  std::string Encode() const;
  // (added) `max_depth`: the nesting limit Put enforces; a state that would render deeper is
  // DATA_LOSS (no node produces one), so whatever decodes also renders JSON that Put accepts.
  static StatusOr<Document> Decode(std::string_view bytes, int max_depth = 64);

  // Drops tombstones whose timestamp is older than `horizon` (GC), and, while the document is not
  // live, the registers its deletes cover that are older than `horizon` (a live document renders
  // them); the document delete register is kept. What renders never changes (a live document's
  // unseen tombstones stay while no unseen value exists). Returns the number of registers removed.
  size_t PurgeOlderThan(Timestamp horizon);

  // Read access for encryption, replication and tests.
  const std::map<std::string, Register>& registers() const { return registers_; }
  // The newest delete's stamp (zero: never deleted).
  Timestamp delete_ts() const { return deletes_.Newest(); }
  const DeleteContext& deletes() const { return deletes_; }

  friend bool operator==(const Document& a, const Document& b) {
    return a.deletes_ == b.deletes_ && a.registers_ == b.registers_;
  }

 private:
  // (added) Put on a state whose conflict rule hides some live registers (rare).
  StatusOr<ChangeResult> PutSlow(std::string_view json, Timestamp ts, int max_depth, bool live,
                                 Timestamp state_max);

  std::map<std::string, Register> registers_;  // encoded path → register (covered ones too)
  DeleteContext deletes_;                      // empty = never deleted
};

inline bool operator==(const Register& a, const Register& b) {
  return a.ts == b.ts && a.kind == b.kind && a.value == b.value;
}

}  // namespace peat::crdt

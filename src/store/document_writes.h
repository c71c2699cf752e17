// Document writes: the appliers of local document changes — Put and Delete (from the API),
// MergePut (internal: the agent watcher's patches), and the GC's Expire (IMPLICIT_TTL) and Purge
// (TOMBSTONE) — and the ops that carry them. Each op holds only its own fields;
// GroupCommitWriter dispatches a WriteOp to the matching Apply.
//
// Put/MergePut/Delete write the CRDT change at a fresh HLC timestamp against the current state
// (staged in this group, else cache, else row), encrypting with the store's key; a write that
// changes nothing gets no seq. Put and MergePut share one path and differ only in the CRDT call
// (crdt::Document::Put vs MergePut) applied to the decrypted current state. Purge removes a row (no
// seq, no event) once the TombstoneAckTracker agrees or the upper bound has passed.
//
// Writer thread only. Errors as OpResult (write_context.h): invalid JSON/limits, IMMUTABLE and
// "cannot decrypt" fail the op alone; statement failures are fatal for the group.
#pragma once

#include <cstdint>
#include <string>

#include "store/write_context.h"

namespace peat::store {

struct PutOp {
  std::string collection;
  std::string doc_id;
  std::string json;
};

// Sets the top-level keys of `json` and leaves the document's other keys as they are.
struct MergePutOp {
  std::string collection;
  std::string doc_id;
  std::string json;
};

struct DeleteOp {
  std::string collection;
  std::string doc_id;
};

// GC: delete a live IMPLICIT_TTL document still not updated since `cutoff_ms`.
struct ExpireOp {
  std::string collection;
  std::string doc_id;
  uint64_t cutoff_ms = 0;
};

// GC: remove a TOMBSTONE collection's tombstone row still older than `cutoff_ms`; `now_ms` is the
// pass's clock reading (the tombstone's age for the upper bound).
struct PurgeOp {
  std::string collection;
  std::string doc_id;
  uint64_t cutoff_ms = 0;
  uint64_t now_ms = 0;
};

OpResult Apply(PutOp& op, WriteContext& ctx);
OpResult Apply(MergePutOp& op, WriteContext& ctx);
OpResult Apply(DeleteOp& op, WriteContext& ctx);
OpResult Apply(ExpireOp& op, WriteContext& ctx);
OpResult Apply(PurgeOp& op, WriteContext& ctx);

}  // namespace peat::store

// TombstoneAckTracker: the mesh's answer to "has every known formation member seen this delete?".
//
// Tombstone purge (TOMBSTONE collections) asks it before dropping a deleted document's row, so a
// member that was offline longer than the TTL can never resurrect the document (LESSONS.md 11).
// Until the mesh exists there are no known members and the store runs without a tracker: every
// delete counts as acknowledged and purge is governed by the collection's TTL alone. Whatever
// the tracker says, a tombstone older than StoreOptions::tombstone_ttl_upper_bound_secs is purged
// (counted as a forced purge).
//
// Called on the store's writer thread; implementations must be thread-safe and must not block.
#pragma once

#include <cstdint>
#include <string>

#include "crdt/hlc.h"

namespace peat::store {

class TombstoneAckTracker {
 public:
  virtual ~TombstoneAckTracker() = default;
  // True when every known member has acknowledged the document delete at `delete_ts`, whose
  // document row has change-feed position `seq` (a member that acknowledged our feed through
  // `seq` holds that state, delete included).
  virtual bool AllMembersAcknowledged(const std::string& collection, const std::string& doc_id,
                                      const crdt::Timestamp& delete_ts, uint64_t seq) = 0;
};

}  // namespace peat::store

// Remote merge: the applier of ReplicationLog::MergeRemote. One op carries a peer's batch of
// encoded states and the checkpoint to persist with them.
//
// Per state: validate the key, the size (<= 2 x max_document_bytes, states carry timestamps) and
// the encoding; a bad one is skipped and counted (remote_rejected, one warn log per batch, no
// values). Otherwise observe its newest timestamp in the HLC and merge it into the current state
// (staged in this group, else cache, else row); if that changed anything the row gets the next
// seq and src_peer = the sender when the merged state equals the sender's (else ""), and
// listeners get UPSERT (live) or DELETE (was live, is not) — nothing when it stays deleted.
// Collection policies and the encryption key never block a merge; with a key, a state holding
// clear field names (the old scheme's, or a keyless writer's) is first moved to encrypted names
// (DocumentCipher::Normalize) when the document proves the key is its key, so no relay
// reintroduces clear names here; src_peer then compares with the converted state. The checkpoint
// row is written last, in the same transaction, whether or not anything changed.
//
// Writer thread only. Errors as OpResult (write_context.h): only statement failures (fatal).
#pragma once

#include <string>
#include <vector>

#include "store/replication_log.h"
#include "store/write_context.h"

namespace peat::store {

struct MergeRemoteOp {
  std::string peer_id;  // the sending peer
  std::vector<RemoteChange> changes;
  ReplicationCheckpoint checkpoint;
};

OpResult Apply(MergeRemoteOp& op, WriteContext& ctx);

}  // namespace peat::store

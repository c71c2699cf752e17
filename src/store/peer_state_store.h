// PeerStateStore: the mesh's persistent peer state (interface): the peer registry (peers this
// node dials, so they are redialed after a restart) and the formation members with the position
// of our change feed each has acknowledged (tombstone purge waits for them, LESSONS.md 11).
// SqliteDocumentStore implements it next to DocumentStore and ReplicationLog.
//
// Threading and durability: writes are queued to the store's writer and group-committed; `done`
// runs on the writer thread once durable (storage failures: RESOURCE_EXHAUSTED / UNAVAILABLE, an
// invalid id or address: INVALID_ARGUMENT). Reads are synchronous and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/write_done.h"

namespace peat::store {

// A peer this node dials (static --peer or ConnectPeer), persisted so it is redialed after a
// restart.
struct PeerRecord {
  std::string endpoint_id;             // 64 lowercase hex
  std::vector<std::string> addresses;  // "host:port"
  bool is_static = false;              // from --peer (re-registered at every boot)
};

class PeerStateStore {
 public:
  using Done = WriteDone;

  virtual ~PeerStateStore() = default;

  // --- Peer registry ---
  // Adds or replaces the record of `record.endpoint_id`.
  virtual void SavePeer(PeerRecord record, Done done) = 0;
  virtual void RemovePeer(std::string endpoint_id, Done done) = 0;
  virtual StatusOr<std::vector<PeerRecord>> ListPeerRecords() = 0;

  // --- Formation members ---
  // Peers that ever synced with us and the position of our feed each has acknowledged: a
  // tombstone is purged only once every member acknowledged its seq. SaveMemberAck keeps the
  // larger of the stored and the given seq.
  virtual void SaveMemberAck(std::string peer_id, uint64_t seq, Done done) = 0;
  virtual void RemoveMember(std::string peer_id, Done done) = 0;
  virtual StatusOr<std::vector<std::pair<std::string, uint64_t>>> ListMemberAcks() = 0;
};

}  // namespace peat::store

// ReplicationLog: the store as the mesh replicates it (interface). The change feed (every
// effective change gets the next local seq; the feed holds each document's latest state once),
// merges of peers' states with the checkpoint that covers them, the store's epoch, and the
// "feed advanced" signal that wakes the senders. SqliteDocumentStore implements it next to
// DocumentStore (documents for the services) and PeerStateStore (the mesh's peer registry).
//
// Threading and durability: MergeRemote is queued to the store's writer like every write and
// group-committed with local writes; `done` runs on the writer thread once the group is durable.
// Reads (ReadFeed, ReadStates, GetCheckpoint, LastSeq, Epoch) are synchronous, thread-safe and
// never wait for the writer. Feed observers are called on the writer thread; they must return
// quickly and must not write to the store. Errors: storage failures fail a merge with the codes of
// DocumentStore::Put (RESOURCE_EXHAUSTED "disk full", UNAVAILABLE); an invalid change inside a
// batch is skipped, never an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/write_done.h"

namespace peat::store {

// A document state as it travels between nodes: crdt::Document::Encode() bytes. Values stay as
// the sender stored them (ciphertext when the formation encrypts); the store never needs the key
// to merge them.
struct RemoteChange {
  std::string collection;
  std::string doc_id;
  std::string state;
};

// One change-feed entry: the current state of a document whose latest change got `seq`. The feed
// holds one entry per document (its latest), so reading it "since seq N" moves each changed
// document once, however often it changed.
struct FeedEntry {
  uint64_t seq = 0;
  std::string collection;
  std::string doc_id;
  std::string state;     // encoded crdt::Document
  std::string src_peer;  // endpoint id of the peer whose state this exactly equals; "" otherwise
};

// What to read from the change feed: entries with after_seq < seq <= upto_seq, optionally only
// (or all but) some collections — a priority lane of a replication session.
struct FeedQuery {
  uint64_t after_seq = 0;
  uint64_t upto_seq = UINT64_MAX;  // capped at LastSeq() when the query starts
  size_t max_entries = 512;
  size_t max_bytes = 256 * 1024;
  std::string skip_src_peer;             // leave out entries whose state came from this peer
  std::vector<std::string> collections;  // empty = every collection
  bool exclude_collections = false;      // true: every collection except `collections`
};

struct FeedPage {
  std::vector<FeedEntry> entries;  // ascending seq
  // Every seq <= this was considered (returned, skipped, or outside the query's collections):
  // upto_seq when the query ran out of rows, else the last row examined.
  uint64_t scanned_through = 0;
};

// A document by name (ReadStates).
struct DocRef {
  std::string collection;
  std::string doc_id;
};

// Where this node is in a peer's change feed: the peer store's epoch and the last seq of that
// feed merged here. Empty epoch = never synced.
struct ReplicationCheckpoint {
  std::string epoch;
  uint64_t seq = 0;
};

// "The feed advanced to `last_seq`": called once per committed group that gave at least one
// change a seq (local writes, merges, expiry), on the writer thread, after the group's states
// are readable (ReadFeed and LastSeq see them) and before its writes' `done` callbacks run.
using FeedObserver = std::function<void(uint64_t last_seq)>;

class ReplicationLog {
 public:
  using Done = WriteDone;

  virtual ~ReplicationLog() = default;

  // Merges peers' states (one transaction for the batch, like a group of local writes) and
  // persists `checkpoint` for `peer_id` in the same transaction, so the checkpoint never runs
  // ahead of what was merged. Per change: decode (an undecodable or invalid change is skipped,
  // counted and logged; it never fails the batch), observe its timestamps in the HLC, merge;
  // if the state changed it gets the next seq, src_peer = peer_id when the merged state equals
  // the incoming one (else ""), and listeners get UPSERT/DELETE as for local writes. A merge that
  // changes nothing gets no seq. Storage failures fail the whole batch (nothing merged, checkpoint
  // unchanged) with the same codes as Put. A checkpoint with an empty epoch is not written: the
  // states are merged and the peer's checkpoint stays as it was (states a peer sent on request,
  // outside its feed stream).
  virtual void MergeRemote(std::string peer_id, std::vector<RemoteChange> changes,
                           ReplicationCheckpoint checkpoint, Done done) = 0;
  // Up to `max_entries` feed entries matching `query` in seq order (at least one if any, then
  // stopping before `max_bytes` of state would be exceeded). Entries whose src_peer ==
  // skip_src_peer (when non-empty) are left out but still counted in scanned_through. Never waits
  // for the writer.
  virtual StatusOr<FeedPage> ReadFeed(const FeedQuery& query) = 0;
  // The stored state of each document of `docs`, in order ("" when there is none). Never waits
  // for the writer.
  virtual StatusOr<std::vector<std::string>> ReadStates(const std::vector<DocRef>& docs) = 0;
  // The persisted checkpoint for `peer_id` ({"", 0} if none).
  virtual StatusOr<ReplicationCheckpoint> GetCheckpoint(const std::string& peer_id) = 0;
  // Random id of this store instance, created with the database: a peer whose epoch changed has
  // lost its data, and checkpoints against its old feed are void.
  virtual std::string Epoch() const = 0;
  // Highest committed seq: the head of the feed.
  virtual uint64_t LastSeq() const = 0;

  // Registers `observer` (see FeedObserver); returns its id. Once RemoveFeedObserver(id) returned
  // the observer is never called again (it may be called from another thread until then).
  virtual uint64_t AddFeedObserver(FeedObserver observer) = 0;
  virtual void RemoveFeedObserver(uint64_t id) = 0;
};

}  // namespace peat::store

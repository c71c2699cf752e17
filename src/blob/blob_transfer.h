// BlobTransfer: how the attachment layer moves blobs between nodes without knowing the mesh
// (docs/spec/ATTACHMENTS.md §15.3–§15.6). The mesh implements it (BlobWant / BlobManifest /
// BlobPiece frames on each peer session, sharing the session's send window with documents); the
// attachment manager calls it to fetch a blob into the local BlobStore and to learn which peers
// exist and accept attachments. Serving is the mesh's own business: every session answers
// BlobWant from the BlobStore, for any root the serve policy (BlobServePolicy) allows.
//
// Threading: every method is thread-safe (the mesh posts to its loop). Callbacks run on the mesh
// loop thread; they must return quickly and may call back into this interface.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "blob/manifest.h"
#include "common/status.h"

namespace peat::blob {

// A peer as the mesh knows it in this run (from its last Hello).
struct BlobPeerInfo {
  std::string endpoint_id;  // 64 hex
  std::string node_id;      // its --node-id, "" when it never completed a session this run
  bool connected = false;
  bool accepts_attachments = false;  // its Hello said it has an inbox
};

struct FetchRequest {
  BlobRoot root{};
  uint64_t size = 0;       // expected blob size (from the distribution document)
  int priority_class = 3;  // 1 bulk … 5 critical (mesh/priority_lanes.h)
  // Endpoint ids to fetch from, best first (the sender, then peers that completed). The mesh
  // may add connected peers that answer BlobHave, and uses at most --attachment-max-sources.
  std::vector<std::string> sources;
};

struct FetchProgress {
  uint64_t verified_bytes = 0;  // plaintext bytes of verified chunks, resumed ones included
  uint64_t total_bytes = 0;
  std::vector<std::string> sources;  // endpoint ids that delivered verified chunks
};

class BlobTransfer {
 public:
  using FetchId = uint64_t;
  using ProgressFn = std::function<void(const FetchProgress&)>;
  // OK: the blob is complete in the BlobStore (also when it already was).
  // CANCELLED: CancelFetch was called. UNAVAILABLE: no source could serve it now (transient:
  // the caller retries later, partial chunks are kept). DATA_LOSS: every source sent bad data
  // three times (permanent). Other codes: the local BlobStore failed (RESOURCE_EXHAUSTED when
  // the disk is full).
  using DoneFn = std::function<void(Status)>;

  virtual ~BlobTransfer() = default;

  // Starts fetching `request.root` into the BlobStore, resuming from what it already holds.
  // `progress` runs as chunks verify (at most a few times per second); `done` runs exactly once.
  virtual FetchId Fetch(FetchRequest request, ProgressFn progress, DoneFn done) = 0;
  // Stops a fetch (its partial stays for a later resume); `done` runs with CANCELLED unless it
  // already ran.
  virtual void CancelFetch(FetchId id) = 0;
  // Every peer seen this run and every registered peer.
  virtual void ListBlobPeers(std::function<void(std::vector<BlobPeerInfo>)> done) = 0;
  // `fn` runs whenever a peer completes a session with us (a point to retry waiting fetches).
  // One observer; a later call replaces it.
  virtual void SetPeerEstablishedObserver(std::function<void(const BlobPeerInfo&)> fn) = 0;
};

// What the serving side may hand out: the mesh asks before answering a BlobWant (a cancelled
// distribution's blob is refused with BlobError{cancelled}). Called on the mesh loop; must be
// thread-safe and quick.
using BlobServePolicy = std::function<bool(const BlobRoot& root)>;

}  // namespace peat::blob

// BlobEngine: the mesh's side of blob transfer (docs/spec/ATTACHMENTS.md §15.3–§15.7). It runs
// on the mesh loop and does three things:
//
// - Serving: answers every checked BlobWant from the BlobStore, if the serve policy allows the
//   root (else BlobError{cancelled}; no store or no such blob: BlobError{not_found}). A probe (no
//   ranges, no manifest) gets BlobHave with the verified-chunk bitmap; want_manifest gets
//   BlobManifest; ranges become a ReplicationSession::ServeBlob (pieces of complete blobs and of
//   verified chunks of partials, sent through the session's link scheduler).
// - Fetching (blob::BlobTransfer::Fetch): one fetch per root; later Fetch calls of the same root
//   subscribe to it. Every connected blob-capable peer is probed (the request's sources first);
//   the manifest comes from the first that has the blob and is verified against the root; then
//   BlobStore::BeginPartial, and the missing chunks (MissingChunks: a restart resumes from the
//   persisted bitmap) are asked, a few per source, each chunk from the source with the fewest
//   bytes outstanding relative to its rate, at most `max_sources` sources at once, and pieces of
//   a chunk assembled in memory. Received prefixes of chunks survive a link loss (only missing
//   pieces are asked again). A verified chunk is written (WriteChunk) and offered to every
//   session serving that root; a bad chunk (DATA_LOSS) bans that source for the root for 60 s
//   and the chunk is asked elsewhere. Receivers ask higher classes first: a source with chunks of
//   a higher-class fetch outstanding gets no new chunk requests of lower fetches. Each fetch asks
//   its chunks from a random starting chunk on, and a fetching node sends BlobHave updates (as
//   chunks verify) to the peers it answered not_found or a partial bitmap: receivers of one blob
//   fetch different chunks and serve them to each other (multi-source fan-out).
// - Relay: a BlobWant (or probe) with hops_left > 0 for a root we lack starts a fetch of it from
//   our other neighbours (bounded by `relay_cache_bytes`) and is answered as that fetch learns
//   the manifest and verifies chunks.
//
// Fetch outcomes (the `done` of every subscriber, exactly once): OK when the blob is complete in
// the store (Complete without a file SHA-256); CANCELLED by CancelFetch (the fetch goes on for
// other subscribers); UNAVAILABLE as soon as no connected peer can serve it (none connected, all
// answered not_found or cancelled, all banned, or the link to the last one closed) — partial
// chunks stay on disk and in memory for the caller's retry; DATA_LOSS when 3 bad chunks came
// and no unbanned source is left; other codes from the BlobStore.
//
// Threading: loop only (the Mesh posts to it); WriteChunk (hashing, write, fsync) runs on the
// engine's one writer thread and its answer is posted back to the loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "blob/blob_store.h"
#include "blob/blob_transfer.h"
#include "blob/chunk_bitmap.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "mesh/replication_session.h"

namespace peat::mesh {

namespace v1 {
class Frame;
class BlobManifest;
class BlobPiece;
class BlobHave;
class BlobError;
}  // namespace v1

struct BlobEngineOptions {
  blob::BlobStore* store = nullptr;    // null: nothing is served or fetched
  blob::BlobServePolicy serve_policy;  // empty: every root may be served
  int max_sources = 3;
  uint64_t relay_cache_bytes = uint64_t{1} << 30;
  uint32_t hops = 2;          // hops_left of our own wants (relay depth)
  bool spread_chunks = true;  // a fetch starts at a random chunk (MeshOptions::blob_spread_chunks)
  int chunks_per_source = 4;
  std::chrono::seconds ban{60};
  // A source that answers nothing (probe, manifest, pieces) for this long is given up for the
  // fetch (its chunks are asked elsewhere): a live link whose peer stopped serving.
  std::chrono::seconds stall{30};
  int bad_chunks_for_data_loss = 3;
  Counter* bad_frames = nullptr;  // peat_blob_bad_frames_total (may be null)
};

// Counter snapshot for /metrics (loop only).
struct BlobMetrics {
  std::map<std::pair<std::string, int>, uint64_t> bytes_sent;  // (peer, class)
  std::map<std::string, uint64_t> bytes_received;              // by peer
  std::map<std::string, uint64_t> bad_chunks;                  // by peer
  uint64_t duplicate_bytes = 0;
  uint64_t active_fetches = 0;
};

class BlobEngine : public BlobFrameHandler {
 public:
  using SessionPtr = std::shared_ptr<ReplicationSession>;
  using FetchId = blob::BlobTransfer::FetchId;

  // `established`: the Mesh's established sessions by peer endpoint id (outlives the engine);
  // `io`: the mesh loop (for the stall timer).
  BlobEngine(BlobEngineOptions options, Clock& clock, boost::asio::io_context& io,
             const std::map<std::string, SessionPtr>& established);
  // Waits for chunk writes in flight (their answers are posted to the loop, which no longer runs).
  ~BlobEngine() override;

  void StartFetch(FetchId id, blob::FetchRequest request, blob::BlobTransfer::ProgressFn progress,
                  blob::BlobTransfer::DoneFn done);
  void CancelFetch(FetchId id);
  void OnSessionEstablished(const SessionPtr& session);
  void OnSessionClosed(const SessionPtr& session);
  // Ends every fetch with CANCELLED (the mesh stops).
  void Shutdown();

  // BlobFrameHandler
  void OnBlobFrame(const SessionPtr& session, const v1::Frame& frame) override;
  void OnPieceSent(const std::string& peer, int priority_class, size_t bytes) override;

  BlobMetrics Metrics() const;
  size_t active_fetches() const { return fetches_.size(); }

 private:
  struct Subscriber {
    blob::BlobTransfer::ProgressFn progress;
    blob::BlobTransfer::DoneFn done;
    Clock::TimePoint last_progress{};
  };
  struct Source {
    enum class Phase { kProbing, kReady, kGone };
    Phase phase = Phase::kProbing;
    bool listed = false;
    bool complete = false;
    std::optional<blob::ChunkBitmap> have;  // a partial's verified chunks
    uint64_t outstanding_bytes = 0;
    uint64_t received_bytes = 0;
    Clock::TimePoint since{};
    Clock::TimePoint last_heard{};  // the last answer or piece (stall detection)
  };
  struct Assigned {
    std::string source;
    uint64_t request_id = 0;  // 0: received whole, being written
  };
  struct Fetch {
    blob::BlobRoot root{};
    int priority_class = 3;
    uint32_t hops_left = 0;
    bool relay = false;
    std::string exclude;  // a relay never asks the peer that asked it
    std::map<FetchId, Subscriber> subs;
    std::vector<std::string> listed;
    std::optional<blob::BlobManifest> manifest;
    uint64_t manifest_request = 0;
    std::map<std::string, Source> sources;
    std::set<uint64_t> todo;                // missing chunks not asked from anyone
    std::map<uint64_t, Assigned> assigned;  // chunks asked
    uint64_t verified_bytes = 0;
    std::set<std::string> delivered;
    // Peers that probed us for this root while we lacked chunks (by peer: their probe's request
    // id): they get a BlobHave update as our chunks verify, so receivers serve each other.
    std::map<std::string, uint64_t> watchers;
    uint64_t first_chunk = 0;  // where this node starts asking (random: peers ask different chunks)
  };
  enum class RequestKind { kProbe, kManifest, kChunks };
  struct Request {
    blob::BlobRoot root{};
    std::string source;
    RequestKind kind = RequestKind::kProbe;
  };
  struct Waiter {  // a BlobWant answered once a relay (or our fetch) knows the manifest
    std::weak_ptr<ReplicationSession> session;
    std::string want;  // the serialized frame
  };
  struct BadRecord {
    std::map<std::string, Clock::TimePoint> banned_until;
    int bad_chunks = 0;
  };

  // Serving.
  void HandleWant(const SessionPtr& session, const v1::Frame& frame);
  void SendError(const SessionPtr& session, uint64_t request_id, int reason);
  void BadFrame();
  // Starts (or joins) the relay fetch of `root` for the peer `exclude`; false when it cannot
  // (no other neighbour, a fetch of ours that is not a relay, a cycle).
  bool StartRelay(const blob::BlobRoot& root, int priority_class, uint32_t hops_left,
                  const std::string& exclude);
  void AnswerWaiters(const blob::BlobRoot& root, bool found);
  // Evicts the oldest relayed blobs not being fetched until `bytes` more fit in
  // relay_cache_bytes; false when they still do not.
  bool MakeRelayRoom(uint64_t bytes);
  // Our own fetch of `root`: a relayed copy of it stops counting (and is never evicted).
  void AdoptRelayed(const blob::BlobRoot& root);
  void NotifyChunksAvailable(const blob::BlobRoot& root);
  // Serves of `root` waiting for chunks that will not come (its fetch ended) get BlobError.
  void FailBlockedServes(const blob::BlobRoot& root);
  // Remembers that `session` probed our (own, not relayed) fetch of `root` with `probe_id`.
  void Watch(const blob::BlobRoot& root, const ReplicationSession& session, uint64_t probe_id);
  void ArmStallCheck();
  void CheckStalls();

  // Fetching.
  Fetch& NewFetch(const blob::BlobRoot& root, int priority_class, uint32_t hops_left);
  // Learns the manifest from the store if it has one (resume).
  Status LoadManifest(Fetch& f, const std::string& manifest_bytes);
  void ProbePeers(Fetch& f);
  void Probe(Fetch& f, const SessionPtr& session);
  void AskManifest(Fetch& f);
  // Fills `frame` with a BlobWant of `f` to `peer` (a probe, the manifest, or chunks: the caller
  // adds the ranges) and records the request; returns its id.
  uint64_t BeginWant(const Fetch& f, const std::string& peer, RequestKind kind, v1::Frame& frame);
  void Schedule(Fetch& f);
  void ScheduleAll();
  bool Banned(const Fetch& f, const std::string& source);
  bool SourceHas(const Source& s, uint64_t chunk) const;
  // Returns the chunks of `source` to todo (a link loss, an error, a ban).
  void Unassign(Fetch& f, const std::string& source, bool cancel);
  // Ends the fetch with `status` when nothing can make progress anymore.
  void CheckStuck(Fetch& f);
  void Finish(blob::BlobRoot root, Status status);  // by value: callers pass the fetch's own root
  void Progress(Fetch& f, bool final);

  // The root of request `id` if it is a `kind` request to `peer` (and forgets it).
  std::optional<blob::BlobRoot> TakeRequest(uint64_t id, RequestKind kind, const std::string& peer);
  // Schedule, then CheckStuck, of the fetch of `root` if it still runs.
  void Reschedule(const blob::BlobRoot& root);
  void OnManifest(const SessionPtr& session, const v1::BlobManifest& m);
  void OnPiece(const SessionPtr& session, const v1::BlobPiece& piece);
  void OnHave(const SessionPtr& session, const v1::BlobHave& have);
  // A peer's BlobHave update (v1::BlobHave::update): its chunks of a root we fetch changed.
  void OnHaveUpdate(const SessionPtr& session, const v1::BlobHave& have);
  // Sends our verified chunks of `f` to its watchers (every chunk when `complete`).
  void AnnounceHave(const Fetch& f, bool complete);
  void OnError(const SessionPtr& session, const v1::BlobError& error);
  // A chunk's WriteChunk (on the writer thread) answered; back on the loop.
  // `source` had the chunk assigned; `sources` sent its bytes (a resumed chunk may mix two).
  void OnChunkWritten(const blob::BlobRoot& root, uint64_t chunk, const std::string& source,
                      const std::set<std::string>& sources, const Status& written);
  void OnChunkVerified(Fetch& f, uint64_t chunk, const std::set<std::string>& sources);
  void OnBadChunk(Fetch& f, uint64_t chunk, const std::set<std::string>& sources);
  SessionPtr Connected(const std::string& peer) const;

  BlobEngineOptions options_;
  Clock& clock_;
  const std::map<std::string, SessionPtr>& established_;
  boost::asio::io_context& io_;
  // Verifies, writes and fsyncs chunks off the loop (one thread: a fetch's writes stay ordered).
  boost::asio::thread_pool writer_{1};
  std::unique_ptr<Timer> stall_timer_;
  bool stall_armed_ = false;
  std::map<blob::BlobRoot, Fetch> fetches_;
  std::map<FetchId, blob::BlobRoot> fetch_roots_;
  std::map<uint64_t, Request> requests_;
  uint64_t next_request_id_ = 1;
  // Received prefixes of chunks not verified yet, kept across fetches (a link loss ends a fetch
  // with UNAVAILABLE; the retry re-asks only the missing pieces). Bounded by kHeldPieceBytes.
  struct HeldChunk {
    std::string data;               // the received prefix
    std::set<std::string> sources;  // who sent it
  };
  std::map<blob::BlobRoot, std::map<uint64_t, HeldChunk>> pieces_;
  uint64_t held_piece_bytes_ = 0;
  uint64_t pending_writes_ = 0;  // chunks posted to writer_ and not answered yet
  std::map<blob::BlobRoot, BadRecord> bad_;
  std::map<blob::BlobRoot, std::vector<Waiter>> waiters_;
  // Blobs fetched only to relay them (root → size), oldest first: bounded by relay_cache_bytes,
  // the oldest evicted from the store to make room for a new relay (in memory: copies relayed
  // before a restart are left to the attachment layer's blob retention sweep).
  std::map<blob::BlobRoot, uint64_t> relayed_;
  std::deque<blob::BlobRoot> relay_order_;
  uint64_t relay_bytes_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
  BlobMetrics metrics_;
};

}  // namespace peat::mesh

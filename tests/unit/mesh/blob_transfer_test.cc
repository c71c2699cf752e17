// Blob transfer over the mesh (docs/spec/ATTACHMENTS.md §15): meshes on the in-memory network
// with a fake clock, each with its own BlobStore. One node ingests a file, another fetches it
// through Mesh's blob::BlobTransfer; the fetched blob must be byte-identical. Covers the sizes of
// §18 (0 B, 1 B, 256 KiB, 256 KiB + 1, ~1 MiB), the serve policy, bad chunks (ban, refetch
// elsewhere, DATA_LOSS), a link cut mid-blob (only missing pieces are sent again), a receiver
// restart (resume from the persisted bitmap), a critical document overtaking a bulk blob (the ¾
// rule), multi-source fetches and a relay on a line.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <tuple>

#include "common/endpoint_id.h"
#include "mesh/mesh_fixture.h"

namespace peat::mesh {
namespace {

using std::chrono::seconds;
using testing::kAddrA;
using testing::kAddrB;
using testing::kAddrC;
using testing::kIdA;
using testing::kIdB;
using testing::kIdC;

constexpr uint64_t kChunk = blob::kChunkBytes;

struct FetchState {
  blob::BlobTransfer::FetchId id = 0;
  std::mutex mu;
  std::optional<Status> done;
  int done_calls = 0;
  std::vector<blob::FetchProgress> progress;
};

bool IsBlobFrameOf(const std::string& bytes, v1::Frame::BodyCase kind, v1::Frame* out = nullptr) {
  v1::Frame frame;
  if (!frame.ParseFromString(bytes) || frame.body_case() != kind) return false;
  if (out) *out = std::move(frame);
  return true;
}

class BlobTransferTest : public testing::MeshFixture {
 protected:
  static std::string Content(uint64_t size, uint32_t seed) {
    std::string s(size, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (auto& c : s) {
      x = x * 1664525u + 1013904223u;
      c = static_cast<char>(x >> 24);
    }
    return s;
  }
  // Ingests `size` bytes (a pattern chosen by `seed`) into the node's BlobStore.
  blob::BlobRoot Ingest(TestNode& n, uint64_t size, uint32_t seed = 1) {
    const std::string path = files_.path() + "/f" + std::to_string(next_file_++);
    std::ofstream(path, std::ios::binary) << Content(size, seed);
    auto r = n.blobs->Ingest(path);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->root : blob::BlobRoot{};
  }
  static std::string ReadBlob(TestNode& n, const blob::BlobRoot& root) {
    std::ifstream in(n.blobs->CompletePath(root), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::shared_ptr<FetchState> StartFetch(TestNode& n, const blob::BlobRoot& root, uint64_t size,
                                         std::vector<std::string> sources, int cls = 3) {
    auto state = std::make_shared<FetchState>();
    blob::FetchRequest req;
    req.root = root;
    req.size = size;
    req.priority_class = cls;
    req.sources = std::move(sources);
    state->id = n.mesh->Fetch(
        std::move(req),
        [state](const blob::FetchProgress& p) {
          std::lock_guard lock(state->mu);
          state->progress.push_back(p);
        },
        [state](Status s) {
          std::lock_guard lock(state->mu);
          state->done = std::move(s);
          ++state->done_calls;
        });
    return state;
  }
  // Waits for the fetch to end; its status ("" if it never ended).
  std::string Finish(const std::shared_ptr<FetchState>& state) {
    const bool ended = WaitUntil([&] {
      std::lock_guard lock(state->mu);
      return state->done.has_value();
    });
    if (!ended) return "(no answer)";
    std::lock_guard lock(state->mu);
    EXPECT_EQ(state->done_calls, 1);
    return StatusCodeName(state->done->code());
  }
  static bool Ended(const std::shared_ptr<FetchState>& state) {
    std::lock_guard lock(state->mu);
    return state->done.has_value();
  }
  static std::string StatusCodeName(StatusCode code) {
    const std::string s = Status(code, "x").ToString();
    return s.substr(0, s.find(':'));
  }
  void Link(TestNode& from, TestNode& to) {
    ASSERT_EQ(ConnectPeer(from, to.id, to.address).ToString(), "OK");
    ASSERT_TRUE(WaitUntil([&] { return Connected(from, to.id) && Connected(to, from.id); }));
  }
  // A labelled sample ("" labels: unlabelled); 0 when absent.
  static double Sample(TestNode& n, const std::string& name, const std::string& labels = "") {
    std::string out;
    n.mesh->AppendMetrics(out);
    const std::string key = "\n" + name + (labels.empty() ? "" : "{" + labels + "}") + " ";
    const auto at = out.find(key);
    if (at == std::string::npos) return 0;
    return std::stod(out.substr(at + key.size()));
  }
  // A and B, each with a BlobStore, running and not connected.
  std::tuple<TestNode&, TestNode&> TwoNodes() {
    auto& a = AddNode(kIdA, kAddrA, {}, /*with_blobs=*/true);
    auto& b = AddNode(kIdB, kAddrB, {}, /*with_blobs=*/true);
    Start(a);
    Start(b);
    return {a, b};
  }
  // Pieces A sends on links made from now on vanish when `drop` says so (counted in `dropped`).
  void DropPiecesOfA(std::atomic<int>& dropped, std::function<bool(const v1::BlobPiece&)> drop) {
    net_.DropFrames(kIdA, [&dropped, drop](const std::string& bytes) {
      v1::Frame f;
      if (!IsBlobFrameOf(bytes, v1::Frame::kBlobPiece, &f) || !drop(f.blob_piece())) return false;
      ++dropped;
      return true;
    });
  }
  // A, B and C, each with a BlobStore, running and not connected.
  std::tuple<TestNode&, TestNode&, TestNode&> ThreeNodes() {
    auto& a = AddNode(kIdA, kAddrA, {}, /*with_blobs=*/true);
    auto& b = AddNode(kIdB, kAddrB, {}, /*with_blobs=*/true);
    auto& c = AddNode(kIdC, kAddrC, {}, /*with_blobs=*/true);
    for (TestNode* n : {&a, &b, &c}) Start(*n);
    return {a, b, c};
  }
  // Lets `secs` seconds pass a second at a time (keepalives flow: links stay up).
  void Pass(int secs) {
    for (int i = 0; i < secs; ++i) {
      clock_.Advance(seconds(1));
      Settle();
    }
  }
  static std::string PeerLabel(const std::string& id) {
    return "peer=\"" + ShortEndpointId(id) + "\"";
  }

  peat::testing::TempDir files_{"peat-mesh-files"};
  int next_file_ = 0;
};

TEST_F(BlobTransferTest, ServesAndFetchesEverySizeByteIdentical) {
  auto [a, b] = TwoNodes();
  Link(b, a);
  uint32_t seed = 1;
  uint64_t total = 0;
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, kChunk, kChunk + 1, 4 * kChunk + 12345}) {
    SCOPED_TRACE("size " + std::to_string(size));
    const auto root = Ingest(a, size, seed);
    auto fetch = StartFetch(b, root, size, {kIdA});
    ASSERT_EQ(Finish(fetch), "OK");
    EXPECT_TRUE(b.blobs->Has(root));
    EXPECT_EQ(ReadBlob(b, root), Content(size, seed));
    {
      std::lock_guard lock(fetch->mu);
      ASSERT_FALSE(fetch->progress.empty());
      EXPECT_EQ(fetch->progress.back().verified_bytes, size);
      EXPECT_EQ(fetch->progress.back().total_bytes, size);
      if (size > 0) {
        EXPECT_EQ(fetch->progress.back().sources, std::vector<std::string>{kIdA});
      }
    }
    // Fetching what is already there answers OK at once.
    EXPECT_EQ(Finish(StartFetch(b, root, size, {kIdA})), "OK");
    total += size;
    ++seed;
  }
  EXPECT_EQ(Sample(b, "peat_blob_bytes_received_total", PeerLabel(kIdA)), total);
  EXPECT_EQ(Sample(a, "peat_blob_bytes_sent_total", PeerLabel(kIdB) + ",class=\"3\""), total);
  EXPECT_EQ(Sample(b, "peat_blob_duplicate_bytes_total"), 0);
  EXPECT_EQ(Sample(b, "peat_blob_active_fetches"), 0);
}

TEST_F(BlobTransferTest, NoConnectedSourceIsUnavailableAndNoStoreIsAnError) {
  auto& a = AddNode(kIdA, kAddrA, {}, /*with_blobs=*/true);
  auto& b = AddNode(kIdB, kAddrB);  // no blob store: answers not_found
  Start(a);
  Start(b);
  const auto root = Ingest(a, 1000);
  EXPECT_EQ(Finish(StartFetch(a, blob::BlobRoot{}, 10, {kIdB})), "UNAVAILABLE");
  Link(a, b);
  EXPECT_EQ(Finish(StartFetch(a, blob::BlobRoot{}, 10, {kIdB})), "UNAVAILABLE");  // not_found
  EXPECT_EQ(Finish(StartFetch(b, root, 1000, {kIdA})), "FAILED_PRECONDITION");
}

TEST_F(BlobTransferTest, ACancelledRootIsRefusedWithBlobErrorCancelled) {
  std::atomic<int> cancelled_errors{0};
  net_.DropFrames(kIdA, [&](const std::string& bytes) {
    v1::Frame f;
    if (IsBlobFrameOf(bytes, v1::Frame::kBlobError, &f) &&
        f.blob_error().reason() == v1::BlobError::REASON_CANCELLED) {
      ++cancelled_errors;
    }
    return false;
  });
  auto& a = AddNode(kIdA, kAddrA, {}, /*with_blobs=*/true);
  auto& b = AddNode(kIdB, kAddrB, {}, /*with_blobs=*/true);
  a.tweak = [](MeshOptions& o) {
    o.blob_serve_policy = [](const blob::BlobRoot&) { return false; };
  };
  Recreate(a);
  Start(a);
  Start(b);
  Link(b, a);
  const auto root = Ingest(a, 3000);
  EXPECT_EQ(Finish(StartFetch(b, root, 3000, {kIdA})), "UNAVAILABLE");
  EXPECT_GE(cancelled_errors.load(), 1);
  EXPECT_FALSE(b.blobs->Has(root));
}

TEST_F(BlobTransferTest, ABadChunkBansItsSourceAndIsFetchedElsewhere) {
  auto [a, b, c] = ThreeNodes();
  const uint64_t size = 6 * kChunk;
  const auto root = Ingest(a, size);
  ASSERT_EQ(Ingest(c, size), root);
  {  // C's copy rots on disk: every chunk it serves is bad.
    std::ofstream out(c.blobs->CompletePath(root), std::ios::binary | std::ios::in);
    out << Content(size, 99);
  }
  Link(b, a);
  Link(b, c);
  auto fetch = StartFetch(b, root, size, {kIdC, kIdA});
  ASSERT_EQ(Finish(fetch), "OK");
  EXPECT_EQ(ReadBlob(b, root), Content(size, 1));
  EXPECT_GE(Sample(b, "peat_blob_bad_chunks_total", PeerLabel(kIdC)), 1);
  EXPECT_EQ(Sample(b, "peat_blob_bad_chunks_total", PeerLabel(kIdA)), 0);
  std::lock_guard lock(fetch->mu);
  EXPECT_EQ(fetch->progress.back().sources, std::vector<std::string>{kIdA});
}

TEST_F(BlobTransferTest, ThreeBadChunksFromTheOnlySourceAreDataLoss) {
  auto [a, b] = TwoNodes();
  const uint64_t size = 2 * kChunk;
  const auto root = Ingest(a, size);
  {
    std::ofstream out(a.blobs->CompletePath(root), std::ios::binary | std::ios::in);
    out << Content(size, 99);
  }
  Link(b, a);
  // Banned after each bad chunk: transient until the third.
  EXPECT_EQ(Finish(StartFetch(b, root, size, {kIdA})), "UNAVAILABLE");
  EXPECT_EQ(Finish(StartFetch(b, root, size, {kIdA})), "UNAVAILABLE");  // still banned
  Pass(61);
  EXPECT_EQ(Finish(StartFetch(b, root, size, {kIdA})), "UNAVAILABLE");
  Pass(61);
  EXPECT_EQ(Finish(StartFetch(b, root, size, {kIdA})), "DATA_LOSS");
  // Every bad chunk is counted (a burst may hold several), the strikes once per ban.
  EXPECT_GE(Sample(b, "peat_blob_bad_chunks_total", PeerLabel(kIdA)), 3);
  EXPECT_FALSE(b.blobs->Has(root));
}

TEST_F(BlobTransferTest, ALinkCutMidBlobResendsOnlyTheMissingPieces) {
  // The first link loses every piece past the first 64 KiB of chunks 1.. (a link going bad).
  std::atomic<int> dropped{0};
  DropPiecesOfA(dropped,
                [](const v1::BlobPiece& p) { return p.chunk() >= 1 && p.offset() >= 64 * 1024; });
  auto [a, b] = TwoNodes();
  const uint64_t size = 4 * kChunk;
  const auto root = Ingest(a, size);
  Link(b, a);
  auto first = StartFetch(b, root, size, {kIdA});
  ASSERT_TRUE(WaitUntil([&] { return dropped.load() >= 3; }));
  Settle();
  EXPECT_FALSE(Ended(first));
  ASSERT_TRUE(DisconnectPeer(b, kIdA).ok());
  EXPECT_EQ(Finish(first), "UNAVAILABLE");  // no source left: the caller retries later
  const double before = Sample(b, "peat_blob_bytes_received_total", PeerLabel(kIdA));
  EXPECT_GT(before, kChunk);  // chunk 0 and prefixes of later chunks
  EXPECT_LT(before, size);

  net_.DropFrames(kIdA, [](const std::string&) { return false; });  // the link heals
  Link(b, a);
  ASSERT_EQ(Finish(StartFetch(b, root, size, {kIdA})), "OK");
  EXPECT_EQ(ReadBlob(b, root), Content(size, 1));
  // Every byte crossed once: only the missing pieces were asked again.
  EXPECT_EQ(Sample(b, "peat_blob_bytes_received_total", PeerLabel(kIdA)), size);
  EXPECT_EQ(Sample(b, "peat_blob_duplicate_bytes_total"), 0);
}

TEST_F(BlobTransferTest, ASourceThatStopsServingIsGivenUpAfter30Seconds) {
  std::atomic<int> dropped{0};
  DropPiecesOfA(dropped, [](const v1::BlobPiece& p) { return p.chunk() >= 1; });
  auto [a, b] = TwoNodes();
  const uint64_t size = 3 * kChunk;
  const auto root = Ingest(a, size);
  Link(b, a);
  auto fetch = StartFetch(b, root, size, {kIdA});
  ASSERT_TRUE(WaitUntil([&] { return dropped.load() >= 1; }));
  Pass(29);
  EXPECT_FALSE(Ended(fetch));
  Pass(6);  // checked every 5 s
  EXPECT_EQ(Finish(fetch), "UNAVAILABLE");
  EXPECT_TRUE(Connected(b, kIdA));  // the link itself is fine
}

TEST_F(BlobTransferTest, AReceiverRestartResumesFromThePersistedBitmap) {
  std::atomic<int> dropped{0};
  DropPiecesOfA(dropped, [](const v1::BlobPiece& p) { return p.chunk() >= 2; });
  auto [a, b] = TwoNodes();
  const uint64_t size = 4 * kChunk + 7;
  const auto root = Ingest(a, size);
  Link(b, a);
  auto first = StartFetch(b, root, size, {kIdA});
  ASSERT_TRUE(WaitUntil([&, &b = b] {
    auto missing = b.blobs->MissingChunks(root);
    return dropped.load() >= 1 && missing.ok() && missing->size() == 3;
  }));
  // The receiver goes away (kill -9 keeps only what the store persisted) and comes back.
  net_.DropFrames(kIdA, [](const std::string&) { return false; });
  Recreate(b);
  EXPECT_EQ(Finish(first), "CANCELLED");
  Start(b);
  Link(b, a);
  ASSERT_EQ(Finish(StartFetch(b, root, size, {kIdA})), "OK");
  EXPECT_EQ(ReadBlob(b, root), Content(size, 1));
  // The new process asked only the chunks its bitmap said were missing.
  EXPECT_EQ(Sample(b, "peat_blob_bytes_received_total", PeerLabel(kIdA)), size - 2 * kChunk);
}

TEST_F(BlobTransferTest, ACriticalDocumentIsNotStuckBehindABulkBlob) {
  // B never acknowledges pieces: A's window fills with bulk pieces and stays full.
  net_.DropFrames(
      kIdB, [](const std::string& bytes) { return IsBlobFrameOf(bytes, v1::Frame::kBlobAck); });
  auto& a = AddNode(kIdA, kAddrA, {}, /*with_blobs=*/true);
  auto& b = AddNode(kIdB, kAddrB, {}, /*with_blobs=*/true);
  a.tweak = [](MeshOptions& o) { o.collection_priorities = {{"urgent", 5}}; };
  Recreate(a);
  Start(a);
  Start(b);
  const uint64_t size = 16 * kChunk;
  const auto root = Ingest(a, size);
  Link(b, a);
  auto bulk = StartFetch(b, root, size, {kIdA}, /*cls=*/1);
  ASSERT_TRUE(
      WaitUntil([&] { return Sample(b, "peat_blob_bytes_received_total", PeerLabel(kIdA)) > 0; }));
  for (int i = 0; i < 5; ++i) Settle();
  const double stalled = Sample(b, "peat_blob_bytes_received_total", PeerLabel(kIdA));
  for (int i = 0; i < 5; ++i) Settle();
  EXPECT_EQ(Sample(b, "peat_blob_bytes_received_total", PeerLabel(kIdA)), stalled);
  EXPECT_LT(stalled, size);  // the bulk blob is stuck on a full (¾) window

  ASSERT_TRUE(store::testing::PutSync(*a.store, "urgent", "u1", R"({"go":true})").ok());
  ASSERT_TRUE(WaitUntil([&] {
    auto doc = b.store->Get("urgent", "u1");
    return doc.ok() && doc->has_value();
  }));
  EXPECT_FALSE(Ended(bulk));
}

TEST_F(BlobTransferTest, ALowerBlobAsksNoChunksOfASourceBusyWithACriticalOne) {
  std::atomic<int> critical_pieces{0};
  blob::BlobRoot critical{};
  net_.DropFrames(kIdA, [&](const std::string& bytes) {  // the critical blob's pieces get lost
    v1::Frame f;
    if (!IsBlobFrameOf(bytes, v1::Frame::kBlobPiece, &f) ||
        f.blob_piece().root() != std::string(critical.begin(), critical.end())) {
      return false;
    }
    ++critical_pieces;
    return true;
  });
  std::atomic<int> bulk_chunk_wants{0};
  net_.DropFrames(kIdB, [&](const std::string& bytes) {
    v1::Frame f;
    if (IsBlobFrameOf(bytes, v1::Frame::kBlobWant, &f) && f.blob_want().ranges_size() > 0 &&
        f.blob_want().priority_class() == 1) {
      ++bulk_chunk_wants;
    }
    return false;
  });
  auto [a, b] = TwoNodes();
  critical = Ingest(a, 2 * kChunk, 1);
  const auto bulk = Ingest(a, 2 * kChunk, 2);
  Link(b, a);
  auto urgent = StartFetch(b, critical, 2 * kChunk, {kIdA}, /*cls=*/5);
  ASSERT_TRUE(WaitUntil([&] { return critical_pieces.load() >= 1; }));
  auto low = StartFetch(b, bulk, 2 * kChunk, {kIdA}, /*cls=*/1);
  for (int i = 0; i < 5; ++i) Settle();
  EXPECT_EQ(bulk_chunk_wants.load(), 0);  // held while the critical one is active
  EXPECT_FALSE(Ended(low));
  // The critical fetch ends: the bulk one asks at once. (A's window stays full of the lost
  // pieces, which only this test can lose: a real link is reliable, so it is not fetched here.)
  b.mesh->CancelFetch(urgent->id);
  EXPECT_EQ(Finish(urgent), "CANCELLED");
  EXPECT_TRUE(WaitUntil([&] { return bulk_chunk_wants.load() >= 1; }));
  b.mesh->CancelFetch(low->id);
  EXPECT_EQ(Finish(low), "CANCELLED");
}

TEST_F(BlobTransferTest, ChunksComeFromSeveralSources) {
  auto [a, b, c] = ThreeNodes();
  const uint64_t size = 12 * kChunk + 5;
  const auto root = Ingest(b, size);
  ASSERT_EQ(Ingest(c, size), root);
  Link(a, b);
  Link(a, c);
  // Only B is listed; C is found by the probe.
  auto fetch = StartFetch(a, root, size, {kIdB});
  ASSERT_EQ(Finish(fetch), "OK");
  EXPECT_EQ(ReadBlob(a, root), Content(size, 1));
  EXPECT_GT(Sample(a, "peat_blob_bytes_received_total", PeerLabel(kIdB)), 0);
  EXPECT_GT(Sample(a, "peat_blob_bytes_received_total", PeerLabel(kIdC)), 0);
  EXPECT_EQ(Sample(a, "peat_blob_bytes_received_total", PeerLabel(kIdB)) +
                Sample(a, "peat_blob_bytes_received_total", PeerLabel(kIdC)),
            size);
  std::lock_guard lock(fetch->mu);
  EXPECT_EQ(fetch->progress.back().sources, (std::vector<std::string>{kIdB, kIdC}));
}

TEST_F(BlobTransferTest, ReceiversOfOneBlobServeEachOther) {
  // A has the blob; B, C and D fetch it at once over a full mesh. Each starts at a random chunk
  // and tells the peers that probed it (before it had anything) which chunks it verified, so
  // they fetch those from it instead of from A.
  auto [a, b, c] = ThreeNodes();
  const std::string kIdD(64, 'd');
  auto& d = AddNode(kIdD, "127.0.0.1:4004", {}, /*with_blobs=*/true);
  for (TestNode* n : {&b, &c, &d}) {
    n->tweak = [](MeshOptions& o) { o.blob_spread_chunks = true; };
    Recreate(*n);
    Start(*n);
  }
  const uint64_t size = 48 * kChunk + 17;
  const auto root = Ingest(a, size);
  for (TestNode* n : {&b, &c, &d}) Link(*n, a);
  Link(b, c);
  Link(b, d);
  Link(c, d);
  std::vector<std::shared_ptr<FetchState>> fetches;
  for (TestNode* n : {&b, &c, &d}) fetches.push_back(StartFetch(*n, root, size, {kIdA}));
  for (auto& f : fetches) ASSERT_EQ(Finish(f), "OK");
  double from_a = 0, from_peers = 0;
  for (TestNode* n : {&b, &c, &d}) {
    EXPECT_EQ(ReadBlob(*n, root), Content(size, 1));
    for (const std::string& peer : {kIdA, kIdB, kIdC, kIdD}) {
      const double got = Sample(*n, "peat_blob_bytes_received_total", PeerLabel(peer));
      (peer == kIdA ? from_a : from_peers) += got;
    }
    EXPECT_EQ(Sample(*n, "peat_blob_duplicate_bytes_total"), 0);
  }
  EXPECT_EQ(from_a + from_peers, 3.0 * static_cast<double>(size));
  EXPECT_GT(from_peers, 0);  // receivers served each other
  EXPECT_LT(from_a, 3.0 * static_cast<double>(size));
}

TEST_F(BlobTransferTest, ALineRelaysTheBlobThroughTheMiddleNode) {
  auto [a, b, c] = ThreeNodes();
  const uint64_t size = 3 * kChunk + 99;
  const auto root = Ingest(a, size);
  Link(b, a);
  Link(c, b);  // A–B–C, no A–C session
  auto fetch = StartFetch(c, root, size, {kIdA});
  ASSERT_EQ(Finish(fetch), "OK");
  EXPECT_EQ(ReadBlob(c, root), Content(size, 1));
  EXPECT_TRUE(WaitUntil([&, &b = b] { return b.blobs->Has(root); }));  // the relay kept its copy
  EXPECT_EQ(Sample(c, "peat_blob_bytes_received_total", PeerLabel(kIdB)), size);
  EXPECT_EQ(Sample(b, "peat_blob_active_fetches"), 0);  // relays are not counted
}

TEST_F(BlobTransferTest, ARelayEvictsItsOldestRelayedCopyToMakeRoom) {
  auto& a = AddNode(kIdA, kAddrA, {}, /*with_blobs=*/true);
  auto& b = AddNode(kIdB, kAddrB, {}, /*with_blobs=*/true);
  auto& c = AddNode(kIdC, kAddrC, {}, /*with_blobs=*/true);
  b.tweak = [](MeshOptions& o) { o.blob_relay_cache_bytes = 5 * kChunk; };
  Recreate(b);
  for (TestNode* n : {&a, &b, &c}) Start(*n);
  const uint64_t size = 3 * kChunk;
  const auto first = Ingest(a, size, 1);
  const auto second = Ingest(a, size, 2);
  Link(b, a);
  Link(c, b);  // A–B–C: B relays, and holds at most 5 chunks of relayed blobs
  ASSERT_EQ(Finish(StartFetch(c, first, size, {kIdA})), "OK");
  ASSERT_TRUE(WaitUntil([&, &b = b] { return b.blobs->Has(first); }));
  ASSERT_EQ(Finish(StartFetch(c, second, size, {kIdA})), "OK");  // 6 chunks: the first goes
  EXPECT_EQ(ReadBlob(c, second), Content(size, 2));
  EXPECT_TRUE(WaitUntil([&, &b = b] { return b.blobs->Has(second); }));
  EXPECT_FALSE(b.blobs->Has(first));
  // B's own fetch of a relayed blob adopts it: a later relay never evicts it.
  ASSERT_EQ(Finish(StartFetch(b, second, size, {kIdA})), "OK");
  const auto third = Ingest(a, size, 3);
  ASSERT_EQ(Finish(StartFetch(c, third, size, {kIdA})), "OK");
  EXPECT_TRUE(b.blobs->Has(second));
  EXPECT_TRUE(b.blobs->Has(third));
}

TEST_F(BlobTransferTest, TwoRelaysAskingEachOtherDoNotWaitForEachOther) {
  // A–B, B–D, B–C, C–D: C's probe reaches B and D, which both relay and ask each other.
  auto [a, b, c] = ThreeNodes();
  const std::string kIdD(64, 'd');
  auto& d = AddNode(kIdD, "127.0.0.1:4004", {}, /*with_blobs=*/true);
  Start(d);
  const uint64_t size = 2 * kChunk + 3;
  const auto root = Ingest(a, size);
  Link(b, a);
  Link(b, d);
  Link(c, b);
  Link(c, d);
  // No time passes: a wait between the relays would never end.
  ASSERT_EQ(Finish(StartFetch(c, root, size, {kIdA})), "OK");
  EXPECT_EQ(ReadBlob(c, root), Content(size, 1));
}

TEST_F(BlobTransferTest, ListBlobPeersAndTheEstablishedObserver) {
  auto& a = AddNode(kIdA, kAddrA, {}, /*with_blobs=*/true);
  auto& b = AddNode(kIdB, kAddrB, {}, /*with_blobs=*/true);
  b.tweak = [](MeshOptions& o) { o.accepts_attachments = true; };
  Recreate(b);
  std::mutex mu;
  std::vector<blob::BlobPeerInfo> seen;
  a.mesh->SetPeerEstablishedObserver([&](const blob::BlobPeerInfo& p) {
    std::lock_guard lock(mu);
    seen.push_back(p);
  });
  Start(a);
  Start(b);
  Link(a, b);
  auto peers = testing::Await<std::vector<blob::BlobPeerInfo>>(
      [&](auto done) { a.mesh->ListBlobPeers(done); });
  ASSERT_TRUE(peers.has_value());
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].endpoint_id, kIdB);
  EXPECT_EQ((*peers)[0].node_id, "node-b");
  EXPECT_TRUE((*peers)[0].connected);
  EXPECT_TRUE((*peers)[0].accepts_attachments);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].endpoint_id, kIdB);
    EXPECT_TRUE(seen[0].accepts_attachments);
  }
  Stop(b);
  ASSERT_TRUE(WaitUntil([&] { return !Connected(a, kIdB); }));
  peers = testing::Await<std::vector<blob::BlobPeerInfo>>(
      [&](auto done) { a.mesh->ListBlobPeers(done); });
  ASSERT_TRUE(peers.has_value() && peers->size() == 1u);
  EXPECT_FALSE((*peers)[0].connected);
  EXPECT_EQ((*peers)[0].node_id, "node-b");  // seen this run
}

}  // namespace
}  // namespace peat::mesh

// The blob frame checks (mesh/blob_frames.h) on arbitrary bytes parsed as a peat.mesh.v1.Frame,
// as a peer could send them (docs/spec/ATTACHMENTS.md §16 row 39: garbage is dropped and counted,
// never a crash).
//
// Invariants (a violation traps): a frame CheckBlobFrame accepts has every field in range — a
// 32-byte root and a non-zero request id where the kind has them, a class in 1..5, at most
// kMaxBlobRanges non-empty ranges, hops within kMaxBlobHops, piece data of 1..64 KiB ending
// within the largest chunk, a known error reason, no bitmap on a complete BlobHave; a refused one
// is INVALID_ARGUMENT with a message. An accepted piece is then checked against a fixed manifest
// (three chunks of 4 KiB + 1 byte): accepted only when its chunk exists and it ends within that
// chunk. Re-serializing an accepted frame and parsing it again gives a frame that is accepted too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "blob/manifest.h"
#include "fuzz_check.h"
#include "mesh/blob_frames.h"
#include "peat/mesh/v1/mesh.pb.h"

namespace {

using peat::StatusCode;
using peat::mesh::CheckBlobFrame;
using peat::mesh::CheckPieceAgainst;
using peat::mesh::IsBlobFrame;
namespace v1 = peat::mesh::v1;

peat::blob::BlobManifest SmallManifest() {
  peat::blob::BlobManifest m;
  m.chunk_bytes = peat::blob::kMinChunkBytes;
  m.size = 2 * uint64_t{m.chunk_bytes} + 1;
  m.chunk_hashes.resize(3);
  return m;
}

void CheckAccepted(const v1::Frame& f) {
  constexpr size_t kRoot = peat::blob::kHashBytes;
  switch (f.body_case()) {
    case v1::Frame::kBlobWant: {
      const auto& w = f.blob_want();
      FUZZ_CHECK(w.request_id() != 0 && w.root().size() == kRoot);
      FUZZ_CHECK(w.priority_class() >= 1 && w.priority_class() <= 5);
      FUZZ_CHECK(w.ranges_size() <= peat::mesh::kMaxBlobRanges);
      FUZZ_CHECK(w.hops_left() <= peat::mesh::kMaxBlobHops);
      for (const auto& r : w.ranges()) FUZZ_CHECK(r.first_chunk() < r.end_chunk());
      break;
    }
    case v1::Frame::kBlobPiece: {
      const auto& p = f.blob_piece();
      FUZZ_CHECK(p.request_id() != 0 && p.root().size() == kRoot);
      FUZZ_CHECK(!p.data().empty() && p.data().size() <= peat::mesh::kMaxBlobPieceBytes);
      FUZZ_CHECK(uint64_t{p.offset()} + p.data().size() <= peat::blob::kMaxChunkBytes);
      static const peat::blob::BlobManifest manifest = SmallManifest();
      const bool fits = p.chunk() < manifest.chunk_count() &&
                        uint64_t{p.offset()} + p.data().size() <= manifest.ChunkLength(p.chunk());
      auto s = CheckPieceAgainst(p, manifest);
      FUZZ_CHECK(s.ok() == fits);
      FUZZ_CHECK(s.ok() || (s.code() == StatusCode::kInvalidArgument && !s.message().empty()));
      break;
    }
    case v1::Frame::kBlobManifest:
      FUZZ_CHECK(f.blob_manifest().request_id() != 0 && f.blob_manifest().root().size() == kRoot);
      break;
    case v1::Frame::kBlobHave:
      FUZZ_CHECK(f.blob_have().root().size() == kRoot);
      FUZZ_CHECK(!f.blob_have().complete() || f.blob_have().chunk_bitmap().empty());
      break;
    case v1::Frame::kBlobError:
      FUZZ_CHECK(v1::BlobError::Reason_IsValid(f.blob_error().reason()));
      FUZZ_CHECK(f.blob_error().reason() != v1::BlobError::REASON_UNSPECIFIED);
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  v1::Frame frame;
  if (!frame.ParseFromArray(data, static_cast<int>(size)) || !IsBlobFrame(frame)) return 0;
  auto checked = CheckBlobFrame(frame);
  if (!checked.ok()) {
    FUZZ_CHECK(checked.code() == StatusCode::kInvalidArgument);
    FUZZ_CHECK(!checked.message().empty());
    return 0;
  }
  CheckAccepted(frame);
  v1::Frame again;
  FUZZ_CHECK(again.ParseFromString(frame.SerializeAsString()));
  FUZZ_CHECK(CheckBlobFrame(again).ok());
  return 0;
}

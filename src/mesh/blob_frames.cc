#include "mesh/blob_frames.h"

#include <algorithm>
#include <cstring>

#include "peat/mesh/v1/mesh.pb.h"

namespace peat::mesh {

namespace {

Status CheckRoot(const std::string& root) {
  if (root.size() != blob::kHashBytes) return InvalidArgumentError("root: not 32 bytes");
  return Status::Ok();
}

Status CheckRequestId(uint64_t id) {
  if (id == 0) return InvalidArgumentError("request_id: zero");
  return Status::Ok();
}

Status CheckWant(const v1::BlobWant& want) {
  PEAT_RETURN_IF_ERROR(CheckRequestId(want.request_id()));
  PEAT_RETURN_IF_ERROR(CheckRoot(want.root()));
  if (want.priority_class() < 1 || want.priority_class() > 5) {
    return InvalidArgumentError("priority_class: not in 1..5");
  }
  if (want.ranges_size() > kMaxBlobRanges) return InvalidArgumentError("ranges: too many");
  if (want.hops_left() > kMaxBlobHops) return InvalidArgumentError("hops_left: too large");
  for (const auto& r : want.ranges()) {
    if (r.end_chunk() <= r.first_chunk()) return InvalidArgumentError("ranges: empty range");
    if (r.first_offset() >= blob::kMaxChunkBytes) {
      return InvalidArgumentError("ranges: first_offset past any chunk");
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsBlobFrame(const v1::Frame& frame) {
  switch (frame.body_case()) {
    case v1::Frame::kBlobWant:
    case v1::Frame::kBlobManifest:
    case v1::Frame::kBlobPiece:
    case v1::Frame::kBlobAck:
    case v1::Frame::kBlobHave:
    case v1::Frame::kBlobCancel:
    case v1::Frame::kBlobError:
      return true;
    default:
      return false;
  }
}

Status CheckBlobFrame(const v1::Frame& frame) {
  switch (frame.body_case()) {
    case v1::Frame::kBlobWant:
      return CheckWant(frame.blob_want());
    case v1::Frame::kBlobManifest:
      PEAT_RETURN_IF_ERROR(CheckRequestId(frame.blob_manifest().request_id()));
      PEAT_RETURN_IF_ERROR(CheckRoot(frame.blob_manifest().root()));
      if (frame.blob_manifest().manifest().size() < blob::kManifestHeaderBytes) {
        return InvalidArgumentError("manifest: shorter than its header");
      }
      return Status::Ok();
    case v1::Frame::kBlobPiece: {
      const auto& p = frame.blob_piece();
      PEAT_RETURN_IF_ERROR(CheckRequestId(p.request_id()));
      PEAT_RETURN_IF_ERROR(CheckRoot(p.root()));
      if (p.data().empty()) return InvalidArgumentError("data: empty");
      if (p.data().size() > kMaxBlobPieceBytes) return InvalidArgumentError("data: over 64 KiB");
      if (uint64_t{p.offset()} + p.data().size() > blob::kMaxChunkBytes) {
        return InvalidArgumentError("offset: past any chunk");
      }
      return Status::Ok();
    }
    case v1::Frame::kBlobAck:
      PEAT_RETURN_IF_ERROR(CheckRequestId(frame.blob_ack().request_id()));
      if (frame.blob_ack().bytes() > kMaxBlobPieceBytes) {
        return InvalidArgumentError("bytes: over one piece");
      }
      return Status::Ok();
    case v1::Frame::kBlobHave:
      PEAT_RETURN_IF_ERROR(CheckRequestId(frame.blob_have().request_id()));
      PEAT_RETURN_IF_ERROR(CheckRoot(frame.blob_have().root()));
      if (frame.blob_have().complete() && !frame.blob_have().chunk_bitmap().empty()) {
        return InvalidArgumentError("chunk_bitmap: set on a complete blob");
      }
      return Status::Ok();
    case v1::Frame::kBlobCancel:
      return CheckRequestId(frame.blob_cancel().request_id());
    case v1::Frame::kBlobError:
      PEAT_RETURN_IF_ERROR(CheckRequestId(frame.blob_error().request_id()));
      if (frame.blob_error().reason() == v1::BlobError::REASON_UNSPECIFIED ||
          !v1::BlobError::Reason_IsValid(frame.blob_error().reason())) {
        return InvalidArgumentError("reason: unknown");
      }
      return Status::Ok();
    default:
      return InvalidArgumentError("not a blob frame");
  }
}

Status CheckPieceAgainst(const v1::BlobPiece& piece, const blob::BlobManifest& manifest) {
  if (piece.chunk() >= manifest.chunk_count()) {
    return InvalidArgumentError("chunk: past the blob's last chunk");
  }
  if (uint64_t{piece.offset()} + piece.data().size() > manifest.ChunkLength(piece.chunk())) {
    return InvalidArgumentError("offset: past the end of the chunk");
  }
  return Status::Ok();
}

blob::BlobRoot RootFromBytes(const std::string& bytes) {
  blob::BlobRoot root{};
  std::memcpy(root.data(), bytes.data(), std::min(bytes.size(), root.size()));
  return root;
}

}  // namespace peat::mesh

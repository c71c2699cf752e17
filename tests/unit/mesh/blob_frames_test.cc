// Blob frame checks (§15.3, §16 row 39): every field a peer sends is validated before use.
#include "mesh/blob_frames.h"

#include <gtest/gtest.h>

#include <string>

#include "peat/mesh/v1/mesh.pb.h"

namespace peat::mesh {
namespace {

const std::string kRoot(32, '\x11');

v1::Frame Want() {
  v1::Frame f;
  auto* w = f.mutable_blob_want();
  w->set_request_id(7);
  w->set_root(kRoot);
  w->set_priority_class(3);
  auto* r = w->add_ranges();
  r->set_first_chunk(0);
  r->set_end_chunk(2);
  return f;
}

v1::Frame Piece(uint64_t chunk, uint32_t offset, size_t len) {
  v1::Frame f;
  auto* p = f.mutable_blob_piece();
  p->set_request_id(7);
  p->set_root(kRoot);
  p->set_chunk(chunk);
  p->set_offset(offset);
  p->set_data(std::string(len, 'x'));
  return f;
}

TEST(BlobFramesTest, WellFormedFramesPass) {
  EXPECT_TRUE(CheckBlobFrame(Want()).ok());
  EXPECT_TRUE(CheckBlobFrame(Piece(3, 65536, kMaxBlobPieceBytes)).ok());
  v1::Frame e;
  e.mutable_blob_error()->set_request_id(1);
  e.mutable_blob_error()->set_reason(v1::BlobError::REASON_CANCELLED);
  EXPECT_TRUE(CheckBlobFrame(e).ok());
  EXPECT_TRUE(IsBlobFrame(e));
  v1::Frame ping;
  ping.mutable_ping();
  EXPECT_FALSE(IsBlobFrame(ping));
}

TEST(BlobFramesTest, EveryBadFieldIsRefusedByName) {
  auto expect_bad = [](const v1::Frame& f, const std::string& field) {
    Status s = CheckBlobFrame(f);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << field;
    EXPECT_EQ(s.message().rfind(field, 0), 0u) << s.message();
  };
  v1::Frame f = Want();
  f.mutable_blob_want()->set_root(std::string(31, 'r'));
  expect_bad(f, "root");
  f = Want();
  f.mutable_blob_want()->set_request_id(0);
  expect_bad(f, "request_id");
  for (uint32_t c : {0u, 6u, 99u}) {
    f = Want();
    f.mutable_blob_want()->set_priority_class(c);
    expect_bad(f, "priority_class");
  }
  f = Want();
  f.mutable_blob_want()->mutable_ranges(0)->set_end_chunk(0);
  expect_bad(f, "ranges");
  f = Want();
  for (int i = 0; i < kMaxBlobRanges; ++i)
    *f.mutable_blob_want()->add_ranges() = Want().blob_want().ranges(0);
  expect_bad(f, "ranges");
  f = Want();
  f.mutable_blob_want()->set_hops_left(kMaxBlobHops + 1);
  expect_bad(f, "hops_left");
  expect_bad(Piece(0, 0, kMaxBlobPieceBytes + 1), "data");
  expect_bad(Piece(0, 0, 0), "data");
  expect_bad(Piece(0, blob::kMaxChunkBytes - 1, 2), "offset");
  v1::Frame e;
  e.mutable_blob_error()->set_request_id(1);
  expect_bad(e, "reason");
  e.mutable_blob_error()->set_reason(static_cast<v1::BlobError::Reason>(77));
  expect_bad(e, "reason");
  v1::Frame h;
  h.mutable_blob_have()->set_request_id(1);
  h.mutable_blob_have()->set_root(kRoot);
  h.mutable_blob_have()->set_complete(true);
  h.mutable_blob_have()->set_chunk_bitmap("\x01");
  expect_bad(h, "chunk_bitmap");
  v1::Frame m;
  m.mutable_blob_manifest()->set_request_id(1);
  m.mutable_blob_manifest()->set_root(kRoot);
  m.mutable_blob_manifest()->set_manifest("short");
  expect_bad(m, "manifest");
}

TEST(BlobFramesTest, PiecesAreCheckedAgainstTheManifest) {
  blob::BlobManifest manifest;
  manifest.size = blob::kChunkBytes + 10;  // two chunks, the last 10 bytes long
  manifest.chunk_hashes.resize(2);
  EXPECT_TRUE(CheckPieceAgainst(Piece(0, 0, 65536).blob_piece(), manifest).ok());
  EXPECT_TRUE(CheckPieceAgainst(Piece(1, 0, 10).blob_piece(), manifest).ok());
  EXPECT_EQ(CheckPieceAgainst(Piece(2, 0, 1).blob_piece(), manifest).message(),
            "chunk: past the blob's last chunk");
  EXPECT_EQ(CheckPieceAgainst(Piece(1, 5, 6).blob_piece(), manifest).message(),
            "offset: past the end of the chunk");
  EXPECT_EQ(CheckPieceAgainst(Piece(0, blob::kChunkBytes - 1, 2).blob_piece(), manifest).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace peat::mesh

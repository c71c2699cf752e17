// Blob frames (proto/peat/mesh/v1/mesh.proto, docs/spec/ATTACHMENTS.md §15.3): what a peer may
// send, checked before anything acts on it. CheckBlobFrame validates every field that does not
// need the blob's manifest (root length, request id, priority class, range shape, piece size,
// error reason); CheckPieceAgainst adds the manifest-bound checks of a piece (chunk index below
// the chunk count, offset + length within that chunk). A frame that fails is dropped and counted
// (peat_blob_bad_frames_total) by the caller; it never closes the session (§16 row 39).
//
// Pure functions; thread-safe. Errors: INVALID_ARGUMENT naming the bad field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "blob/manifest.h"
#include "common/status.h"

namespace peat::mesh {

namespace v1 {
class Frame;
class BlobPiece;
}  // namespace v1

// Largest data of one BlobPiece, and the bounds of the piece size a server picks
// (LinkScheduler::PieceBytes).
inline constexpr size_t kMaxBlobPieceBytes = 64 * 1024;
inline constexpr size_t kMinBlobPieceBytes = 4 * 1024;
// A BlobWant names at most this many ranges (a fetcher asks a few chunks at a time).
inline constexpr int kMaxBlobRanges = 64;
// Hops a relayed BlobWant may still travel; larger values are refused.
inline constexpr uint32_t kMaxBlobHops = 8;
// Version of the blob frames this build speaks (Hello.blob_protocol).
inline constexpr uint32_t kBlobProtocol = 1;

// True for the blob frame kinds (BlobWant … BlobError).
bool IsBlobFrame(const v1::Frame& frame);
// OK when every field of a blob frame is well formed (see above); `frame` must be a blob frame.
Status CheckBlobFrame(const v1::Frame& frame);
// The manifest-bound checks of a piece of the blob `manifest` describes.
Status CheckPieceAgainst(const v1::BlobPiece& piece, const blob::BlobManifest& manifest);
// The root of a checked frame's 32-byte root field.
blob::BlobRoot RootFromBytes(const std::string& bytes);

}  // namespace peat::mesh

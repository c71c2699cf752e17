// The mesh transport's FrameDecoder and the node-to-node protobuf (peat.mesh.v1.Frame) on
// arbitrary bytes, as a peer could send them:
//
//   byte 0  chunking: bits 0-2 pattern (one chunk, bytes, pairs, header-sized 4, sevens, growing
//           1,2,3…, fixed size 1 + bits 3-6, pseudo-random sizes seeded by the byte); bit 7 also
//           feeds an empty chunk before every chunk.
//   rest    the byte stream, fed in those chunks to a FrameDecoder with max 64 KiB.
//
// Invariants (a violation traps): frames come out in order and their re-encoding (EncodeFrame,
// concatenated) is a prefix of the bytes fed, every frame within the limit; while the decoder is
// healthy the bytes not yet emitted are exactly buffered_bytes() and hold no complete frame; an
// error is RESOURCE_EXHAUSTED with a message, exactly when the next header declares more than the
// limit, and the decoder then stays failed (the same error, nothing appended) for later chunks.
// The result does not depend on the chunking (it equals feeding the stream in one chunk), and a
// decoder with a small limit (16 bytes) obeys the same rules on the same stream. Every complete
// frame is parsed as a Frame (must not crash); when it parses, serializing and parsing again gives
// an equal message (MessageDifferencer::Equals) and the same bytes again.
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "fuzz_check.h"
#include "mesh/frame_codec.h"
#include "peat/mesh/v1/mesh.pb.h"

namespace {

using peat::Status;
using peat::StatusCode;
using peat::mesh::EncodeFrame;
using peat::mesh::FrameDecoder;
using peat::mesh::kFrameHeaderBytes;

constexpr size_t kMaxFrameBytes = 64 * 1024;
constexpr size_t kSmallMaxFrameBytes = 16;

// Splits `stream` into chunk sizes according to the control byte.
std::vector<size_t> ChunkSizes(uint8_t control, size_t total) {
  std::vector<size_t> sizes;
  uint32_t rng = 0x9e3779b9u ^ control;
  size_t next_growing = 1;
  for (size_t done = 0; done < total;) {
    size_t n = 0;
    switch (control & 7) {
      case 0:
        n = total;
        break;
      case 1:
        n = 1;
        break;
      case 2:
        n = 2;
        break;
      case 3:
        n = kFrameHeaderBytes;
        break;
      case 4:
        n = 7;
        break;
      case 5:
        n = next_growing++;
        break;
      case 6:
        n = 1 + ((control >> 3) & 0x0f);
        break;
      default:
        rng = rng * 1664525u + 1013904223u;
        n = 1 + (rng >> 24) % 67;
        break;
    }
    n = std::min(n, total - done);
    sizes.push_back(n);
    done += n;
  }
  return sizes;
}

struct Outcome {
  std::vector<std::string> frames;
  Status status;
  bool operator==(const Outcome&) const = default;
};

uint64_t DeclaredLength(std::string_view header) {
  uint64_t len = 0;
  for (size_t i = 0; i < kFrameHeaderBytes; ++i) len = (len << 8) | static_cast<uint8_t>(header[i]);
  return len;
}

// Feeds `stream` in chunks of `sizes` to a decoder with limit `max`, checking the decoder's
// contract after every call.
Outcome Decode(std::string_view stream, const std::vector<size_t>& sizes, bool empty_chunks,
               size_t max) {
  FrameDecoder decoder(max);
  FUZZ_CHECK(decoder.max_frame_bytes() == max);
  FUZZ_CHECK(!decoder.failed() && decoder.buffered_bytes() == 0);
  Outcome out;
  std::string encoded;  // EncodeFrame of every frame so far, concatenated
  size_t fed = 0;
  for (size_t size : sizes) {
    std::vector<std::string_view> chunks;
    if (empty_chunks) chunks.emplace_back();
    chunks.push_back(stream.substr(fed, size));
    for (std::string_view chunk : chunks) {
      const size_t before = out.frames.size();
      const bool was_failed = decoder.failed();
      Status status = decoder.Feed(chunk, out.frames);
      fed += chunk.size();
      if (was_failed) {
        // Failed for good: the same error again, nothing appended.
        FUZZ_CHECK(status == out.status);
        FUZZ_CHECK(decoder.failed());
        FUZZ_CHECK(out.frames.size() == before);
        continue;
      }
      for (size_t i = before; i < out.frames.size(); ++i) {
        FUZZ_CHECK(out.frames[i].size() <= max);
        encoded += EncodeFrame(out.frames[i]);
      }
      // In order, nothing invented: the frames re-encode to a prefix of what was fed.
      FUZZ_CHECK(encoded.size() <= fed);
      FUZZ_CHECK(stream.substr(0, encoded.size()) == encoded);
      const std::string_view rest = stream.substr(encoded.size(), fed - encoded.size());
      if (status.ok()) {
        FUZZ_CHECK(!decoder.failed());
        // Everything not emitted is buffered, and it is not a complete frame (nor an over-limit
        // header, which must have failed).
        FUZZ_CHECK(decoder.buffered_bytes() == rest.size());
        if (rest.size() >= kFrameHeaderBytes) {
          const uint64_t len = DeclaredLength(rest);
          FUZZ_CHECK(len <= max);
          FUZZ_CHECK(rest.size() < kFrameHeaderBytes + len);
        }
      } else {
        FUZZ_CHECK(status.code() == StatusCode::kResourceExhausted);
        FUZZ_CHECK(!status.message().empty());
        FUZZ_CHECK(decoder.failed());
        // The failure is the header right after the last frame, and it is over the limit.
        FUZZ_CHECK(rest.size() >= kFrameHeaderBytes);
        FUZZ_CHECK(DeclaredLength(rest) > max);
        out.status = status;
      }
    }
  }
  FUZZ_CHECK(fed == stream.size());
  if (decoder.failed()) {
    // One more chunk after the end: still the same error, nothing appended.
    const size_t before = out.frames.size();
    FUZZ_CHECK(decoder.Feed(std::string_view("\0\0\0\0", 4), out.frames) == out.status);
    FUZZ_CHECK(out.frames.size() == before);
  }
  return out;
}

void CheckProto(const std::string& payload) {
  peat::mesh::v1::Frame frame;
  if (!frame.ParseFromString(payload)) return;
  const std::string bytes = frame.SerializeAsString();
  peat::mesh::v1::Frame again;
  FUZZ_CHECK(again.ParseFromString(bytes));
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(frame, again));
  FUZZ_CHECK(again.SerializeAsString() == bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);  // invalid UTF-8 etc. would flood stderr
    return true;
  }();
  (void)quiet;
  if (size == 0) return 0;
  const uint8_t control = data[0];
  // Copy so ASan catches any read past the stream.
  const std::string stream(reinterpret_cast<const char*>(data + 1), size - 1);

  const Outcome chunked =
      Decode(stream, ChunkSizes(control, stream.size()), (control & 0x80) != 0, kMaxFrameBytes);
  const Outcome whole = Decode(stream, ChunkSizes(0, stream.size()), false, kMaxFrameBytes);
  FUZZ_CHECK(chunked == whole);
  Decode(stream, ChunkSizes(control, stream.size()), false, kSmallMaxFrameBytes);

  for (const std::string& frame : chunked.frames) CheckProto(frame);
  return 0;
}

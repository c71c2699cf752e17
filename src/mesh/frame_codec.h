// Frame codec for mesh connections: every frame on the wire is a 4-byte big-endian payload length
// followed by that many payload bytes. A zero-length frame is valid.
//
// EncodeFrame / AppendFrame build frames; FrameDecoder turns a byte stream, delivered in
// arbitrary chunks (split frames, several frames per chunk), back into frames in order, and
// refuses a declared length above its limit before buffering any of that payload. Pure code, no
// I/O, suitable for fuzzing. A FrameDecoder is thread-compatible (one per connection); the free
// functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace peat::mesh {

inline constexpr size_t kFrameHeaderBytes = 4;
// Frames carry at most this many payload bytes, whatever a limit says (the header is 32 bits).
inline constexpr size_t kMaxEncodableFrameBytes = 0xffffffffu;

// Appends the header and `payload` to `out`. The caller checks the size limit; payloads larger
// than kMaxEncodableFrameBytes are a programming error (asserted).
void AppendFrame(std::string& out, std::string_view payload);
// A new string holding one encoded frame.
std::string EncodeFrame(std::string_view payload);

class FrameDecoder {
 public:
  // Frames whose declared payload length exceeds `max_frame_bytes` are rejected.
  explicit FrameDecoder(size_t max_frame_bytes);

  // Consumes all of `chunk` and appends every frame it completes to `frames`, in stream order.
  // Returns RESOURCE_EXHAUSTED as soon as a header declares more than max_frame_bytes; frames
  // completed before that header have been appended. After an error the decoder is failed for
  // good: every later call returns the same error and appends nothing.
  Status Feed(std::string_view chunk, std::vector<std::string>& frames);

  // Bytes of an incomplete frame (header and payload) held so far.
  size_t buffered_bytes() const { return header_len_ + payload_.size(); }
  bool failed() const { return !error_.ok(); }
  size_t max_frame_bytes() const { return max_frame_bytes_; }

 private:
  size_t max_frame_bytes_;
  uint8_t header_[kFrameHeaderBytes] = {};
  size_t header_len_ = 0;  // header bytes received for the current frame
  size_t expected_ = 0;    // payload length of the current frame (valid once header_len_ == 4)
  std::string payload_;    // payload bytes received for the current frame
  Status error_;
};

}  // namespace peat::mesh

#include "mesh/frame_codec.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace peat::mesh {
namespace {

// Payload bytes reserved up front for a frame; larger frames grow as their bytes arrive, so a
// peer that only declares a huge frame does not make us allocate it.
constexpr size_t kInitialReserve = 256 * 1024;

}  // namespace

void AppendFrame(std::string& out, std::string_view payload) {
  assert(payload.size() <= kMaxEncodableFrameBytes);
  const auto n = static_cast<uint32_t>(payload.size());
  const char header[kFrameHeaderBytes] = {
      static_cast<char>((n >> 24) & 0xff), static_cast<char>((n >> 16) & 0xff),
      static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
  out.append(header, kFrameHeaderBytes);
  out.append(payload.data(), payload.size());
}

std::string EncodeFrame(std::string_view payload) {
  std::string out;
  out.reserve(kFrameHeaderBytes + payload.size());
  AppendFrame(out, payload);
  return out;
}

FrameDecoder::FrameDecoder(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

Status FrameDecoder::Feed(std::string_view chunk, std::vector<std::string>& frames) {
  if (!error_.ok()) return error_;
  while (!chunk.empty()) {
    if (header_len_ < kFrameHeaderBytes) {
      const size_t n = std::min(kFrameHeaderBytes - header_len_, chunk.size());
      std::copy_n(chunk.data(), n, header_ + header_len_);
      header_len_ += n;
      chunk.remove_prefix(n);
      if (header_len_ < kFrameHeaderBytes) break;
      expected_ = (size_t{header_[0]} << 24) | (size_t{header_[1]} << 16) |
                  (size_t{header_[2]} << 8) | size_t{header_[3]};
      if (expected_ > max_frame_bytes_) {
        error_ = ResourceExhaustedError("mesh frame of " + std::to_string(expected_) +
                                        " bytes exceeds the limit of " +
                                        std::to_string(max_frame_bytes_) + " bytes");
        payload_ = std::string();
        return error_;
      }
      if (expected_ == 0) {
        frames.emplace_back();
        header_len_ = 0;
        continue;
      }
      // Whole frame in this chunk: one allocation of the exact size.
      if (chunk.size() >= expected_) {
        frames.emplace_back(chunk.data(), expected_);
        chunk.remove_prefix(expected_);
        header_len_ = 0;
        continue;
      }
      payload_.reserve(std::min(expected_, kInitialReserve));
    }
    const size_t n = std::min(expected_ - payload_.size(), chunk.size());
    payload_.append(chunk.data(), n);
    chunk.remove_prefix(n);
    if (payload_.size() == expected_) {
      frames.push_back(std::move(payload_));
      payload_ = std::string();
      header_len_ = 0;
    }
  }
  return Status::Ok();
}

}  // namespace peat::mesh

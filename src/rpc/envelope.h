// Length-prefixed message envelopes shared by gRPC, gRPC-Web and Connect streaming:
// [flags u8][length u32 big-endian][payload]. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace peat::rpc {

inline constexpr uint8_t kEnvelopeCompressed = 0x01;
inline constexpr uint8_t kEnvelopeConnectEndStream = 0x02;
inline constexpr uint8_t kEnvelopeGrpcWebTrailers = 0x80;
inline constexpr size_t kEnvelopeHeaderSize = 5;

struct Envelope {
  uint8_t flags = 0;
  std::string_view payload;  // points into the parsed body
};

// Splits a complete body into envelopes. A truncated envelope → INVALID_ARGUMENT; a declared
// payload larger than `max_payload` → RESOURCE_EXHAUSTED.
StatusOr<std::vector<Envelope>> ParseEnvelopes(std::string_view body, size_t max_payload);
// Incremental form for a body that arrives in pieces: the complete envelope at the start of
// `buffer`, or nullopt when more bytes are needed. A declared payload larger than `max_payload` →
// RESOURCE_EXHAUSTED as soon as the 5-byte prefix is there.
StatusOr<std::optional<Envelope>> NextEnvelope(std::string_view buffer, size_t max_payload);
void AppendEnvelope(std::string& out, uint8_t flags, std::string_view payload);

}  // namespace peat::rpc

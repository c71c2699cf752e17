#include "rpc/envelope.h"

namespace peat::rpc {

StatusOr<std::vector<Envelope>> ParseEnvelopes(std::string_view body, size_t max_payload) {
  std::vector<Envelope> out;
  size_t pos = 0;
  while (pos < body.size()) {
    if (body.size() - pos < kEnvelopeHeaderSize) {
      return InvalidArgumentError("truncated message envelope: " +
                                  std::to_string(body.size() - pos) + " bytes of a 5-byte prefix");
    }
    auto b = reinterpret_cast<const unsigned char*>(body.data() + pos);
    uint32_t len = (uint32_t{b[1]} << 24) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 8) | b[4];
    if (len > max_payload) {
      return ResourceExhaustedError("message of " + std::to_string(len) +
                                    " bytes exceeds the limit of " + std::to_string(max_payload));
    }
    if (body.size() - pos - kEnvelopeHeaderSize < len) {
      return InvalidArgumentError("truncated message envelope: declared " + std::to_string(len) +
                                  " bytes, got " +
                                  std::to_string(body.size() - pos - kEnvelopeHeaderSize));
    }
    out.push_back(Envelope{b[0], body.substr(pos + kEnvelopeHeaderSize, len)});
    pos += kEnvelopeHeaderSize + len;
  }
  return out;
}

void AppendEnvelope(std::string& out, uint8_t flags, std::string_view payload) {
  auto len = static_cast<uint32_t>(payload.size());
  char prefix[kEnvelopeHeaderSize] = {static_cast<char>(flags), static_cast<char>(len >> 24),
                                      static_cast<char>(len >> 16), static_cast<char>(len >> 8),
                                      static_cast<char>(len)};
  out.append(prefix, kEnvelopeHeaderSize);
  out.append(payload);
}

}  // namespace peat::rpc

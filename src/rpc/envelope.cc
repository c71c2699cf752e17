#include "rpc/envelope.h"

namespace peat::rpc {

namespace {
// The payload length of the envelope whose 5-byte prefix starts at `prefix`.
uint32_t DeclaredLength(std::string_view prefix) {
  auto b = reinterpret_cast<const unsigned char*>(prefix.data());
  return (uint32_t{b[1]} << 24) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 8) | b[4];
}
}  // namespace

StatusOr<std::optional<Envelope>> NextEnvelope(std::string_view buffer, size_t max_payload) {
  if (buffer.size() < kEnvelopeHeaderSize) return std::optional<Envelope>();
  uint32_t len = DeclaredLength(buffer);
  if (len > max_payload) {
    return ResourceExhaustedError("message of " + std::to_string(len) +
                                  " bytes exceeds the limit of " + std::to_string(max_payload));
  }
  if (buffer.size() - kEnvelopeHeaderSize < len) return std::optional<Envelope>();
  return std::optional<Envelope>(
      Envelope{static_cast<uint8_t>(buffer[0]), buffer.substr(kEnvelopeHeaderSize, len)});
}

StatusOr<std::vector<Envelope>> ParseEnvelopes(std::string_view body, size_t max_payload) {
  std::vector<Envelope> out;
  size_t pos = 0;
  while (pos < body.size()) {
    std::string_view rest = body.substr(pos);
    PEAT_ASSIGN_OR_RETURN(std::optional<Envelope> env, NextEnvelope(rest, max_payload));
    if (!env) {
      if (rest.size() < kEnvelopeHeaderSize) {
        return InvalidArgumentError("truncated message envelope: " + std::to_string(rest.size()) +
                                    " bytes of a 5-byte prefix");
      }
      return InvalidArgumentError("truncated message envelope: declared " +
                                  std::to_string(DeclaredLength(rest)) + " bytes, got " +
                                  std::to_string(rest.size() - kEnvelopeHeaderSize));
    }
    out.push_back(*env);
    pos += kEnvelopeHeaderSize + env->payload.size();
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

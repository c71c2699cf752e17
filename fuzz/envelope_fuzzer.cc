// ParseEnvelopes over arbitrary bytes. The first byte picks a small max_payload; the rest is the
// body. Invariants: a successful parse covers the body exactly (re-encoding every envelope with
// AppendEnvelope gives the input back) and respects max_payload; a failure is RESOURCE_EXHAUSTED
// exactly when an envelope declares more than max_payload before the body turns out truncated,
// INVALID_ARGUMENT otherwise (checked against a straightforward reference parser).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "rpc/envelope.h"

namespace {

using peat::StatusCode;
using peat::rpc::kEnvelopeHeaderSize;

// Expected outcome of parsing `body` with `max`: kOk, kInvalidArgument or kResourceExhausted.
StatusCode Reference(std::string_view body, size_t max, size_t* count) {
  *count = 0;
  size_t pos = 0;
  while (pos < body.size()) {
    if (body.size() - pos < kEnvelopeHeaderSize) return StatusCode::kInvalidArgument;
    uint64_t len = 0;
    for (int i = 1; i <= 4; ++i) len = (len << 8) | static_cast<uint8_t>(body[pos + i]);
    if (len > max) return StatusCode::kResourceExhausted;
    if (body.size() - pos - kEnvelopeHeaderSize < len) return StatusCode::kInvalidArgument;
    pos += kEnvelopeHeaderSize + len;
    ++*count;
  }
  return StatusCode::kOk;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr size_t kMaxPayloads[] = {0, 1, 5, 16, 64, 255, 1024, 4096};
  const size_t max = kMaxPayloads[data[0] % (sizeof kMaxPayloads / sizeof kMaxPayloads[0])];
  // Copy so ASan catches any read past the body (libFuzzer's buffer is exactly `size` too).
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);

  size_t expected_count = 0;
  const StatusCode expected = Reference(body, max, &expected_count);
  auto parsed = peat::rpc::ParseEnvelopes(body, max);
  FUZZ_CHECK(parsed.status().code() == expected);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(parsed->size() == expected_count);

  std::string reencoded;
  size_t pos = 0;
  for (const auto& env : *parsed) {
    FUZZ_CHECK(env.payload.size() <= max);
    // Payloads are views into the body, in order, right after their 5-byte prefix.
    FUZZ_CHECK(env.payload.data() == body.data() + pos + kEnvelopeHeaderSize);
    FUZZ_CHECK(env.flags == static_cast<uint8_t>(body[pos]));
    peat::rpc::AppendEnvelope(reencoded, env.flags, env.payload);
    pos += kEnvelopeHeaderSize + env.payload.size();
  }
  FUZZ_CHECK(pos == body.size());
  FUZZ_CHECK(reencoded == body);
  return 0;
}

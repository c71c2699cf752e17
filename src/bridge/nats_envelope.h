// The NATS bridge's document (docs/NATS.md "What it does") and the checks a message passes before
// it becomes one. Pure, no I/O; thread-safe.
// - CheckNatsPayload: in this order, size (> kMaxPayloadBytes: too_large), UTF-8 (not_utf8), one
//   JSON value of any type (not_json), nesting of arrays and objects (> kMaxDepth: too_deep).
// - MakeNatsEnvelope: {"kind":"peat.nats-bridge","version":1,"subject":…,"source_node_id":…,
//   "payload":"<the message text, exactly>"} as a JSON object text.
// - ParseNatsEnvelope: the fields back, nullopt unless the document is such an envelope (kind and
//   version exact, the three strings present). The payload comes back byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace peat::bridge {

inline constexpr size_t kMaxPayloadBytes = 1 << 20;
inline constexpr int kMaxDepth = 127;
inline constexpr std::string_view kEnvelopeKind = "peat.nats-bridge";
inline constexpr int64_t kEnvelopeVersion = 1;

enum class PayloadCheck { kOk = 0, kTooLarge, kNotUtf8, kNotJson, kTooDeep };
const char* PayloadCheckName(PayloadCheck c);  // the `reason` label: too_large, not_utf8, …

PayloadCheck CheckNatsPayload(std::string_view payload);

std::string MakeNatsEnvelope(std::string_view subject, std::string_view source_node_id,
                             std::string_view payload);

struct NatsEnvelope {
  std::string subject;
  std::string source_node_id;
  std::string payload;
};

std::optional<NatsEnvelope> ParseNatsEnvelope(std::string_view json);

}  // namespace peat::bridge

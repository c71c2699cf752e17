#include "bridge/nats_envelope.h"

#include <simdjson.h>

#include <algorithm>

#include "common/json_string.h"
#include "common/utf8.h"

namespace peat::bridge {
namespace {

// Deepest nesting of arrays and objects in a text simdjson accepted (so brackets inside strings
// are the only ones to skip).
int NestingDepth(std::string_view json) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

simdjson::dom::parser& Parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace

const char* PayloadCheckName(PayloadCheck c) {
  switch (c) {
    case PayloadCheck::kOk:
      return "ok";
    case PayloadCheck::kTooLarge:
      return "too_large";
    case PayloadCheck::kNotUtf8:
      return "not_utf8";
    case PayloadCheck::kNotJson:
      return "not_json";
    case PayloadCheck::kTooDeep:
      return "too_deep";
  }
  return "unknown";
}

PayloadCheck CheckNatsPayload(std::string_view payload) {
  if (payload.size() > kMaxPayloadBytes) return PayloadCheck::kTooLarge;
  if (!IsValidUtf8(payload)) return PayloadCheck::kNotUtf8;
  simdjson::padded_string padded(payload);
  auto doc = Parser().parse(padded);
  if (doc.error() == simdjson::DEPTH_ERROR) return PayloadCheck::kTooDeep;
  if (doc.error()) return PayloadCheck::kNotJson;
  if (NestingDepth(payload) > kMaxDepth) return PayloadCheck::kTooDeep;
  return PayloadCheck::kOk;
}

std::string MakeNatsEnvelope(std::string_view subject, std::string_view source_node_id,
                             std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + subject.size() + source_node_id.size() + 96);
  out += "{\"kind\":";
  AppendJsonString(&out, kEnvelopeKind);
  out += ",\"version\":" + std::to_string(kEnvelopeVersion) + ",\"subject\":";
  AppendJsonString(&out, subject);
  out += ",\"source_node_id\":";
  AppendJsonString(&out, source_node_id);
  out += ",\"payload\":";
  AppendJsonString(&out, payload);
  out += "}";
  return out;
}

std::optional<NatsEnvelope> ParseNatsEnvelope(std::string_view json) {
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (Parser().parse(padded).get(root)) return std::nullopt;
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return std::nullopt;
  std::string_view kind, subject, source, payload;
  int64_t version = 0;
  if (obj["kind"].get_string().get(kind) || kind != kEnvelopeKind) return std::nullopt;
  if (obj["version"].get_int64().get(version) || version != kEnvelopeVersion) return std::nullopt;
  if (obj["subject"].get_string().get(subject)) return std::nullopt;
  if (obj["source_node_id"].get_string().get(source)) return std::nullopt;
  if (obj["payload"].get_string().get(payload)) return std::nullopt;
  return NatsEnvelope{std::string(subject), std::string(source), std::string(payload)};
}

}  // namespace peat::bridge

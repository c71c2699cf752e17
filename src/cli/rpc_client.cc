#include "cli/rpc_client.h"

#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <nlohmann/json.hpp>

namespace peat::cli {

namespace {

using nlohmann::json;

std::string PathOf(std::string_view method) {
  return "/" + std::string(kSidecarService) + "/" + std::string(method);
}

StatusCode CodeOfHttpStatus(unsigned http_status) {
  switch (http_status) {
    case 400:
      return StatusCode::kInternal;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return StatusCode::kUnavailable;
    default:
      return StatusCode::kUnknown;
  }
}

// The status of a Connect error object {"code": ..., "message": ...}; nullopt if it is not one.
std::optional<Status> StatusOfErrorObject(const json& error) {
  if (!error.is_object()) return std::nullopt;
  auto code = error.find("code");
  if (code == error.end() || !code->is_string()) return std::nullopt;
  auto parsed = StatusCodeFromName(code->get<std::string>());
  std::string message;
  if (auto m = error.find("message"); m != error.end() && m->is_string()) message = *m;
  if (!parsed || *parsed == StatusCode::kOk) return Status(StatusCode::kUnknown, message);
  return Status(*parsed, message);
}

Status ParseMessage(std::string_view method, std::string_view text,
                    google::protobuf::Message& message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  message.Clear();
  auto st = google::protobuf::util::JsonStringToMessage(std::string(text), &message, options);
  if (!st.ok()) {
    return InternalError("the answer to " + std::string(method) +
                         " does not parse: " + std::string(st.message()));
  }
  return Status::Ok();
}

std::string Envelope(uint8_t flags, const std::string& payload) {
  std::string out(5, '\0');
  out[0] = static_cast<char>(flags);
  auto n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
  return out + payload;
}

}  // namespace

Status ConnectErrorStatus(unsigned http_status, std::string_view body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (auto st = StatusOfErrorObject(parsed)) return *st;
  std::string snippet(body.substr(0, 200));
  return Status(CodeOfHttpStatus(http_status),
                "HTTP " + std::to_string(http_status) + (snippet.empty() ? "" : ": " + snippet));
}

std::string ToJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!pretty) return out;
  // Two-space indentation like every other JSON peat prints; field order kept.
  return nlohmann::ordered_json::parse(out).dump(2);
}

Status RpcClient::Call(std::string_view method, const google::protobuf::Message& request,
                       google::protobuf::Message& response) {
  PEAT_ASSIGN_OR_RETURN(HttpReply reply,
                        http_.Post(PathOf(method), "application/json", ToJson(request, false)));
  if (reply.status != 200) return ConnectErrorStatus(reply.status, reply.body);
  return ParseMessage(method, reply.body, response);
}

Status RpcClient::Stream(
    std::string_view method, const google::protobuf::Message& request,
    google::protobuf::Message& scratch,
    const std::function<Status(const google::protobuf::Message&)>& on_message) {
  PEAT_ASSIGN_OR_RETURN(HttpReply reply,
                        http_.StartStream(PathOf(method), "application/connect+json",
                                          Envelope(0, ToJson(request, false))));
  std::string pending;
  if (reply.status != 200) {
    for (bool more = true; more;) {
      PEAT_ASSIGN_OR_RETURN(more, http_.ReadStream(pending));
    }
    return ConnectErrorStatus(reply.status, pending);
  }
  for (bool more = true;;) {
    // Every complete envelope in `pending`.
    while (pending.size() >= 5) {
      auto flags = static_cast<uint8_t>(pending[0]);
      uint32_t n = 0;
      for (int i = 1; i <= 4; ++i) n = (n << 8) | static_cast<uint8_t>(pending[i]);
      if (pending.size() < 5 + static_cast<size_t>(n)) break;
      std::string payload = pending.substr(5, n);
      pending.erase(0, 5 + static_cast<size_t>(n));
      if (flags & 0x01) {
        return InternalError(std::string(method) + ": compressed message, none was asked for");
      }
      if (flags & 0x02) {  // end of stream: {} or {"error": {...}}
        json end = json::parse(payload, nullptr, /*allow_exceptions=*/false);
        if (end.is_object()) {
          if (auto e = end.find("error"); e != end.end()) {
            if (auto st = StatusOfErrorObject(*e)) return *st;
          }
        }
        return Status::Ok();
      }
      PEAT_RETURN_IF_ERROR(ParseMessage(method, payload, scratch));
      PEAT_RETURN_IF_ERROR(on_message(scratch));
    }
    if (!more) break;
    PEAT_ASSIGN_OR_RETURN(more, http_.ReadStream(pending));
  }
  return UnavailableError(std::string(method) +
                          ": the stream ended without an end-of-stream message");
}

}  // namespace peat::cli

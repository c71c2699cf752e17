// The Connect protocol over HttpClient, with JSON bodies (CONTRACT.md "How it is served"): unary
// calls (POST application/json) and server streams (POST application/connect+json, answers in
// enveloped messages ending with an end-of-stream envelope). Messages are the generated protobuf
// types, converted to and from canonical proto3 JSON; unknown fields in answers are ignored.
//
// Errors: the node's own status (its Connect code and message, or the code of a non-Connect HTTP
// status) or HttpClient's transport errors. INTERNAL when an answer does not parse.
// Not thread-safe (as HttpClient).
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <string>
#include <string_view>

#include "cli/http_client.h"
#include "common/status.h"

namespace peat::cli {

inline constexpr std::string_view kSidecarService = "peat.sidecar.v1.PeatSidecar";

// The status a Connect error body (`{"code":"not_found","message":"..."}`) describes, given the
// HTTP status it came with; a body that is not a Connect error gives the code of the HTTP status
// (Connect's mapping: 400 internal... 404 unimplemented, 401 unauthenticated, 403
// permission_denied, 429/502/503/504 unavailable, anything else unknown).
Status ConnectErrorStatus(unsigned http_status, std::string_view body);

class RpcClient {
 public:
  explicit RpcClient(HttpClient& http) : http_(http) {}

  // Calls PeatSidecar/<method>; on success `response` holds the answer.
  Status Call(std::string_view method, const google::protobuf::Message& request,
              google::protobuf::Message& response);

  // Opens the server stream PeatSidecar/<method> and calls `on_message` with each message (parsed
  // into `scratch`, which it may read until it returns); a non-OK return from `on_message` ends
  // the stream with that status. Returns the stream's end status (OK when the node ended it
  // cleanly).
  Status Stream(std::string_view method, const google::protobuf::Message& request,
                google::protobuf::Message& scratch,
                const std::function<Status(const google::protobuf::Message&)>& on_message);

 private:
  HttpClient& http_;
};

// Canonical proto3 JSON of `message`, with fields at their default values printed too (an
// operator sees `"connected": false` rather than nothing); `pretty` indents it.
std::string ToJson(const google::protobuf::Message& message, bool pretty);

}  // namespace peat::cli

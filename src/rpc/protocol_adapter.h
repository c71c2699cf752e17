// ProtocolAdapter: one RPC wire protocol (Connect unary, Connect stream, gRPC, gRPC-Web binary or
// text) in both directions. The router picks the adapter from the request's content type, asks it
// for the call's timeout and its single request message, and answers through the encoder it
// makes. The adapters themselves live beside their encoders (connect_protocol.h,
// grpc_protocol.h); this header also holds the request-side pieces they share.
// Adapters are stateless singletons: thread-safe. Errors are the Status the call is finished
// with (the encoder turns it into the protocol's error form).
#pragma once

#include <google/protobuf/message.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

#include "common/status.h"
#include "rpc/envelope.h"
#include "rpc/http_exchange.h"
#include "rpc/message_codec.h"
#include "rpc/server_call.h"

namespace peat::rpc {

class ProtocolAdapter {
 public:
  // Parses a timeout header's value; nullopt when malformed (call_timeout.h).
  using TimeoutParser = std::optional<std::chrono::nanoseconds> (*)(std::string_view);

  virtual ~ProtocolAdapter() = default;

  // The timeout the client asks for in the protocol's timeout header: nullopt without one;
  // INVALID_ARGUMENT ("malformed <header> header \"<value>\"") when the header is malformed.
  StatusOr<std::optional<std::chrono::nanoseconds>> RequestTimeout(const HttpRequest& req) const;
  // Decodes the request's single message (body complete, at most `max_message_bytes` once
  // decompressed) into `out`.
  virtual Status DecodeRequest(const HttpRequest& req, size_t max_message_bytes,
                               google::protobuf::Message* out) const = 0;
  // Bidirectional streams (method_table.h): whether this protocol carries a stream of request
  // messages (gRPC, Connect streaming and binary gRPC-Web do; Connect unary and gRPC-Web text do
  // not), and the decoding
  // of one of its envelopes into `out` (at most `max_message_bytes` once decompressed).
  virtual bool CarriesRequestStream() const { return false; }
  virtual Status DecodeStreamMessage(const HttpRequest& req, const Envelope& envelope,
                                     size_t max_message_bytes,
                                     google::protobuf::Message* out) const;
  // The encoder that answers on `exchange`; `extra_headers` (CORS) go on the response.
  virtual std::unique_ptr<CallEncoder> MakeEncoder(std::shared_ptr<HttpExchange> exchange,
                                                   HeaderList extra_headers) const = 0;

 protected:
  // `timeout_header`: connect-timeout-ms or grpc-timeout (a string literal), parsed by `parse`.
  ProtocolAdapter(std::string_view timeout_header, TimeoutParser parse)
      : timeout_header_(timeout_header), parse_timeout_(parse) {}

 private:
  std::string_view timeout_header_;
  TimeoutParser parse_timeout_;
};

// --- Shared by the adapters ---

// Decodes an enveloped request body (gRPC, gRPC-Web, Connect streaming) that must hold exactly
// one message. A compressed envelope is inflated per the request's message-encoding header
// `encoding_header` (grpc-encoding / connect-content-encoding; only gzip is supported).
Status DecodeEnvelopedRequest(const HttpRequest& req, std::string_view body,
                              std::string_view encoding_header, Codec codec,
                              size_t max_message_bytes, google::protobuf::Message* out);
// Decodes one envelope of such a body (flags checked, gzip inflated as above).
Status DecodeEnvelope(const HttpRequest& req, const Envelope& envelope,
                      std::string_view encoding_header, Codec codec, size_t max_message_bytes,
                      google::protobuf::Message* out);

}  // namespace peat::rpc

#include "rpc/protocol_adapter.h"

#include <string>

#include "rpc/envelope.h"
#include "rpc/gzip.h"

namespace peat::rpc {

StatusOr<std::optional<std::chrono::nanoseconds>> ProtocolAdapter::RequestTimeout(
    const HttpRequest& req) const {
  auto h = req.Header(timeout_header_);
  if (!h) return std::optional<std::chrono::nanoseconds>();
  auto parsed = parse_timeout_(*h);
  if (!parsed) {
    return InvalidArgumentError("malformed " + std::string(timeout_header_) + " header \"" +
                                std::string(*h) + "\"");
  }
  return parsed;
}

Status ProtocolAdapter::DecodeStreamMessage(const HttpRequest&, const Envelope&, size_t,
                                            google::protobuf::Message*) const {
  return UnimplementedError("this protocol carries no stream of request messages");
}

Status DecodeEnvelopedRequest(const HttpRequest& req, std::string_view body,
                              std::string_view encoding_header, Codec codec,
                              size_t max_message_bytes, google::protobuf::Message* out) {
  PEAT_ASSIGN_OR_RETURN(std::vector<Envelope> envelopes, ParseEnvelopes(body, max_message_bytes));
  if (envelopes.size() != 1) {
    return InvalidArgumentError("expected exactly one request message, got " +
                                std::to_string(envelopes.size()));
  }
  return DecodeEnvelope(req, envelopes.front(), encoding_header, codec, max_message_bytes, out);
}

Status DecodeEnvelope(const HttpRequest& req, const Envelope& env, std::string_view encoding_header,
                      Codec codec, size_t max_message_bytes, google::protobuf::Message* out) {
  if (env.flags & ~kEnvelopeCompressed) {
    return InvalidArgumentError("invalid envelope flags in request message");
  }
  if (!(env.flags & kEnvelopeCompressed)) return DecodeMessage(codec, env.payload, out);
  auto enc = req.Header(encoding_header);
  if (!enc || *enc == "identity") {
    return InvalidArgumentError("compressed message without a message encoding header");
  }
  if (*enc != "gzip") {
    return UnimplementedError("unsupported message encoding \"" + std::string(*enc) + "\"");
  }
  PEAT_ASSIGN_OR_RETURN(std::string inflated, GzipDecompress(env.payload, max_message_bytes));
  return DecodeMessage(codec, inflated, out);
}

}  // namespace peat::rpc

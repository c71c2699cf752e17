// Connect protocol adapters (https://connectrpc.com/docs/protocol): unary calls with
// application/json or application/proto bodies, and server streams with
// application/connect+json|proto envelopes ending in an end-stream envelope: request decoding
// (ConnectUnaryProtocol / ConnectStreamProtocol, see protocol_adapter.h) and response encoding.
// Encoders are used on the exchange's executor only; the adapters are stateless.
#pragma once

#include <memory>

#include "rpc/http_exchange.h"
#include "rpc/message_codec.h"
#include "rpc/protocol_adapter.h"
#include "rpc/server_call.h"

namespace peat::rpc {

// HTTP status the Connect protocol assigns to an error code (invalid_argument → 400, …).
int ConnectHttpStatus(StatusCode code);
// {"code":"invalid_argument","message":"..."}
std::string ConnectErrorJson(const Status& status);
// Answers a unary Connect request with an error (HTTP status by code, JSON body).
void SendConnectUnaryError(HttpExchange& exchange, const Status& status, int http_status,
                           HeaderList extra_headers);

std::unique_ptr<CallEncoder> MakeConnectUnaryEncoder(std::shared_ptr<HttpExchange> exchange,
                                                     Codec codec, HeaderList extra_headers);
std::unique_ptr<CallEncoder> MakeConnectStreamEncoder(std::shared_ptr<HttpExchange> exchange,
                                                      Codec codec, HeaderList extra_headers);

// The adapters the router dispatches to. Unary: the body is the message (content-encoding gzip
// allowed, at most --max-message-bytes once inflated); stream: one envelope. Timeout header:
// connect-timeout-ms.
const ProtocolAdapter& ConnectUnaryProtocol(Codec codec);
const ProtocolAdapter& ConnectStreamProtocol(Codec codec);

}  // namespace peat::rpc

// Connect protocol adapters (https://connectrpc.com/docs/protocol): unary calls with
// application/json or application/proto bodies, and server streams with
// application/connect+json|proto envelopes ending in an end-stream envelope. Used on the
// exchange's executor only.
#pragma once

#include <memory>

#include "rpc/http_exchange.h"
#include "rpc/message_codec.h"
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

}  // namespace peat::rpc

// gRPC (HTTP/2, application/grpc) and gRPC-Web (application/grpc-web[-text], HTTP/1.1 or HTTP/2)
// protocol adapters. Used on the exchange's executor only.
#pragma once

#include <memory>
#include <string>

#include "rpc/http_exchange.h"
#include "rpc/server_call.h"

namespace peat::rpc {

// grpc-message is percent-encoded: bytes outside printable ASCII and '%' become %XX.
std::string PercentEncodeGrpcMessage(std::string_view msg);

std::unique_ptr<CallEncoder> MakeGrpcEncoder(std::shared_ptr<HttpExchange> exchange,
                                             HeaderList extra_headers);
// `text` selects the base64 (-text) variant; `content_type` is echoed from the request.
std::unique_ptr<CallEncoder> MakeGrpcWebEncoder(std::shared_ptr<HttpExchange> exchange, bool text,
                                                std::string content_type, HeaderList extra_headers);

}  // namespace peat::rpc

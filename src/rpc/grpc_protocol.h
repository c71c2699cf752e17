// gRPC (HTTP/2, application/grpc) and gRPC-Web (application/grpc-web[-text], HTTP/1.1 or HTTP/2)
// protocol adapters: request decoding (GrpcProtocol / GrpcWebProtocol, see protocol_adapter.h)
// and response encoding. Encoders are used on the exchange's executor only; the adapters are
// stateless.
#pragma once

#include <memory>
#include <string>

#include "rpc/http_exchange.h"
#include "rpc/protocol_adapter.h"
#include "rpc/server_call.h"

namespace peat::rpc {

// grpc-message is percent-encoded: bytes outside printable ASCII and '%' become %XX.
std::string PercentEncodeGrpcMessage(std::string_view msg);

std::unique_ptr<CallEncoder> MakeGrpcEncoder(std::shared_ptr<HttpExchange> exchange,
                                             HeaderList extra_headers);
// `text` selects the base64 (-text) variant; `content_type` is echoed from the request.
std::unique_ptr<CallEncoder> MakeGrpcWebEncoder(std::shared_ptr<HttpExchange> exchange, bool text,
                                                std::string content_type, HeaderList extra_headers);

// The adapters the router dispatches to: one protobuf envelope per request (grpc-web-text: base64,
// possibly several padded chunks), grpc-encoding gzip allowed; timeout header grpc-timeout. The
// gRPC-Web encoder echoes the request's content type.
const ProtocolAdapter& GrpcProtocol();
const ProtocolAdapter& GrpcWebProtocol(bool text);

}  // namespace peat::rpc

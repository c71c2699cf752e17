// gzip (RFC 1952) compression for request/response messages, via zlib. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace peat::rpc {

// Inflates `in`. Output larger than `max_out` → RESOURCE_EXHAUSTED (a gzip bomb is refused before
// it is fully inflated); corrupt data → INVALID_ARGUMENT.
StatusOr<std::string> GzipDecompress(std::string_view in, size_t max_out);
std::string GzipCompress(std::string_view in);

}  // namespace peat::rpc

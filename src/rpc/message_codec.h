// Message codecs: protobuf binary and canonical proto3 JSON, the two encodings every protocol
// adapter uses. Stateless, thread-safe.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace peat::rpc {

enum class Codec { kProto, kJson };

// Parses `bytes` into `out`. Malformed input → INVALID_ARGUMENT naming the codec. JSON accepts
// both lowerCamelCase and original field names and ignores unknown fields (as Connect servers do);
// a value of the wrong JSON type is INVALID_ARGUMENT saying so in words (json_shape_check.h). An
// enum value the enum does not declare, by name or number, in either codec, is INVALID_ARGUMENT
// naming the field and the accepted names, except where enum_check.h declares that it takes the
// default: after a successful decode every enum field holds a declared value.
Status DecodeMessage(Codec codec, std::string_view bytes, google::protobuf::Message* out);
// Canonical proto3 JSON (lowerCamelCase, zero values omitted, 64-bit integers as strings) or
// binary.
std::string EncodeMessage(Codec codec, const google::protobuf::Message& msg);

}  // namespace peat::rpc

// A proto3 JSON request body checked against its message descriptor, for what protobuf's JSON
// parser lets through or explains badly. A body up to 64 KiB is parsed with simdjson (at most
// 256 levels deep) and walked once; a bigger body, or one simdjson refuses (integers beyond 64
// bits, which protobuf reads as doubles; deeper nesting; text that is not JSON), is streamed
// through nlohmann's SAX parser instead, which holds no document tree and says why a text is not
// JSON. Keys are matched as protobuf matches them (the original field name or its JSON name);
// unknown keys are skipped.
//
// - Unknown enum values. With unknown fields ignored (as Connect servers do), protobuf 3.21 also
//   turns an enum NAME it does not know into 0 silently. CheckJsonEnumValues runs after protobuf
//   accepted the body and answers INVALID_ARGUMENT for the first enum value, name or number, that
//   the enum does not declare (enum_check.h: message format, and the fields where an unknown
//   value takes the default instead).
// - Wrong JSON types. ExplainJsonRejection runs after protobuf rejected the body and says which
//   field has which wrong type, in words:
//     json_data must be a string containing JSON; got an object
//     node.capabilities[1] must be a string; got a number
//   ("<path> must be <a string|a number|a boolean|an object|an enum name (a string) or number|
//   a list of …>; got <a string|a number|a boolean|an object|an array>"; string fields whose name
//   contains "json" are described as "a string containing JSON").
// Paths use proto field names: `config.deletion_policy`, `files[2].sha256`, `labels["k"]`.
// Pure functions; thread-safe.
#pragma once

#include <google/protobuf/descriptor.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace peat::rpc {

// `json` is a body protobuf parsed into a `message`: INVALID_ARGUMENT for the first enum value
// the enum does not declare. Messages without enum fields (HasEnumFields) are not walked. A body
// that is not strict RFC 8259 JSON (protobuf also accepts single quotes and unquoted keys) cannot
// be checked and is INVALID_ARGUMENT "malformed JSON request message: …".
Status CheckJsonEnumValues(std::string_view json, const google::protobuf::Descriptor& message);

// `json` is a body protobuf rejected for `message`: the first value of a wrong JSON type, or the
// first unknown enum value, in words. nullopt when the walk finds neither, or when `json` is not
// valid JSON (the caller keeps protobuf's message for those).
std::optional<std::string> ExplainJsonRejection(std::string_view json,
                                                const google::protobuf::Descriptor& message);

}  // namespace peat::rpc

// Fast path for proto3 JSON request bodies of "flat" messages (the common case: PutDocument,
// GetDocument, ... carry a few strings). One simdjson pass fills the message directly, instead of
// protobuf's JSON → binary → message conversion, which allocates per token.
//
// TryDecodeFlatJson handles a body only when the answer is certain to equal protobuf's
// JsonStringToMessage with ignore_unknown_fields: a valid JSON object whose known keys (json_name
// or proto name) each appear once and hold a singular, non-oneof field of type string (a JSON
// string), bool (true/false) or a 32/64-bit integer (a JSON integer in range). Unknown keys are
// skipped like protobuf does. Anything else — invalid JSON, null, nested objects, arrays,
// enums, bytes, floating point, integers written as strings or exponents, duplicate keys — returns
// false with `out` cleared, and the caller decodes with protobuf, so every error answer (and every
// edge case) stays protobuf's. tests/unit/rpc/flat_json_decoder_test.cc checks the fast path
// against protobuf on tricky and randomly mutated bodies.
//
// Messages of more than 64 fields are left to protobuf. Thread-safe (a parser and a field index
// per thread).
#pragma once

#include <google/protobuf/message.h>

#include <string_view>

namespace peat::rpc {

// True: `out` holds the decoded message (and nothing it held before). False: not handled here;
// `out` is cleared.
bool TryDecodeFlatJson(std::string_view body, google::protobuf::Message* out);

}  // namespace peat::rpc

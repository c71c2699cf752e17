// Minimal JSON text helpers for protocol envelopes (error bodies, end-stream messages).
#pragma once

#include <string>
#include <string_view>

namespace peat::rpc {

// Appends `s` as a JSON string literal, escaping quotes, backslashes and control characters.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace peat::rpc

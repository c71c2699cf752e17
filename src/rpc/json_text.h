// Minimal JSON text helpers for protocol envelopes (error bodies, end-stream messages).
#pragma once

#include <string>
#include <string_view>

namespace peat::rpc {

// Appends `s` as a JSON string literal, escaping quotes, backslashes and control characters;
// bytes that are not valid UTF-8 become U+FFFD so the result is always valid JSON.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace peat::rpc

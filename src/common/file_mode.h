// File permission modes as octal text: "0660" ↔ 0660. Used for --unix-socket-mode and for the
// log line that reports permissions the node tightened in its data dir.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace peat {

// 1..4 octal digits ("0660", "660", "0600") with a value of at most 0777: the permission bits,
// never setuid/setgid/sticky. INVALID_ARGUMENT otherwise (the message echoes the text and does not
// name a flag).
StatusOr<uint32_t> ParseFileMode(std::string_view text);

// Four octal digits: 0660 → "0660", 0755 → "0755".
std::string FormatFileMode(uint32_t mode);

}  // namespace peat

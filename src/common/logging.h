// Process logging setup: spdlog's default logger, writing to stderr, as text or JSON lines.
//
// Text:  "2024-05-01T12:00:00.123Z info message"          (UTC, millisecond precision)
// JSON:  {"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"message"}   one object per line;
//        the message is escaped by common/json_string.h (invalid UTF-8 becomes U+FFFD), so
//        every line is valid JSON.
// Levels: trace, debug, info, warn (or warning), error, critical, off.
//
// Call ConfigureLogging once at startup, before other threads log; afterwards logging through
// spdlog (spdlog::info(...)) is thread-safe. Secrets must never be passed to the logger.
#pragma once

#include <spdlog/common.h>
#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace peat {

// Installs a stderr logger named "peat" as spdlog's default logger. INVALID_ARGUMENT naming
// --log-format / --log-level for an unknown format or level; nothing changes in that case.
Status ConfigureLogging(std::string_view format, std::string_view level);

// "text" or "json" → a formatter producing that format (one line per message, '\n'-terminated).
StatusOr<std::unique_ptr<spdlog::formatter>> MakeLogFormatter(std::string_view format);

// Level name (case-insensitive) → spdlog level.
StatusOr<spdlog::level::level_enum> ParseLogLevel(std::string_view level);

}  // namespace peat

#include "common/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

#include "common/json_string.h"

namespace peat {
namespace {

std::string_view LevelName(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

// "2024-05-01T12:00:00.123Z"
void AppendTimestamp(spdlog::log_clock::time_point tp, std::string& out) {
  const auto since_epoch = tp.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs).count();
  if (millis < 0) millis = 0;
  const std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  out.append(buf, n);
  char ms[8];
  std::snprintf(ms, sizeof(ms), ".%03dZ", static_cast<int>(millis));
  out.append(ms);
}

class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(msg.payload.size() + 64);
    line.append("{\"ts\":\"");
    AppendTimestamp(msg.time, line);
    line.append("\",\"level\":\"");
    line.append(LevelName(msg.level));
    line.append("\",\"msg\":");
    AppendJsonString(&line, std::string_view(msg.payload.data(), msg.payload.size()));
    line.append("}\n");
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLineFormatter>();
  }
};

}  // namespace

StatusOr<spdlog::level::level_enum> ParseLogLevel(std::string_view level) {
  std::string l(level);
  for (char& c : l) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (l == "trace") return spdlog::level::trace;
  if (l == "debug") return spdlog::level::debug;
  if (l == "info") return spdlog::level::info;
  if (l == "warn" || l == "warning") return spdlog::level::warn;
  if (l == "error") return spdlog::level::err;
  if (l == "critical") return spdlog::level::critical;
  if (l == "off") return spdlog::level::off;
  return InvalidArgumentError(
      "--log-level: must be one of trace, debug, info, warn, error, critical, off");
}

StatusOr<std::unique_ptr<spdlog::formatter>> MakeLogFormatter(std::string_view format) {
  if (format == "json") return std::unique_ptr<spdlog::formatter>(new JsonLineFormatter());
  if (format == "text") {
    return std::unique_ptr<spdlog::formatter>(new spdlog::pattern_formatter(
        "%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc));
  }
  return InvalidArgumentError("--log-format: must be text or json");
}

Status ConfigureLogging(std::string_view format, std::string_view level) {
  PEAT_ASSIGN_OR_RETURN(auto formatter, MakeLogFormatter(format));
  PEAT_ASSIGN_OR_RETURN(auto lvl, ParseLogLevel(level));
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>("peat", std::move(sink));
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return Status::Ok();
}

}  // namespace peat

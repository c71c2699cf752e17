#include "common/logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <sstream>

namespace peat {
namespace {

// Logs `msg` through a logger whose sink uses MakeLogFormatter(format) and returns the output.
std::string Render(std::string_view format, spdlog::level::level_enum level, std::string_view msg) {
  std::ostringstream os;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(os);
  auto formatter = MakeLogFormatter(format);
  EXPECT_TRUE(formatter.ok());
  sink->set_formatter(std::move(*formatter));
  spdlog::logger logger("test", sink);
  logger.set_level(spdlog::level::trace);
  logger.log(level, "{}", msg);
  return os.str();
}

TEST(LoggingTest, JsonLineIsOneValidObject) {
  const std::string msg = "quote \" backslash \\ newline \n tab \t bell \x07 unicode é ✓";
  const std::string line = Render("json", spdlog::level::warn, msg);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "exactly one line";
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j.size(), 3u);
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["msg"], msg);
  const std::string ts = j["ts"];
  ASSERT_EQ(ts.size(), 24u) << ts;  // 2024-05-01T12:00:00.123Z
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts.back(), 'Z');
}

TEST(LoggingTest, JsonReplacesInvalidUtf8) {
  const std::string line = Render("json", spdlog::level::info, std::string("bad \xff\xfe end"));
  auto j = nlohmann::json::parse(line);  // throws on invalid UTF-8
  EXPECT_EQ(j["msg"], "bad \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(j["level"], "info");
}

TEST(LoggingTest, TextFormat) {
  const std::string line = Render("text", spdlog::level::info, "hello world");
  EXPECT_NE(line.find(" info hello world\n"), std::string::npos) << line;
  EXPECT_EQ(line[10], 'T');
}

TEST(LoggingTest, ConfigureValidatesAndSetsLevel) {
  auto bad_format = ConfigureLogging("xml", "info");
  ASSERT_FALSE(bad_format.ok());
  EXPECT_NE(bad_format.message().find("--log-format"), std::string::npos);
  auto bad_level = ConfigureLogging("text", "loud");
  ASSERT_FALSE(bad_level.ok());
  EXPECT_NE(bad_level.message().find("--log-level"), std::string::npos);

  ASSERT_TRUE(ConfigureLogging("json", "debug").ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
  EXPECT_EQ(spdlog::default_logger()->name(), "peat");
  ASSERT_TRUE(ConfigureLogging("text", "WARNING").ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
  ASSERT_TRUE(ConfigureLogging("text", "off").ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::off);
}

}  // namespace
}  // namespace peat

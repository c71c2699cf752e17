// FakeAgent: the fake UDS Remote Agent of WATCHER.md §7 (tests/integration/lib/fake_agent.mjs)
// run as a child process with node, for the C++ tests of the watcher. Start() reads the port and
// the control port from its first stdout line; Control() posts one command to POST /control
// (commands: applyControl in fake_agent.mjs). HaveNode() tells whether node is installed (tests
// without it are SKIPPED, loudly).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "child_process.h"

#ifndef PEAT_SOURCE_DIR
#error "PEAT_SOURCE_DIR must name the source tree (the fake agent's script lives there)"
#endif

namespace peat::watcher {

inline bool HaveNode() { return std::system("node --version > /dev/null 2>&1") == 0; }

// One fake agent process; `port` and `control` from its first stdout line.
class FakeAgent {
 public:
  static std::unique_ptr<FakeAgent> Start(std::vector<std::string> args) {
    std::vector<std::string> argv = {
        "node", std::string(PEAT_SOURCE_DIR) + "/tests/integration/lib/fake_agent.mjs"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto fake = std::unique_ptr<FakeAgent>(new FakeAgent(argv));
    auto line = fake->process_.ReadLine(std::chrono::milliseconds(20000));
    if (!line) return nullptr;
    fake->port_ = Field(*line, "\"port\":");
    fake->control_ = Field(*line, "\"control\":");
    if (fake->port_ == 0 || fake->control_ == 0) return nullptr;
    return fake;
  }

  int port() const { return port_; }

  // POST /control with `json`; the answer's body.
  std::string Control(const std::string& json) const {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(control_)});
    boost::beast::http::request<boost::beast::http::string_body> req(boost::beast::http::verb::post,
                                                                     "/control", 11);
    req.set(boost::beast::http::field::host, "127.0.0.1");
    req.set(boost::beast::http::field::content_type, "application/json");
    req.body() = json;
    req.prepare_payload();
    boost::beast::http::write(socket, req);
    boost::beast::flat_buffer buf;
    boost::beast::http::response<boost::beast::http::string_body> res;
    boost::beast::http::read(socket, buf, res);
    return res.body();
  }
  void Behaviour(const std::string& route, const std::string& b) const {
    const std::string answer =
        Control(R"({"op":"behaviour","route":")" + route + R"(","behaviour":")" + b + R"("})");
    EXPECT_THAT(answer, ::testing::HasSubstr("\"ok\":true")) << answer;
  }

 private:
  explicit FakeAgent(const std::vector<std::string>& argv) : process_(argv) {}
  static int Field(const std::string& line, const std::string& key) {
    const size_t at = line.find(key);
    return at == std::string::npos ? 0 : std::atoi(line.c_str() + at + key.size());
  }

  testing::ChildProcess process_;
  int port_ = 0;
  int control_ = 0;
};

}  // namespace peat::watcher

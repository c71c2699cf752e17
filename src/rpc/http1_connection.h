// Http1Connection: HTTP/1.1 with keep-alive on one socket, one request at a time (pipelined
// requests wait in the buffer). Requests are parsed by Beast; responses are written directly
// (Content-Length for complete answers, chunked transfer encoding for streams). Enforces the
// header-read timeout (from a request's first byte until it is fully read), the idle timeout
// (between requests) and the body limit. Runs on one executor; not thread-safe.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rpc/connection.h"
#include "rpc/http_exchange.h"

namespace peat::rpc {

class Http1Exchange;

class Http1Connection : public Connection, public std::enable_shared_from_this<Http1Connection> {
 public:
  Http1Connection(Socket socket, std::shared_ptr<ConnectionSlot> slot, ConnectionContext& context,
                  std::string initial_bytes);
  ~Http1Connection() override;

  void Start();
  void Drain() override;
  void Close() override;

  // Used by Http1Exchange (same executor). The Write* calls only queue bytes; Flush starts
  // writing what is queued (one gathered write), ResponseComplete flushes too.
  void WriteResponseHead(int status, const HeaderList& headers, std::optional<size_t> length);
  void WriteBody(std::string bytes);
  void WriteChunk(std::string bytes);
  void Flush();
  void ResponseComplete(bool chunked);
  size_t pending_bytes() const { return pending_bytes_; }
  boost::asio::any_io_executor executor() override { return socket_.get_executor(); }

 private:
  enum class TimerPurpose { kNone, kHeader, kIdle };
  void ParseBuffered();
  void StartRead();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void Enqueue(std::string bytes);
  void DoWrite();
  // Header-read / idle timeout: one lazily re-armed wait (see ArmTimer).
  void ArmTimer(TimerPurpose purpose);
  void WaitTimer(std::chrono::steady_clock::time_point now);
  void OnTimer();
  void RejectMalformed(const std::string& why);

  Socket socket_;
  std::shared_ptr<ConnectionSlot> slot_;
  ConnectionContext& context_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<Http1Exchange> exchange_;
  boost::asio::steady_timer timer_;
  TimerPurpose timer_purpose_ = TimerPurpose::kNone;
  std::chrono::steady_clock::time_point timer_deadline_;  // of timer_purpose_
  bool timer_waiting_ = false;                            // a wait on timer_ is in flight
  std::vector<std::string> out_queue_;
  std::vector<std::string> writing_;
  size_t pending_bytes_ = 0;
  bool reading_ = false;
  bool writing_active_ = false;
  bool keep_alive_ = true;
  bool close_after_write_ = false;
  bool draining_ = false;
  bool closed_ = false;
};

}  // namespace peat::rpc

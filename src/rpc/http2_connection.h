// Http2Connection: an HTTP/2 (prior knowledge, h2c) server connection on nghttp2.
//
// Requests are collected per stream and dispatched to the router only after
// nghttp2_session_mem_recv returns (never from inside a callback); a bidirectional stream is
// dispatched at its headers and its body handed to the exchange piece by piece, also after
// mem_recv returns. Responses use deferred data
// providers so streams can be written incrementally with backpressure, and trailers (gRPC status)
// close them. Enforces SETTINGS_MAX_CONCURRENT_STREAMS, the header-read and idle timeouts and
// keepalive PINGs; a protocol violation answers GOAWAY on this connection only. Runs on one
// executor; not thread-safe.
#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "rpc/connection.h"
#include "rpc/http_exchange.h"

namespace peat::rpc {

class Http2Exchange;

class Http2Connection : public Connection, public std::enable_shared_from_this<Http2Connection> {
 public:
  Http2Connection(Socket socket, std::shared_ptr<ConnectionSlot> slot, ConnectionContext& context,
                  std::string initial_bytes);
  ~Http2Connection() override;

  void Start();
  void Drain() override;
  void Close() override;

  // Used by Http2Exchange (same executor). Unknown/closed stream ids are ignored.
  void SubmitResponse(int32_t stream_id, int status, const HeaderList& headers, std::string body,
                      bool streaming);
  void SubmitData(int32_t stream_id, std::string bytes);
  void SubmitEnd(int32_t stream_id, HeaderList trailers);
  size_t PendingBytes(int32_t stream_id) const;
  boost::asio::any_io_executor executor() override { return socket_.get_executor(); }

  struct Stream;

 private:
  enum class TimerPurpose { kNone, kHeader, kIdle };

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame*, void*);
  static int OnHeader(nghttp2_session*, const nghttp2_frame*, const uint8_t*, size_t,
                      const uint8_t*, size_t, uint8_t, void*);
  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame*, void*);
  static int OnFrameSend(nghttp2_session*, const nghttp2_frame*, void*);
  static int OnStreamClose(nghttp2_session*, int32_t, uint32_t, void*);
  static ssize_t ReadData(nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*,
                          nghttp2_data_source*, void*);

  void Feed(const uint8_t* data, size_t n);
  void StartRead();
  void Flush();
  void DispatchQueued();
  void QueueBodyDelivery(Stream& s);
  void UpdateTimer();
  void ArmTimer(TimerPurpose purpose);
  void ScheduleKeepalive();
  Stream* FindStream(int32_t id) const;

  Socket socket_;
  std::shared_ptr<ConnectionSlot> slot_;
  ConnectionContext& context_;
  nghttp2_session* session_ = nullptr;
  std::string initial_bytes_;
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<std::shared_ptr<Http2Exchange>> to_dispatch_;
  std::vector<std::shared_ptr<Http2Exchange>> to_oversize_;
  std::vector<std::shared_ptr<Http2Exchange>> to_cancel_;
  std::vector<int32_t> to_deliver_;  // streams with body pieces for their exchange
  std::vector<uint8_t> read_buf_;
  std::string out_buf_;
  std::string writing_buf_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer keepalive_timer_;
  TimerPurpose timer_purpose_ = TimerPurpose::kNone;
  bool ping_outstanding_ = false;
  bool seen_request_ = false;
  bool in_recv_ = false;
  bool batching_ = false;
  bool writing_ = false;
  bool draining_ = false;
  bool closed_ = false;
};

}  // namespace peat::rpc

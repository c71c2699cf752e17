// ServerCall: one RPC in progress, independent of the wire protocol that carries it.
//
// Handlers receive a shared_ptr<ServerCall> and answer through it: Reply() for unary calls,
// Write()…Finish() for server streams, Finish(error) for failures. A server-streaming handler
// accepts its call by returning without finishing it; the router then sends the response status
// and headers at once (SendHeaders), so clients that wait for them do not hang until the first
// message. These handler-facing methods
// are thread-safe: they may be called from any thread (e.g. a store thread) and hop to the
// connection's executor. A call finishes exactly once; later calls are ignored. When the client
// goes away, the deadline passes or the server drains, the cancel hook runs (on the executor) so
// the handler can stop work.
//
// Ownership: the handler owns the call (holds the shared_ptr) until it has finished it. A call
// dropped without an answer is answered INTERNAL ("handler returned without a response").
#pragma once

#include <google/protobuf/message.h>

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "rpc/http_exchange.h"

namespace peat::rpc {

class MethodMetrics;
class StreamRegistry;

// Protocol adapter: turns messages and the final status into one protocol's HTTP response.
// Called only on the exchange's executor, at most once Finish().
class CallEncoder {
 public:
  virtual ~CallEncoder() = default;
  // Streaming protocols: sends the response status and headers now (a no-op once sent; later
  // messages and the status follow on the open stream). Protocols that answer in one piece
  // (Connect unary) ignore it.
  virtual void SendHeaders() = 0;
  virtual void SendMessage(const google::protobuf::Message& msg) = 0;
  virtual void Finish(const Status& status) = 0;
};

class ServerCall : public std::enable_shared_from_this<ServerCall> {
 public:
  ServerCall(std::shared_ptr<HttpExchange> exchange, std::unique_ptr<CallEncoder> encoder,
             MethodMetrics* metrics, std::chrono::steady_clock::time_point deadline);
  ~ServerCall();
  ServerCall(const ServerCall&) = delete;
  ServerCall& operator=(const ServerCall&) = delete;

  // --- Handler API (thread-safe) ---
  void Reply(std::unique_ptr<google::protobuf::Message> response);  // message + OK
  void Write(std::unique_ptr<google::protobuf::Message> message);   // one stream message
  void Finish(Status status);                                       // end with status
  bool IsDone() const { return done_.load(std::memory_order_acquire); }
  // Set from the handler before it returns (on the executor). Runs at most once.
  void SetCancelHook(std::function<void()> hook);
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  const HttpRequest& request() const { return exchange_->request(); }
  boost::asio::any_io_executor executor() const { return exchange_->executor(); }
  // Bytes written by this call and not yet on the socket.
  size_t PendingBytes() const { return exchange_->PendingBytes(); }

  // --- Server side (call on the executor) ---
  // Sends the response status and headers now, unless the call already finished or the peer is
  // gone (see CallEncoder::SendHeaders).
  void SendHeaders();
  // Arms the deadline timer unless the call already finished.
  void ArmDeadline();
  // Ends the call from the server side: runs the cancel hook, then finishes with `status`
  // (DEADLINE_EXCEEDED on timeout, OK when draining). A no-op if already done.
  void Terminate(Status status);
  // The peer went away: runs the cancel hook; nothing more is sent.
  void OnPeerGone();
  void RegisterStream(StreamRegistry* registry);

 private:
  void FinishOnExecutor(const Status& status);
  void RunCancelHook();

  std::shared_ptr<HttpExchange> exchange_;
  std::unique_ptr<CallEncoder> encoder_;
  MethodMetrics* metrics_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point deadline_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::function<void()> cancel_hook_;
  StreamRegistry* stream_registry_ = nullptr;
  std::atomic<bool> done_{false};
  bool finished_on_executor_ = false;
};

}  // namespace peat::rpc

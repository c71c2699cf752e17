// HttpExchange: one HTTP request/response pair, independent of HTTP/1.1 vs HTTP/2.
//
// The connection that parsed the request owns the transport; the exchange is what the protocol
// layer (Connect / gRPC / gRPC-Web adapters, ops endpoints) writes its answer to. All methods must
// be called on the connection's executor (see executor()). Once the peer is gone (connection
// closed, RST_STREAM) the exchange is "cancelled": writes become no-ops and the cancel hook runs.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peat::rpc {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "POST", "GET", "OPTIONS"
  std::string path;    // without query string
  std::string query;   // after '?', may be empty
  HeaderList headers;  // names lower-cased
  std::string body;
  bool http2 = false;

  // First header with this (lower-case) name, if any.
  std::optional<std::string_view> Header(std::string_view name) const;
};

class HttpExchange {
 public:
  virtual ~HttpExchange() = default;

  virtual const HttpRequest& request() const = 0;
  virtual boost::asio::any_io_executor executor() const = 0;

  // A complete response in one go (Content-Length on HTTP/1.1; HEADERS[+DATA] on HTTP/2).
  // With an empty body on HTTP/2 the HEADERS frame ends the stream (gRPC "trailers-only").
  virtual void SendResponse(int status, HeaderList headers, std::string body) = 0;
  // A streamed response: headers now, data chunks later, then EndStream (HTTP/1.1 uses chunked
  // transfer encoding; trailers are sent only on HTTP/2 and ignored on HTTP/1.1).
  virtual void StartStream(int status, HeaderList headers) = 0;
  virtual void StreamData(std::string bytes) = 0;
  virtual void EndStream(HeaderList trailers) = 0;

  // The request body of a bidirectional stream as it arrives: `reader` runs on the executor with
  // each piece in order, `end` set on the last call (its piece may be empty). A request the
  // transport dispatched complete (all but an HTTP/2 bidirectional stream, which is dispatched at
  // its headers: RpcRouter::StreamsRequestBody) gets its whole body in one call. Call at most
  // once; pieces that arrive after the response ended or the peer left are dropped.
  using BodyReader = std::function<void(std::string_view piece, bool end)>;
  virtual void ReadBody(BodyReader reader) { reader(request().body, true); }

  // Bytes handed to the exchange and not yet written to the socket (for backpressure).
  virtual size_t PendingBytes() const = 0;
  virtual bool IsCancelled() const = 0;
  // Runs once, on the executor, when the peer goes away before the response has ended.
  virtual void SetCancelHook(std::function<void()> hook) = 0;
};

// The response-state bookkeeping both transports share: started / ended / cancelled flags and the
// cancel hook. Transports derive from it and implement the writes.
class TransportExchange : public HttpExchange {
 public:
  explicit TransportExchange(HttpRequest request) : request_(std::move(request)) {}

  const HttpRequest& request() const override { return request_; }
  bool IsCancelled() const override { return cancelled_; }
  void SetCancelHook(std::function<void()> hook) override { cancel_hook_ = std::move(hook); }

  void ReadBody(BodyReader reader) override;
  // Transport side, for a request dispatched before its body ended: the body follows in pieces
  // through DeliverBody (held until the reader is set).
  void ExpectStreamedBody() { body_streamed_ = true; }
  void DeliverBody(std::string_view piece, bool end);

  bool ended() const { return ended_; }
  // The peer went away before the response ended: runs the cancel hook once.
  void Cancel() {
    if (cancelled_ || ended_) return;
    cancelled_ = true;
    if (cancel_hook_) {
      auto hook = std::move(cancel_hook_);
      cancel_hook_ = nullptr;
      hook();
    }
    body_reader_ = nullptr;  // after the hook: the reader may own the call the hook cancels
  }

 protected:
  bool Writable() const { return !cancelled_ && !ended_; }
  // The response has ended: no more body pieces are wanted (the reader, which may own the call
  // that owns this exchange, is released).
  void MarkEnded() {
    ended_ = true;
    body_reader_ = nullptr;
  }

  HttpRequest request_;
  bool started_ = false;
  bool ended_ = false;

 private:
  std::function<void()> cancel_hook_;
  bool cancelled_ = false;
  bool body_streamed_ = false;
  bool body_end_seen_ = false;       // the transport has the last piece
  bool body_end_delivered_ = false;  // the reader has it
  BodyReader body_reader_;
  std::string body_pending_;  // pieces that arrived before the reader was set
};

}  // namespace peat::rpc

// FakeExchange: an in-memory HttpExchange for unit tests. Records every response call in order,
// runs on a caller-supplied io_context, can play a request body that arrives in pieces
// (StreamBody/FeedBody, as HTTP/2 bidirectional streams do), and flags misuse of the exchange
// contract (writes after the response ended, data before headers, two responses). Not thread-safe:
// use it on the io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rpc/http_exchange.h"

namespace peat::rpc::testing {

class FakeExchange : public HttpExchange {
 public:
  enum class Kind { kSendResponse, kStartStream, kStreamData, kEndStream };
  struct Event {
    Kind kind;
    int status = 0;
    HeaderList headers;
    std::string body;
  };

  FakeExchange(boost::asio::io_context& io, HttpRequest request)
      : io_(io), request_(std::move(request)) {}

  const HttpRequest& request() const override { return request_; }
  boost::asio::any_io_executor executor() const override { return io_.get_executor(); }

  void SendResponse(int status, HeaderList headers, std::string body) override {
    if (cancelled_) return;
    if (started_ || ended_) ++violations;
    End();
    events.push_back({Kind::kSendResponse, status, std::move(headers), std::move(body)});
  }
  void StartStream(int status, HeaderList headers) override {
    if (cancelled_) return;
    if (started_ || ended_) ++violations;
    started_ = true;
    events.push_back({Kind::kStartStream, status, std::move(headers), {}});
  }
  void StreamData(std::string bytes) override {
    if (cancelled_) return;
    if (!started_ || ended_) ++violations;
    events.push_back({Kind::kStreamData, 0, {}, std::move(bytes)});
  }
  void EndStream(HeaderList trailers) override {
    if (cancelled_) return;
    if (!started_ || ended_) ++violations;
    End();
    events.push_back({Kind::kEndStream, 0, std::move(trailers), {}});
  }
  size_t PendingBytes() const override { return 0; }
  bool IsCancelled() const override { return cancelled_; }
  void SetCancelHook(std::function<void()> hook) override { cancel_hook_ = std::move(hook); }

  // The peer goes away: marks the exchange cancelled and runs the hook (call on the io_context).
  void Cancel() {
    if (cancelled_) return;
    cancelled_ = true;
    if (!ended_ && cancel_hook_) {
      auto hook = std::move(cancel_hook_);
      cancel_hook_ = nullptr;
      hook();
    }
    body_reader_ = nullptr;  // after the hook, as the transports do
  }

  // The body is not handed over at ReadBody but fed by the test through FeedBody.
  void StreamBody() { stream_body_ = true; }
  void ReadBody(BodyReader reader) override {
    if (!stream_body_) return HttpExchange::ReadBody(std::move(reader));
    if (cancelled_ || ended_) return;  // as the transports do: nothing will come
    body_reader_ = std::move(reader);
  }
  // Hands the reader one piece of the body (call on the io_context); dropped once the response
  // ended or the peer left, like the transports do.
  void FeedBody(std::string_view piece, bool end) {
    if (!body_reader_ || cancelled_ || ended_) return;
    BodyReader reader = std::move(body_reader_);
    body_reader_ = nullptr;
    reader(piece, end);
    if (!end && !cancelled_ && !ended_) body_reader_ = std::move(reader);
  }
  bool has_body_reader() const { return static_cast<bool>(body_reader_); }

  bool ended() const { return ended_; }
  bool has_cancel_hook() const { return static_cast<bool>(cancel_hook_); }

  // Status and headers of the response (from SendResponse or StartStream); 0 if none yet.
  int status() const {
    for (const auto& e : events) {
      if (e.kind == Kind::kSendResponse || e.kind == Kind::kStartStream) return e.status;
    }
    return 0;
  }
  const HeaderList* response_headers() const {
    for (const auto& e : events) {
      if (e.kind == Kind::kSendResponse || e.kind == Kind::kStartStream) return &e.headers;
    }
    return nullptr;
  }
  std::optional<std::string> ResponseHeader(std::string_view name) const {
    const HeaderList* h = response_headers();
    if (!h) return std::nullopt;
    return Find(*h, name);
  }
  const HeaderList* trailers() const {
    for (const auto& e : events) {
      if (e.kind == Kind::kEndStream) return &e.headers;
    }
    return nullptr;
  }
  std::optional<std::string> Trailer(std::string_view name) const {
    const HeaderList* t = trailers();
    if (!t) return std::nullopt;
    return Find(*t, name);
  }
  // The whole body: SendResponse's body or every StreamData chunk concatenated.
  std::string body() const {
    std::string out;
    for (const auto& e : events) {
      if (e.kind == Kind::kSendResponse || e.kind == Kind::kStreamData) out += e.body;
    }
    return out;
  }
  std::vector<std::string> data_chunks() const {
    std::vector<std::string> out;
    for (const auto& e : events) {
      if (e.kind == Kind::kStreamData) out.push_back(e.body);
    }
    return out;
  }
  // grpc-status of a gRPC response: from the trailers, or from the headers of a trailers-only
  // response.
  std::optional<std::string> GrpcStatus() const {
    if (auto t = Trailer("grpc-status")) return t;
    for (const auto& e : events) {
      if (e.kind == Kind::kSendResponse) return Find(e.headers, "grpc-status");
    }
    return std::nullopt;
  }

  static std::optional<std::string> Find(const HeaderList& h, std::string_view name) {
    for (const auto& [k, v] : h) {
      if (k == name) return v;
    }
    return std::nullopt;
  }

  std::vector<Event> events;
  int violations = 0;

 private:
  boost::asio::io_context& io_;
  HttpRequest request_;
  bool started_ = false;
  bool ended_ = false;
  bool cancelled_ = false;
  std::function<void()> cancel_hook_;
  bool stream_body_ = false;
  BodyReader body_reader_;  // released when the response ends (it may own the call)

  void End() {
    ended_ = true;
    body_reader_ = nullptr;
  }
};

}  // namespace peat::rpc::testing

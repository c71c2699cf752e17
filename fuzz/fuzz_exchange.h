// FuzzExchange: a minimal in-memory HttpExchange for the router fuzzer. Records the response calls
// in order and counts breaches of the exchange contract (two responses, data before headers,
// writes after the end). Runs on a caller-supplied io_context; not thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rpc/http_exchange.h"

namespace peat::fuzz {

class FuzzExchange : public rpc::HttpExchange {
 public:
  enum class Kind { kSendResponse, kStartStream, kStreamData, kEndStream };
  struct Event {
    Kind kind;
    int status = 0;
    rpc::HeaderList headers;
    std::string body;
  };

  FuzzExchange(boost::asio::io_context& io, rpc::HttpRequest request)
      : io_(io), request_(std::move(request)) {}

  const rpc::HttpRequest& request() const override { return request_; }
  boost::asio::any_io_executor executor() const override { return io_.get_executor(); }

  void SendResponse(int status, rpc::HeaderList headers, std::string body) override {
    if (Ignored()) return;
    if (started_ || ended_) ++violations;
    started_ = ended_ = true;
    ++starts;
    ++ends;
    events.push_back({Kind::kSendResponse, status, std::move(headers), std::move(body)});
  }
  void StartStream(int status, rpc::HeaderList headers) override {
    if (Ignored()) return;
    if (started_ || ended_) ++violations;
    started_ = true;
    ++starts;
    events.push_back({Kind::kStartStream, status, std::move(headers), {}});
  }
  void StreamData(std::string bytes) override {
    if (Ignored()) return;
    if (!started_ || ended_) ++violations;
    events.push_back({Kind::kStreamData, 0, {}, std::move(bytes)});
  }
  void EndStream(rpc::HeaderList trailers) override {
    if (Ignored()) return;
    if (!started_ || ended_) ++violations;
    ended_ = true;
    ++ends;
    events.push_back({Kind::kEndStream, 0, std::move(trailers), {}});
  }
  size_t PendingBytes() const override { return 0; }
  bool IsCancelled() const override { return cancelled_; }
  void SetCancelHook(std::function<void()> hook) override {
    ++cancel_hooks_set;
    cancel_hook_ = std::move(hook);
  }

  // The peer goes away (call on the io_context): later writes are dropped, the hook runs once.
  void Cancel() {
    if (cancelled_) return;
    cancelled_ = true;
    if (!ended_ && cancel_hook_) {
      auto hook = std::move(cancel_hook_);
      cancel_hook_ = nullptr;
      hook();
    }
  }

  bool ended() const { return ended_; }
  bool cancelled() const { return cancelled_; }

  static std::optional<std::string> Find(const rpc::HeaderList& h, std::string_view name) {
    for (const auto& [k, v] : h) {
      if (k == name) return v;
    }
    return std::nullopt;
  }

  std::vector<Event> events;
  int violations = 0;           // contract breaches
  int writes_after_cancel = 0;  // calls made after Cancel() (dropped, as a real transport does)
  int starts = 0;               // SendResponse or StartStream
  int ends = 0;                 // SendResponse or EndStream
  int cancel_hooks_set = 0;

 private:
  bool Ignored() {
    if (!cancelled_) return false;
    ++writes_after_cancel;
    return true;
  }

  boost::asio::io_context& io_;
  rpc::HttpRequest request_;
  bool started_ = false;
  bool ended_ = false;
  bool cancelled_ = false;
  std::function<void()> cancel_hook_;
};

}  // namespace peat::fuzz

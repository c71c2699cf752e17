#include "rpc/http1_connection.h"

#include <algorithm>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <cctype>

#include "rpc/rpc_metrics.h"
#include "rpc/rpc_router.h"

namespace peat::rpc {

namespace http = boost::beast::http;

namespace {
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kMaxHeaderBytes = 16 * 1024;
// While a request is being handled we keep reading (to notice a client that hangs up) but stop
// buffering pipelined bytes past this.
constexpr size_t kMaxBufferedWhileBusy = 64 * 1024;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

// The exchange for the request currently being answered on an Http1Connection.
class Http1Exchange : public TransportExchange {
 public:
  Http1Exchange(std::shared_ptr<Http1Connection> conn, HttpRequest request)
      : TransportExchange(std::move(request)), conn_(std::move(conn)) {}

  boost::asio::any_io_executor executor() const override { return conn_->executor(); }

  void SendResponse(int status, HeaderList headers, std::string body) override {
    if (!Writable()) return;
    MarkEnded();
    conn_->WriteResponseHead(status, headers, body.size());
    if (!body.empty()) conn_->WriteBody(std::move(body));
    conn_->ResponseComplete(false);  // head and body leave in one write
  }
  void StartStream(int status, HeaderList headers) override {
    if (!Writable() || started_) return;
    started_ = true;
    conn_->WriteResponseHead(status, headers, std::nullopt);
    conn_->Flush();  // a stream's headers go out at once, before any message
  }
  void StreamData(std::string bytes) override {
    if (!Writable() || !started_ || bytes.empty()) return;
    conn_->WriteChunk(std::move(bytes));
    conn_->Flush();
  }
  void EndStream(HeaderList /*trailers: not sent on HTTP/1.1*/) override {
    if (!Writable() || !started_) return;
    MarkEnded();
    conn_->ResponseComplete(true);
  }
  size_t PendingBytes() const override { return conn_->pending_bytes(); }

 private:
  std::shared_ptr<Http1Connection> conn_;
};

Http1Connection::Http1Connection(Socket socket, std::shared_ptr<ConnectionSlot> slot,
                                 ConnectionContext& context, std::string initial_bytes)
    : socket_(std::move(socket)),
      slot_(std::move(slot)),
      context_(context),
      timer_(socket_.get_executor()) {
  auto buf = buffer_.prepare(initial_bytes.size());
  std::memcpy(buf.data(), initial_bytes.data(), initial_bytes.size());
  buffer_.commit(initial_bytes.size());
  context_.metrics->open_connections_http1.Add(1);
}

Http1Connection::~Http1Connection() { context_.metrics->open_connections_http1.Add(-1); }

void Http1Connection::Start() { ParseBuffered(); }

void Http1Connection::ParseBuffered() {
  while (!closed_ && !exchange_ && !close_after_write_ && buffer_.size() > 0) {
    if (!parser_) {
      parser_.emplace();
      parser_->header_limit(kMaxHeaderBytes);
      parser_->body_limit(context_.router->max_body_bytes());
      ArmTimer(TimerPurpose::kHeader);  // the first byte of a request has arrived
    }
    boost::system::error_code ec;
    size_t n = parser_->put(buffer_.data(), ec);
    buffer_.consume(n);
    if (ec == http::error::need_more) break;
    if (ec == http::error::body_limit ||
        (parser_->is_header_done() && parser_->content_length() &&
         *parser_->content_length() > context_.router->max_body_bytes())) {
      // Too large to read: answer from the headers alone, then close (the rest of the body is
      // never read).
      keep_alive_ = false;
      HttpRequest req;
      req.method = std::string(parser_->get().method_string());
      req.path = std::string(parser_->get().target());
      for (const auto& f : parser_->get()) {
        req.headers.emplace_back(Lower(f.name_string()), std::string(f.value()));
      }
      parser_.reset();
      exchange_ = std::make_shared<Http1Exchange>(shared_from_this(), std::move(req));
      timer_purpose_ = TimerPurpose::kNone;  // the wait in flight finds nothing to do
      context_.router->HandleOversized(exchange_);
      return;
    }
    if (ec) return RejectMalformed(ec.message());
    if (!parser_->is_done()) {
      if (n == 0) break;
      continue;
    }
    // A complete request.
    auto& msg = parser_->get();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    std::string_view target = msg.target();
    auto q = target.find('?');
    req.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
    req.headers.reserve(8);
    for (const auto& f : msg) {
      req.headers.emplace_back(Lower(f.name_string()), std::string(f.value()));
    }
    req.body = std::move(msg.body());
    keep_alive_ = msg.keep_alive() && !draining_;
    parser_.reset();
    timer_purpose_ = TimerPurpose::kNone;  // the wait in flight finds nothing to do
    exchange_ = std::make_shared<Http1Exchange>(shared_from_this(), std::move(req));
    context_.router->Handle(exchange_);
  }
  if (closed_ || close_after_write_) return;
  if (!exchange_ && !parser_) {
    if (draining_) {
      close_after_write_ = true;
      if (!writing_active_) Close();
      return;
    }
    ArmTimer(TimerPurpose::kIdle);
  }
  if (!reading_ && (!exchange_ || buffer_.size() < kMaxBufferedWhileBusy)) StartRead();
}

void Http1Connection::StartRead() {
  reading_ = true;
  socket_.async_read_some(buffer_.prepare(kReadChunk),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      size_t n) { self->OnRead(ec, n); });
}

void Http1Connection::OnRead(const boost::system::error_code& ec, size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    // EOF or reset. A request half-read or a response not yet finished: the client is gone.
    Close();
    return;
  }
  buffer_.commit(n);
  ParseBuffered();
}

void Http1Connection::RejectMalformed(const std::string& why) {
  parser_.reset();
  keep_alive_ = false;
  std::string body = "malformed HTTP/1.1 request: " + why + "\n";
  WriteResponseHead(400, {{"content-type", "text/plain; charset=utf-8"}}, body.size());
  WriteBody(std::move(body));
  close_after_write_ = true;
  Flush();
}

void Http1Connection::WriteResponseHead(int status, const HeaderList& headers,
                                        std::optional<size_t> length) {
  std::string head;
  head.reserve(256);
  head += "HTTP/1.1 ";
  head += std::to_string(status);
  head += ' ';
  head += std::string(http::obsolete_reason(static_cast<http::status>(status)));
  head += "\r\n";
  for (const auto& [k, v] : headers) {
    head += k;
    head += ": ";
    head += v;
    head += "\r\n";
  }
  if (length) {
    head += "content-length: " + std::to_string(*length) + "\r\n";
  } else {
    head += "transfer-encoding: chunked\r\n";
  }
  if (!keep_alive_ || draining_) head += "connection: close\r\n";
  head += "\r\n";
  Enqueue(std::move(head));
}

void Http1Connection::WriteBody(std::string bytes) { Enqueue(std::move(bytes)); }

void Http1Connection::WriteChunk(std::string bytes) {
  char size[20];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
  std::string chunk;
  chunk.reserve(static_cast<size_t>(n) + bytes.size() + 2);
  chunk.append(size, static_cast<size_t>(n));
  chunk += bytes;
  chunk += "\r\n";
  Enqueue(std::move(chunk));
}

void Http1Connection::ResponseComplete(bool chunked) {
  if (chunked) Enqueue("0\r\n\r\n");
  exchange_.reset();
  if (!keep_alive_ || draining_) close_after_write_ = true;
  Flush();  // closes once written when close_after_write_
  if (close_after_write_) return;
  ParseBuffered();
}

void Http1Connection::Enqueue(std::string bytes) {
  if (closed_) return;
  pending_bytes_ += bytes.size();
  out_queue_.push_back(std::move(bytes));
}

void Http1Connection::Flush() {
  if (!closed_ && !writing_active_) DoWrite();
}

void Http1Connection::DoWrite() {
  if (out_queue_.empty()) {
    if (close_after_write_) Close();
    return;
  }
  writing_active_ = true;
  writing_.swap(out_queue_);
  std::vector<boost::asio::const_buffer> bufs;
  bufs.reserve(writing_.size());
  for (const auto& s : writing_) bufs.emplace_back(s.data(), s.size());
  boost::asio::async_write(
      socket_, bufs, [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
        self->writing_active_ = false;
        self->pending_bytes_ -= n;
        self->writing_.clear();
        if (ec) {
          self->Close();
          return;
        }
        self->DoWrite();
      });
}

void Http1Connection::ArmTimer(TimerPurpose purpose) {
  if (timer_purpose_ == purpose) return;  // already counting down for this state
  timer_purpose_ = purpose;
  const auto now = std::chrono::steady_clock::now();
  timer_deadline_ = now + (purpose == TimerPurpose::kHeader ? context_.settings.header_read_timeout
                                                            : context_.settings.idle_timeout);
  // Re-arming the timer moves the io_context's kernel timer (a timerfd_settime per request). So a
  // wait in flight that ends no later than the new deadline is kept: it wakes up, finds time
  // left and waits for the rest (OnTimer). WaitTimer never waits longer than the shorter
  // timeout, so that is always the case.
  if (timer_waiting_ && timer_.expiry() <= timer_deadline_) return;
  WaitTimer(now);
}

void Http1Connection::WaitTimer(std::chrono::steady_clock::time_point now) {
  const auto tick = std::min(context_.settings.header_read_timeout, context_.settings.idle_timeout);
  timer_.expires_at(std::min(timer_deadline_, now + tick));
  timer_waiting_ = true;
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;  // re-armed (a newer wait is in flight) or closed
    self->timer_waiting_ = false;
    self->OnTimer();
  });
}

void Http1Connection::OnTimer() {
  if (closed_ || timer_purpose_ == TimerPurpose::kNone) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < timer_deadline_) return WaitTimer(now);
  if (timer_purpose_ == TimerPurpose::kHeader) {
    context_.metrics->connections_rejected_header.Inc();
  } else {
    context_.metrics->connections_rejected_idle.Inc();
  }
  Close();
}

void Http1Connection::Drain() {
  if (closed_) return;
  draining_ = true;
  // A response in progress ends the connection when it completes (ResponseComplete); otherwise
  // close as soon as what is queued has been written.
  if (!exchange_) {
    close_after_write_ = true;
    if (!writing_active_) Close();
  }
}

void Http1Connection::Close() {
  if (closed_) return;
  closed_ = true;
  timer_purpose_ = TimerPurpose::kNone;
  timer_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  if (auto ex = std::move(exchange_)) ex->Cancel();
  out_queue_.clear();
  slot_.reset();
}

}  // namespace peat::rpc

#include "rpc/http2_connection.h"

#include <spdlog/spdlog.h>

#include <boost/asio/write.hpp>
#include <cstring>

#include "rpc/rpc_metrics.h"
#include "rpc/rpc_router.h"

namespace peat::rpc {

namespace {
constexpr size_t kReadChunk = 32 * 1024;
constexpr size_t kMaxHeaderListBytes = 64 * 1024;
constexpr size_t kMaxOutBatch = 256 * 1024;
constexpr int32_t kStreamWindow = 1 << 20;
constexpr int32_t kConnectionWindow = 16 << 20;

std::vector<nghttp2_nv> MakeNv(const std::string& status, const HeaderList& headers) {
  std::vector<nghttp2_nv> nv;
  nv.reserve(headers.size() + 1);
  auto add = [&nv](const std::string& k, const std::string& v) {
    nv.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(k.data())),
                            reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), k.size(),
                            v.size(), NGHTTP2_NV_FLAG_NONE});
  };
  static const std::string kStatus = ":status";
  if (!status.empty()) add(kStatus, status);
  for (const auto& [k, v] : headers) add(k, v);
  return nv;
}
}  // namespace

struct Http2Connection::Stream {
  int32_t id = 0;
  HttpRequest request;
  size_t header_bytes = 0;
  bool headers_complete = false;
  bool oversized = false;
  bool dispatched = false;
  // A bidirectional stream dispatched at its headers: its body goes to the exchange as it arrives
  // (collected here during nghttp2_session_mem_recv, delivered after it returns).
  bool body_streamed = false;
  std::string body_in;
  bool body_in_end = false;
  bool body_in_queued = false;
  std::shared_ptr<Http2Exchange> exchange;
  // Outgoing response body, drained by ReadData: chunks [out_head, out.size()), the first one
  // consumed up to out_offset. (A vector, not a deque: libstdc++'s deque allocates ~600 bytes on
  // construction, once per stream.)
  std::vector<std::string> out;
  size_t out_head = 0;
  size_t out_offset = 0;
  size_t out_bytes = 0;
  bool out_end = false;
  HeaderList trailers;
  bool deferred = false;
};

class Http2Exchange : public TransportExchange {
 public:
  Http2Exchange(std::shared_ptr<Http2Connection> conn, int32_t id, HttpRequest request)
      : TransportExchange(std::move(request)), conn_(std::move(conn)), id_(id) {}

  boost::asio::any_io_executor executor() const override { return conn_->executor(); }

  void SendResponse(int status, HeaderList headers, std::string body) override {
    if (!Writable()) return;
    MarkEnded();
    conn_->SubmitResponse(id_, status, headers, std::move(body), false);
  }
  void StartStream(int status, HeaderList headers) override {
    if (!Writable() || started_) return;
    started_ = true;
    conn_->SubmitResponse(id_, status, headers, {}, true);
  }
  void StreamData(std::string bytes) override {
    if (!Writable() || !started_ || bytes.empty()) return;
    conn_->SubmitData(id_, std::move(bytes));
  }
  void EndStream(HeaderList trailers) override {
    if (!Writable() || !started_) return;
    MarkEnded();
    conn_->SubmitEnd(id_, std::move(trailers));
  }
  size_t PendingBytes() const override { return conn_->PendingBytes(id_); }

 private:
  std::shared_ptr<Http2Connection> conn_;
  int32_t id_;
};

Http2Connection::Http2Connection(Socket socket, std::shared_ptr<ConnectionSlot> slot,
                                 ConnectionContext& context, std::string initial_bytes)
    : socket_(std::move(socket)),
      slot_(std::move(slot)),
      context_(context),
      initial_bytes_(std::move(initial_bytes)),
      read_buf_(kReadChunk),
      timer_(socket_.get_executor()),
      keepalive_timer_(socket_.get_executor()) {
  context_.metrics->open_connections_http2.Add(1);
}

Http2Connection::~Http2Connection() {
  if (session_) nghttp2_session_del(session_);
  context_.metrics->open_connections_http2.Add(-1);
}

void Http2Connection::Start() {
  nghttp2_session_callbacks* cb;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cb, &OnHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &OnDataChunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &OnFrameRecv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, &OnFrameSend);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &OnStreamClose);
  nghttp2_option* opt;
  nghttp2_option_new(&opt);
  nghttp2_option_set_max_settings(opt, 32);
  nghttp2_session_server_new2(&session_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);

  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, context_.settings.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, kMaxHeaderListBytes},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);

  UpdateTimer();
  ScheduleKeepalive();
  std::string initial = std::move(initial_bytes_);
  Feed(reinterpret_cast<const uint8_t*>(initial.data()), initial.size());
}

Http2Connection::Stream* Http2Connection::FindStream(int32_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void Http2Connection::Feed(const uint8_t* data, size_t n) {
  if (closed_) return;
  in_recv_ = true;
  ssize_t rv = nghttp2_session_mem_recv(session_, data, n);
  in_recv_ = false;
  if (rv < 0) {
    // Fatal protocol error (bad preface, flooding, …): GOAWAY, then close this connection only.
    spdlog::debug("http2: closing connection: {}", nghttp2_strerror(static_cast<int>(rv)));
    nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
  }
  DispatchQueued();
  UpdateTimer();
  Flush();
  if (!closed_) StartRead();
}

void Http2Connection::DispatchQueued() {
  // Responses produced while dispatching a batch are flushed together afterwards.
  batching_ = true;
  auto cancels = std::move(to_cancel_);
  to_cancel_.clear();
  for (auto& ex : cancels) ex->Cancel();
  auto oversize = std::move(to_oversize_);
  to_oversize_.clear();
  for (auto& ex : oversize) context_.router->HandleOversized(ex);
  auto ready = std::move(to_dispatch_);
  to_dispatch_.clear();
  for (auto& ex : ready) context_.router->Handle(ex);
  // Body pieces of bidirectional streams, after their dispatch (which set their readers).
  auto bodies = std::move(to_deliver_);
  to_deliver_.clear();
  for (int32_t id : bodies) {
    Stream* s = FindStream(id);
    if (!s) continue;  // closed meanwhile: reset (cancelled) or its response ended
    s->body_in_queued = false;
    std::string piece = std::move(s->body_in);
    s->body_in.clear();
    auto exchange = s->exchange;  // the reader may end the response and so the stream
    exchange->DeliverBody(piece, s->body_in_end);
  }
  batching_ = false;
}

void Http2Connection::QueueBodyDelivery(Stream& s) {
  if (s.body_in_queued) return;
  s.body_in_queued = true;
  to_deliver_.push_back(s.id);
}

void Http2Connection::StartRead() {
  socket_.async_read_some(
      boost::asio::buffer(read_buf_),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
        if (self->closed_) return;
        if (ec) {
          self->Close();
          return;
        }
        self->Feed(self->read_buf_.data(), n);
      });
}

void Http2Connection::Flush() {
  if (closed_ || in_recv_ || batching_ || writing_) return;
  while (out_buf_.size() < kMaxOutBatch) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      Close();
      return;
    }
    if (n == 0) break;
    out_buf_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  // Sending can close streams (END_STREAM after the request ended): the connection may now be idle.
  UpdateTimer();
  if (out_buf_.empty()) {
    bool done = !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_);
    if (done || (draining_ && streams_.empty())) Close();
    return;
  }
  writing_ = true;
  writing_buf_.swap(out_buf_);
  out_buf_.clear();
  boost::asio::async_write(
      socket_, boost::asio::buffer(writing_buf_),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
        self->writing_ = false;
        self->writing_buf_.clear();
        if (ec) {
          self->Close();
          return;
        }
        self->Flush();
      });
}

void Http2Connection::SubmitResponse(int32_t id, int status, const HeaderList& headers,
                                     std::string body, bool streaming) {
  Stream* s = FindStream(id);
  if (!s || closed_) return;
  auto nv = MakeNv(std::to_string(status), headers);
  if (!streaming && body.empty()) {
    nghttp2_submit_response(session_, id, nv.data(), nv.size(), nullptr);
  } else {
    if (!body.empty()) {
      s->out_bytes += body.size();
      s->out.push_back(std::move(body));
    }
    s->out_end = !streaming;
    nghttp2_data_provider provider;
    provider.source.ptr = s;
    provider.read_callback = &ReadData;
    nghttp2_submit_response(session_, id, nv.data(), nv.size(), &provider);
  }
  Flush();
}

void Http2Connection::SubmitData(int32_t id, std::string bytes) {
  Stream* s = FindStream(id);
  if (!s || closed_) return;
  s->out_bytes += bytes.size();
  s->out.push_back(std::move(bytes));
  if (s->deferred) {
    s->deferred = false;
    nghttp2_session_resume_data(session_, id);
  }
  Flush();
}

void Http2Connection::SubmitEnd(int32_t id, HeaderList trailers) {
  Stream* s = FindStream(id);
  if (!s || closed_) return;
  s->out_end = true;
  s->trailers = std::move(trailers);
  if (s->deferred) {
    s->deferred = false;
    nghttp2_session_resume_data(session_, id);
  }
  Flush();
}

size_t Http2Connection::PendingBytes(int32_t id) const {
  Stream* s = FindStream(id);
  return s ? s->out_bytes : 0;
}

ssize_t Http2Connection::ReadData(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                                  uint32_t* flags, nghttp2_data_source*, void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  Stream* s = self->FindStream(id);
  if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  size_t copied = 0;
  while (copied < length && s->out_head < s->out.size()) {
    std::string& front = s->out[s->out_head];
    size_t n = std::min(length - copied, front.size() - s->out_offset);
    std::memcpy(buf + copied, front.data() + s->out_offset, n);
    copied += n;
    s->out_offset += n;
    if (s->out_offset == front.size()) {
      ++s->out_head;
      s->out_offset = 0;
    }
  }
  if (s->out_head == s->out.size()) {
    s->out.clear();
    s->out_head = 0;
  }
  s->out_bytes -= copied;
  if (s->out.empty()) {
    if (!s->out_end) {
      if (copied == 0) {
        s->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
      }
      return static_cast<ssize_t>(copied);
    }
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!s->trailers.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      auto nv = MakeNv({}, s->trailers);
      nghttp2_submit_trailer(session, id, nv.data(), nv.size());
    }
  }
  return static_cast<ssize_t>(copied);
}

int Http2Connection::OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto stream = std::make_unique<Stream>();
  stream->id = frame->hd.stream_id;
  stream->request.http2 = true;
  self->streams_[frame->hd.stream_id] = std::move(stream);
  return 0;
}

int Http2Connection::OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                              size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                              void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  Stream* s = self->FindStream(frame->hd.stream_id);
  if (!s || s->headers_complete) return 0;  // request trailers are ignored
  s->header_bytes += namelen + valuelen + 32;
  if (s->header_bytes > kMaxHeaderListBytes) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (n == ":method") {
    s->request.method = std::string(v);
  } else if (n == ":path") {
    auto q = v.find('?');
    s->request.path = std::string(v.substr(0, q));
    if (q != std::string_view::npos) s->request.query = std::string(v.substr(q + 1));
  } else if (!n.empty() && n[0] != ':') {
    s->request.headers.emplace_back(std::string(n), std::string(v));
  }
  return 0;
}

int Http2Connection::OnDataChunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data,
                                 size_t len, void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  Stream* s = self->FindStream(id);
  if (s && s->body_streamed) {
    s->body_in.append(reinterpret_cast<const char*>(data), len);
    self->QueueBodyDelivery(*s);
    return 0;
  }
  if (!s || s->oversized || s->dispatched) return 0;
  if (s->request.body.size() + len > self->context_.router->max_body_bytes()) {
    // Answer at once from the headers; the rest of the body is discarded as it arrives.
    s->oversized = true;
    s->dispatched = true;
    s->request.body.clear();
    s->exchange =
        std::make_shared<Http2Exchange>(self->shared_from_this(), id, std::move(s->request));
    self->to_oversize_.push_back(s->exchange);
    return 0;
  }
  s->request.body.append(reinterpret_cast<const char*>(data), len);
  return 0;
}

int Http2Connection::OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA: {
      Stream* s = self->FindStream(frame->hd.stream_id);
      if (!s) return 0;
      const bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
      if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        s->headers_complete = true;
        self->seen_request_ = true;
        if (!end_stream && self->context_.router->StreamsRequestBody(s->request)) {
          s->dispatched = true;
          s->body_streamed = true;
          s->exchange = std::make_shared<Http2Exchange>(self->shared_from_this(), s->id,
                                                        std::move(s->request));
          s->exchange->ExpectStreamedBody();
          self->to_dispatch_.push_back(s->exchange);
          break;
        }
      }
      if (end_stream && s->body_streamed) {
        s->body_in_end = true;
        self->QueueBodyDelivery(*s);
      }
      if (end_stream && !s->dispatched && s->headers_complete) {
        s->dispatched = true;
        s->exchange =
            std::make_shared<Http2Exchange>(self->shared_from_this(), s->id, std::move(s->request));
        self->to_dispatch_.push_back(s->exchange);
      }
      break;
    }
    case NGHTTP2_PING:
      if (frame->hd.flags & NGHTTP2_FLAG_ACK) self->ping_outstanding_ = false;
      break;
    default:
      break;
  }
  return 0;
}

int Http2Connection::OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR) {
    self->context_.metrics->http2_protocol_errors.Inc();
    spdlog::info("http2: sent GOAWAY ({}) to a client that violated the protocol",
                 nghttp2_http2_strerror(frame->goaway.error_code));
  }
  return 0;
}

int Http2Connection::OnStreamClose(nghttp2_session*, int32_t id, uint32_t, void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  auto it = self->streams_.find(id);
  if (it == self->streams_.end()) return 0;
  if (auto& ex = it->second->exchange; ex && !ex->ended()) {
    // The client reset the stream (or the connection is going) before the response ended.
    if (self->in_recv_) {
      self->to_cancel_.push_back(ex);
    } else {
      ex->Cancel();
    }
  }
  self->streams_.erase(it);
  return 0;
}

void Http2Connection::UpdateTimer() {
  if (closed_) return;
  bool active = false, partial = false;
  for (const auto& [id, s] : streams_) {
    if (s->headers_complete) {
      active = true;
    } else {
      partial = true;
    }
  }
  if (active) {
    ArmTimer(TimerPurpose::kNone);
  } else if (!seen_request_ || partial) {
    ArmTimer(TimerPurpose::kHeader);
  } else {
    ArmTimer(TimerPurpose::kIdle);
  }
}

void Http2Connection::ArmTimer(TimerPurpose purpose) {
  if (timer_purpose_ == purpose) return;
  timer_purpose_ = purpose;
  if (purpose == TimerPurpose::kNone) {
    timer_.cancel();
    return;
  }
  timer_.expires_after(purpose == TimerPurpose::kHeader ? context_.settings.header_read_timeout
                                                        : context_.settings.idle_timeout);
  timer_.async_wait([weak = weak_from_this(), purpose](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed_ || self->timer_purpose_ != purpose) return;
    self->timer_purpose_ = TimerPurpose::kNone;
    if (purpose == TimerPurpose::kHeader) {
      self->context_.metrics->connections_rejected_header.Inc();
      self->Close();
    } else {
      self->context_.metrics->connections_rejected_idle.Inc();
      nghttp2_session_terminate_session(self->session_, NGHTTP2_NO_ERROR);
      self->Flush();
    }
  });
}

void Http2Connection::ScheduleKeepalive() {
  auto interval = context_.settings.keepalive_interval;
  if (interval.count() == 0 || closed_) return;
  keepalive_timer_.expires_after(interval);
  keepalive_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed_) return;
    self->ping_outstanding_ = true;
    nghttp2_submit_ping(self->session_, NGHTTP2_FLAG_NONE, nullptr);
    self->Flush();
    self->keepalive_timer_.expires_after(self->context_.settings.keepalive_timeout);
    self->keepalive_timer_.async_wait([weak](const boost::system::error_code& ec2) {
      auto self2 = weak.lock();
      if (ec2 || !self2 || self2->closed_) return;
      if (self2->ping_outstanding_) {
        self2->context_.metrics->keepalive_timeouts.Inc();
        spdlog::info("http2: closing connection: keepalive PING not answered");
        self2->Close();
        return;
      }
      self2->ScheduleKeepalive();
    });
  });
}

void Http2Connection::Drain() {
  if (closed_ || draining_) return;
  draining_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  Flush();
}

void Http2Connection::Close() {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  keepalive_timer_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  std::vector<std::shared_ptr<Http2Exchange>> open;
  for (auto& [id, s] : streams_) {
    if (s->exchange) open.push_back(s->exchange);
  }
  streams_.clear();
  for (auto& ex : to_dispatch_) open.push_back(ex);
  for (auto& ex : to_oversize_) open.push_back(ex);
  to_dispatch_.clear();
  to_oversize_.clear();
  for (auto& ex : open) ex->Cancel();
  slot_.reset();
}

}  // namespace peat::rpc

// B1 anchor: the floor of our stack (Boost.Asio + nghttp2, h2c prior knowledge only).
//
// Answers every HTTP/2 request with one fixed gRPC unary response: HEADERS (:status 200,
// content-type application/grpc), one DATA frame carrying an empty length-prefixed message
// (5 zero bytes), then trailers (grpc-status 0). Request bodies are read and discarded. No
// routing, no protobuf, no allocation per request beyond nghttp2's own; one io_context per thread,
// connections assigned round-robin (the same shape as peat-node's IoContextPool).
//
//   grpc_echo_server [--port N] [--threads N]     (defaults: 0 = ephemeral port, threads = cores)
//
// Logs "listening on tcp://127.0.0.1:PORT" on stderr once bound; exits on SIGINT/SIGTERM.
// Plain callbacks, no coroutines (g++ 12 coroutine miscompiles, see docs TOOLCHAIN).

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// (keep the line above first)
#include <nghttp2/nghttp2.h>

#include <array>
#include <boost/asio.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

nghttp2_nv MakeNv(const char* name, const char* value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value)), std::strlen(name),
                    std::strlen(value),
                    NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}

  asio::any_io_executor executor() { return socket_.get_executor(); }

  ~Session() {
    if (session_ != nullptr) nghttp2_session_del(session_);
  }

  void Start() {
    socket_.set_option(tcp::no_delay(true));
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Session::OnFrameRecv);
    nghttp2_session_server_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 128},
                                         {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
    // Connection-level window as large as the stream window, as a real gRPC server would.
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 1 << 20);
    Flush();
    Read();
  }

 private:
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<Session*>(user);
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
      self->ready_.push_back(frame->hd.stream_id);  // answered after mem_recv returns
    }
    return 0;
  }

  // Data provider: the empty gRPC message, then trailers instead of END_STREAM on DATA.
  static ssize_t ReadBody(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source*, void*) {
    static constexpr uint8_t kEmptyMessage[5] = {0, 0, 0, 0, 0};
    if (length < sizeof(kEmptyMessage)) return NGHTTP2_ERR_DEFERRED;  // never with default frames
    std::memcpy(buf, kEmptyMessage, sizeof(kEmptyMessage));
    *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    nghttp2_nv trailers[] = {MakeNv("grpc-status", "0")};
    if (nghttp2_submit_trailer(session, stream_id, trailers, 1) != 0) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return sizeof(kEmptyMessage);
  }

  void Respond() {
    nghttp2_nv headers[] = {MakeNv(":status", "200"), MakeNv("content-type", "application/grpc")};
    nghttp2_data_provider body{};
    body.read_callback = &Session::ReadBody;
    for (int32_t id : ready_) nghttp2_submit_response(session_, id, headers, 2, &body);
    ready_.clear();
  }

  void Read() {
    socket_.async_read_some(
        asio::buffer(in_), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
          if (ec) return self->Close();
          ssize_t rv = nghttp2_session_mem_recv(self->session_, self->in_.data(), n);
          if (rv < 0) return self->Close();
          self->Respond();
          self->Flush();
          if (self->closed_) return;
          if (!nghttp2_session_want_read(self->session_) &&
              !nghttp2_session_want_write(self->session_)) {
            return self->Close();
          }
          self->Read();
        });
  }

  // Drain nghttp2's output into pending_; one async_write in flight at a time.
  void Flush() {
    if (closed_ || writing_) return;
    for (;;) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) return Close();
      if (n == 0) break;
      pending_.insert(pending_.end(), data, data + n);
    }
    if (pending_.empty()) return;
    writing_ = true;
    out_.swap(pending_);
    pending_.clear();
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        self->writing_ = false;
                        self->out_.clear();
                        if (ec) return self->Close();
                        self->Flush();
                      });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  tcp::socket socket_;
  nghttp2_session* session_ = nullptr;
  std::array<uint8_t, 16384> in_{};
  std::vector<uint8_t> out_;
  std::vector<uint8_t> pending_;
  std::vector<int32_t> ready_;
  bool writing_ = false;
  bool closed_ = false;
};

class Server {
 public:
  Server(unsigned short port, size_t threads) {
    if (threads == 0) threads = 1;
    for (size_t i = 0; i < threads; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(contexts_.back()->get_executor());
    }
    acceptor_ = std::make_unique<tcp::acceptor>(
        *contexts_[0], tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    std::fprintf(stderr, "listening on tcp://127.0.0.1:%u\n",
                 static_cast<unsigned>(acceptor_->local_endpoint().port()));
    std::fflush(stderr);
  }

  void Run() {
    asio::signal_set signals(*contexts_[0], SIGINT, SIGTERM);
    signals.async_wait([this](boost::system::error_code, int) {
      guards_.clear();
      for (auto& c : contexts_) c->stop();
    });
    Accept();
    std::vector<std::thread> threads;
    for (size_t i = 1; i < contexts_.size(); ++i) {
      threads.emplace_back([c = contexts_[i].get()] { c->run(); });
    }
    contexts_[0]->run();
    for (auto& t : threads) t.join();
  }

 private:
  void Accept() {
    asio::io_context& target = *contexts_[next_++ % contexts_.size()];
    acceptor_->async_accept(target, [this](boost::system::error_code ec, tcp::socket socket) {
      if (!ec) {
        auto session = std::make_shared<Session>(std::move(socket));
        // Start on the session's own io_context thread.
        asio::post(session->executor(), [session] { session->Start(); });
      }
      if (acceptor_->is_open()) Accept();
    });
  }

  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  size_t next_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  size_t threads = std::thread::hardware_concurrency();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--port") {
      port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
    } else if (flag == "--threads") {
      threads = static_cast<size_t>(std::atoi(argv[i + 1]));
    } else {
      std::fprintf(stderr, "usage: %s [--port N] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  Server server(port, threads);
  server.Run();
  return 0;
}

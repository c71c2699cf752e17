#include "watcher/agent_client.h"

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace peat::watcher {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string_view AgentCallName(AgentCall call) {
  switch (call) {
    case AgentCall::kStatus:
      return "status";
    case AgentCall::kListPackages:
      return "list_packages";
    case AgentCall::kListPulledPackages:
      return "list_pulled_packages";
  }
  return "unknown";
}

std::string_view AgentCallPath(AgentCall call) {
  switch (call) {
    case AgentCall::kStatus:
      return "/status";
    case AgentCall::kListPackages:
      return "/zarfapi.v1.ZarfAPIService/ListPackages";
    case AgentCall::kListPulledPackages:
      return "/registryapi.v1.RegistryService/ListPulledPackages";
  }
  return "/";
}

std::string_view CallResultLabel(CallResult result) {
  switch (result) {
    case CallResult::kOk:
      return "ok";
    case CallResult::kConnectError:
      return "connect_error";
    case CallResult::kTlsError:
      return "tls_error";
    case CallResult::kTimeout:
      return "timeout";
    case CallResult::kHttpError:
      return "http_error";
    case CallResult::kParseError:
      return "parse_error";
    case CallResult::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

namespace {

constexpr std::string_view kUserAgent = "peat-node/" PEAT_NODE_VERSION;
constexpr std::string_view kRequestBody = "{}";
constexpr size_t kReadChunk = 16 * 1024;

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// "HTTP 503, Connect code unavailable: agent busy" from a non-2xx answer.
std::string HttpErrorMessage(int status, const std::string& body) {
  std::string m = "HTTP " + std::to_string(status);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) == simdjson::SUCCESS) {
    std::string_view code;
    if (doc["code"].get(code) == simdjson::SUCCESS) m += ", Connect code " + std::string(code);
    std::string_view message;
    if (doc["message"].get(message) == simdjson::SUCCESS) {
      m += ": " + std::string(message.substr(0, 200));
    }
  } else if (!body.empty()) {
    m += " (body not a Connect error)";
  }
  return m;
}

// A client TLS context from validated PEM material.
StatusOr<std::shared_ptr<ssl::context>> MakeSslContext(const AgentTlsMaterial& m) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  boost::system::error_code ec;
  if (m.ca_pem.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) return InternalError("agent TLS: system trust store: " + ec.message());
  } else {
    // Pinning: only the given CA(s), not the system store (WATCHER.md §9 decision 4).
    X509_STORE* store = X509_STORE_new();
    BIO* bio = BIO_new_mem_buf(m.ca_pem.data(), static_cast<int>(m.ca_pem.size()));
    while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, x);
      X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error();
    SSL_CTX_set_cert_store(native, store);
  }
  if (!m.cert_pem.empty()) {
    ctx->use_certificate_chain(asio::buffer(m.cert_pem), ec);
    if (!ec) ctx->use_private_key(asio::buffer(m.key_pem), ssl::context::pem, ec);
    if (ec) return InvalidArgumentError("agent TLS: client certificate: " + ec.message());
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

// What identifies a file's version: a replaced or rewritten file changes one of these.
struct FileStamp {
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  int64_t size = -1;
  bool operator==(const FileStamp&) const = default;
};

FileStamp StampOf(const std::string& path) {
  FileStamp s;
  if (path.empty()) return s;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return s;
  s.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.inode = st.st_ino;
  s.size = st.st_size;
  return s;
}

}  // namespace

// The TLS credentials, re-read when their files change.
class TlsCredentials {
 public:
  explicit TlsCredentials(AgentTlsFiles files) : files_(std::move(files)) {}

  Status LoadInitial() {
    stamps_ = Stamps();
    PEAT_ASSIGN_OR_RETURN(AgentTlsMaterial m, LoadAgentTlsMaterial(files_));
    PEAT_ASSIGN_OR_RETURN(ctx_, MakeSslContext(m));
    return Status::Ok();
  }

  // The context for the next call: reloaded first when a file changed since the last attempt.
  std::shared_ptr<ssl::context> Current() {
    auto stamps = Stamps();
    if (stamps != stamps_) {
      stamps_ = stamps;
      StatusOr<std::shared_ptr<ssl::context>> fresh = Reload();
      if (fresh.ok()) {
        ctx_ = *std::move(fresh);
        ++reloads_;
        spdlog::info("agent watcher: reloaded the agent TLS credentials");
      } else {
        ++failures_;
        spdlog::warn(
            "agent watcher: reloading the agent TLS credentials failed, keeping the old "
            "ones: {}",
            fresh.status().message());
      }
    }
    return ctx_;
  }

  uint64_t failures() const { return failures_; }
  uint64_t reloads() const { return reloads_; }

 private:
  std::array<FileStamp, 3> Stamps() const {
    return {StampOf(files_.cert), StampOf(files_.key), StampOf(files_.ca)};
  }
  StatusOr<std::shared_ptr<ssl::context>> Reload() {
    PEAT_ASSIGN_OR_RETURN(AgentTlsMaterial m, LoadAgentTlsMaterial(files_));
    return MakeSslContext(m);
  }

  AgentTlsFiles files_;
  std::array<FileStamp, 3> stamps_;
  std::shared_ptr<ssl::context> ctx_;
  uint64_t failures_ = 0;
  uint64_t reloads_ = 0;
};

class Exchange;

struct AgentClient::Impl {
  asio::io_context& io;
  AgentClientOptions options;
  AgentEndpoint endpoint;
  std::unique_ptr<TlsCredentials> creds;  // https:// only
  // Calls in flight, by id (shared with the exchanges, which may outlive the client briefly).
  std::shared_ptr<std::map<uint64_t, std::weak_ptr<Exchange>>> inflight =
      std::make_shared<std::map<uint64_t, std::weak_ptr<Exchange>>>();
  uint64_t next_id = 1;

  Impl(asio::io_context& io_in, AgentClientOptions o, AgentEndpoint ep)
      : io(io_in), options(std::move(o)), endpoint(std::move(ep)) {}
};

// One call: resolve, connect, (TLS), one request, one response.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::io_context& io, const AgentClient::Impl& client, AgentCall call,
           std::shared_ptr<ssl::context> tls, AgentClient::Callback done, uint64_t id)
      : io_(io),
        options_(client.options),
        endpoint_(client.endpoint),
        call_(call),
        tls_ctx_(std::move(tls)),
        done_(std::move(done)),
        id_(id),
        inflight_(client.inflight),
        resolver_(io),
        socket_(io),
        connect_timer_(io),
        call_timer_(io),
        started_(Clock::now()) {}

  ~Exchange() {
    if (session_) nghttp2_session_del(session_);
  }

  void Start() {
    auto self = shared_from_this();
    call_timer_.expires_after(options_.call_timeout);
    call_timer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) {
        self->Finish(CallResult::kTimeout, "no complete answer within " +
                                               std::to_string(self->options_.call_timeout.count()) +
                                               " ms");
      }
    });
    resolver_.async_resolve(
        endpoint_.host, std::to_string(endpoint_.port),
        [self](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
          if (self->finished_) return;
          if (ec) {
            self->Finish(CallResult::kConnectError,
                         "resolving " + self->endpoint_.host + ": " + ec.message());
            return;
          }
          self->Connect(results);
        });
  }

  void Cancel() { Finish(CallResult::kCancelled, "cancelled"); }

 private:
  void Connect(const tcp::resolver::results_type& results) {
    auto self = shared_from_this();
    connect_timer_.expires_after(options_.connect_timeout);
    connect_timer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec && !self->connected_) {  // a timer that fired just before the connect completed
        self->Finish(CallResult::kTimeout,
                     "connect: no answer within " +
                         std::to_string(self->options_.connect_timeout.count()) + " ms");
      }
    });
    asio::async_connect(socket_, results,
                        [self](const boost::system::error_code& ec, const tcp::endpoint&) {
                          if (self->finished_) return;
                          self->connect_timer_.cancel();
                          self->connected_ = !ec;
                          if (ec) {
                            self->Finish(CallResult::kConnectError, "connect: " + ec.message());
                            return;
                          }
                          boost::system::error_code ignored;
                          self->socket_.set_option(tcp::no_delay(true), ignored);
                          if (self->endpoint_.tls) {
                            self->Handshake();
                          } else {
                            self->protocol_ = "h2c";
                            self->StartHttp2();
                          }
                        });
  }

  void Handshake() {
    tls_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, *tls_ctx_);
    SSL* s = tls_->native_handle();
    static constexpr unsigned char kAlpn[] = "\x02h2\x08http/1.1";
    const size_t skip = options_.offer_h2 ? 0 : 3;  // "\x02h2"
    SSL_set_alpn_protos(s, kAlpn + skip, static_cast<unsigned>(sizeof(kAlpn) - 1 - skip));
    X509_VERIFY_PARAM* param = SSL_get0_param(s);
    if (IsIpLiteral(endpoint_.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, endpoint_.host.c_str());
    } else {
      SSL_set_tlsext_host_name(s, endpoint_.host.c_str());
      X509_VERIFY_PARAM_set1_host(param, endpoint_.host.c_str(), 0);
    }
    auto self = shared_from_this();
    tls_->async_handshake(ssl::stream_base::client, [self](const boost::system::error_code& ec) {
      if (self->finished_) return;
      if (ec) {
        self->Finish(CallResult::kTlsError, "TLS handshake: " + self->TlsReason(ec));
        return;
      }
      const unsigned char* alpn = nullptr;
      unsigned len = 0;
      SSL_get0_alpn_selected(self->tls_->native_handle(), &alpn, &len);
      if (std::string_view(reinterpret_cast<const char*>(alpn), len) == "h2") {
        self->protocol_ = "h2";
        self->StartHttp2();
      } else {
        self->protocol_ = "http/1.1";
        self->StartHttp1();
      }
    });
  }

  std::string TlsReason(const boost::system::error_code& ec) const {
    std::string m = ec.message();
    const long verify = SSL_get_verify_result(tls_->native_handle());
    if (verify != X509_V_OK) {
      m += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
    }
    return m;
  }

  // A read or write failed: classify by where we were.
  void OnIoError(const boost::system::error_code& ec, std::string_view what) {
    if (finished_) return;
    if (ec.category() == asio::error::get_ssl_category()) {
      Finish(CallResult::kTlsError, std::string(what) + ": " + TlsReason(ec));
    } else if (tls_ && bytes_received_ == 0) {
      // An agent speaks first after the handshake (HTTP/2 SETTINGS; for HTTP/1.1 the answer).
      // Closing before any byte is how a TLS 1.3 server that rejected our client certificate
      // shows it when it sends no alert.
      Finish(CallResult::kTlsError, std::string(what) +
                                        ": the agent closed the TLS connection before sending "
                                        "anything (client certificate rejected?): " +
                                        ec.message());
    } else if (http_status_ >= 200 && http_status_ < 300) {
      Finish(CallResult::kParseError, std::string(what) + ": body cut short: " + ec.message());
    } else if (http_status_ != 0) {
      Finish(CallResult::kHttpError, HttpErrorMessage(http_status_, body_));
    } else {
      Finish(CallResult::kConnectError,
             std::string(what) + ": connection lost before an answer: " + ec.message());
    }
  }

  // ---- HTTP/2 (h2c or h2 over TLS) -----------------------------------------------------------

  void StartHttp2() {
    nghttp2_session_callbacks* cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, &OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &OnDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &OnStreamClose);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &OnFrameRecv);
    nghttp2_session_client_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);

    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
    };
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));

    const std::string path(AgentCallPath(call_));
    const std::string authority = Authority();
    const std::string scheme = endpoint_.tls ? "https" : "http";
    const bool post = call_ != AgentCall::kStatus;
    std::vector<std::pair<std::string, std::string>> headers = {
        {":method", post ? "POST" : "GET"},
        {":scheme", scheme},
        {":authority", authority},
        {":path", path},
        {"user-agent", std::string(kUserAgent)},
        {"accept", "application/json"},
        {"connect-protocol-version", "1"},
    };
    if (post) {
      headers.emplace_back("content-type", "application/json");
      headers.emplace_back("content-length", std::to_string(kRequestBody.size()));
    }
    std::vector<nghttp2_nv> nva;
    for (auto& [k, v] : headers) {
      nva.push_back({reinterpret_cast<uint8_t*>(k.data()), reinterpret_cast<uint8_t*>(v.data()),
                     k.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    nghttp2_data_provider provider{};
    provider.read_callback = &ReadRequestBody;
    stream_id_ = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                        post ? &provider : nullptr, this);
    if (stream_id_ < 0) {
      Finish(CallResult::kConnectError,
             std::string("HTTP/2 request: ") + nghttp2_strerror(stream_id_));
      return;
    }
    read_buf_.resize(kReadChunk);
    Flush();
    ReadHttp2();
  }

  std::string Authority() const {
    std::string host =
        endpoint_.host.find(':') != std::string::npos ? "[" + endpoint_.host + "]" : endpoint_.host;
    const uint16_t dflt = endpoint_.tls ? 443 : 80;
    return endpoint_.port == dflt ? host : host + ":" + std::to_string(endpoint_.port);
  }

  static ssize_t ReadRequestBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                                 uint32_t* flags, nghttp2_data_source*, void* user) {
    auto* self = static_cast<Exchange*>(user);
    const size_t n = std::min(length, kRequestBody.size() - self->body_sent_);
    std::memcpy(buf, kRequestBody.data() + self->body_sent_, n);
    self->body_sent_ += n;
    if (self->body_sent_ == kRequestBody.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto* self = static_cast<Exchange*>(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != self->stream_id_) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    if (n == ":status") {
      const std::string v(reinterpret_cast<const char*>(value), valuelen);
      const int status = std::atoi(v.c_str());
      if (status >= 200) self->http_status_ = status;  // 1xx: informational, skipped
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                         size_t len, void* user) {
    auto* self = static_cast<Exchange*>(user);
    if (stream_id != self->stream_id_) return 0;
    if (self->body_.size() + len > self->options_.max_body_bytes) {
      self->pending_ = {
          CallResult::kParseError,
          "response body over " + std::to_string(self->options_.max_body_bytes) + " bytes"};
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    self->body_.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<Exchange*>(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) self->goaway_ = true;
    return 0;
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
    auto* self = static_cast<Exchange*>(user);
    if (stream_id != self->stream_id_ || self->pending_) return 0;
    const int status = self->http_status_;
    if (error_code == NGHTTP2_NO_ERROR && status != 0) {
      if (status >= 200 && status < 300) {
        self->pending_ = {CallResult::kOk, ""};
      } else {
        self->pending_ = {CallResult::kHttpError, HttpErrorMessage(status, self->body_)};
      }
      return 0;
    }
    const std::string code = nghttp2_http2_strerror(error_code);
    if (status >= 200 && status < 300) {
      self->pending_ = {CallResult::kParseError, "body cut short: stream reset (" + code + ")"};
    } else if (status != 0) {
      self->pending_ = {CallResult::kHttpError, HttpErrorMessage(status, self->body_)};
    } else if (self->goaway_) {
      self->pending_ = {CallResult::kConnectError,
                        "the agent closed the connection (GOAWAY) before an answer"};
    } else {
      self->pending_ = {CallResult::kHttpError,
                        "the agent reset the stream before an answer (" + code + ")"};
    }
    return 0;
  }

  void ReadHttp2() {
    auto self = shared_from_this();
    auto on_read = [self](const boost::system::error_code& ec, size_t n) {
      if (self->finished_) return;
      if (ec) {
        self->OnIoError(ec, "read");
        return;
      }
      self->bytes_received_ += n;
      const ssize_t rv = nghttp2_session_mem_recv(self->session_, self->read_buf_.data(), n);
      if (self->pending_) {
        self->Finish(self->pending_->first, self->pending_->second);
        return;
      }
      if (rv < 0) {
        self->Finish(CallResult::kConnectError, std::string("HTTP/2 protocol error: ") +
                                                    nghttp2_strerror(static_cast<int>(rv)));
        return;
      }
      self->Flush();
      if (!self->finished_) self->ReadHttp2();
    };
    if (tls_) {
      tls_->async_read_some(asio::buffer(read_buf_), std::move(on_read));
    } else {
      socket_.async_read_some(asio::buffer(read_buf_), std::move(on_read));
    }
  }

  void Flush() {
    if (finished_ || writing_) return;
    out_.clear();
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        Finish(CallResult::kConnectError,
               std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(n)));
        return;
      }
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (out_.empty()) return;
    writing_ = true;
    auto self = shared_from_this();
    auto on_write = [self](const boost::system::error_code& ec, size_t) {
      self->writing_ = false;
      if (self->finished_) return;
      if (ec) {
        self->OnIoError(ec, "write");
        return;
      }
      self->Flush();
    };
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(out_), std::move(on_write));
    } else {
      asio::async_write(socket_, asio::buffer(out_), std::move(on_write));
    }
  }

  // ---- HTTP/1.1 (TLS, when the agent does not select h2) -------------------------------------

  void StartHttp1() {
    const bool post = call_ != AgentCall::kStatus;
    request_.method(post ? http::verb::post : http::verb::get);
    request_.target(std::string(AgentCallPath(call_)));
    request_.version(11);
    request_.set(http::field::host, Authority());
    request_.set(http::field::user_agent, kUserAgent);
    request_.set(http::field::accept, "application/json");
    request_.set("connect-protocol-version", "1");
    request_.set(http::field::connection, "close");
    if (post) {
      request_.set(http::field::content_type, "application/json");
      request_.body() = std::string(kRequestBody);
    }
    request_.prepare_payload();
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    auto self = shared_from_this();
    http::async_write(*tls_, request_, [self](const boost::system::error_code& ec, size_t) {
      if (self->finished_) return;
      if (ec) {
        self->OnIoError(ec, "write");
        return;
      }
      http::async_read_header(
          *self->tls_, self->buffer_, *self->parser_,
          [self](const boost::system::error_code& hec, size_t) {
            if (self->finished_) return;
            self->bytes_received_ += self->buffer_.size();
            if (hec) {
              self->OnHttp1Body(hec);  // a Content-Length over the cap fails here already
              return;
            }
            self->http_status_ = static_cast<int>(self->parser_->get().result_int());
            http::async_read(
                *self->tls_, self->buffer_, *self->parser_,
                [self](const boost::system::error_code& bec, size_t) { self->OnHttp1Body(bec); });
          });
    });
  }

  void OnHttp1Body(const boost::system::error_code& ec) {
    if (finished_) return;
    body_ = std::move(parser_->get().body());
    if (ec == http::error::body_limit) {
      Finish(CallResult::kParseError,
             "response body over " + std::to_string(options_.max_body_bytes) + " bytes");
    } else if (ec) {
      OnIoError(ec, "read");
    } else if (http_status_ >= 200 && http_status_ < 300) {
      Finish(CallResult::kOk, "");
    } else {
      Finish(CallResult::kHttpError, HttpErrorMessage(http_status_, body_));
    }
  }

  // ---- completion --------------------------------------------------------------------------

  void Finish(CallResult result, std::string message) {
    if (finished_) return;
    finished_ = true;
    connect_timer_.cancel();
    call_timer_.cancel();
    resolver_.cancel();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    inflight_->erase(id_);
    AgentReply reply;
    reply.result = result;
    reply.http_status = http_status_;
    reply.body = std::move(body_);
    reply.message = std::move(message);
    reply.protocol = protocol_;
    reply.elapsed = Clock::now() - started_;
    // Never from inside Call() or an nghttp2 callback: the callback runs as its own handler.
    asio::post(io_, [done = std::move(done_), reply = std::move(reply)]() mutable {
      done(std::move(reply));
    });
  }

  asio::io_context& io_;
  const AgentClientOptions options_;
  const AgentEndpoint endpoint_;
  const AgentCall call_;
  std::shared_ptr<ssl::context> tls_ctx_;
  AgentClient::Callback done_;
  const uint64_t id_;
  std::shared_ptr<std::map<uint64_t, std::weak_ptr<Exchange>>> inflight_;

  tcp::resolver resolver_;
  tcp::socket socket_;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
  asio::steady_timer connect_timer_;
  asio::steady_timer call_timer_;
  const Clock::time_point started_;
  std::string protocol_;
  bool finished_ = false;
  bool connected_ = false;
  size_t bytes_received_ = 0;  // application bytes from the agent

  nghttp2_session* session_ = nullptr;
  int32_t stream_id_ = -1;
  size_t body_sent_ = 0;
  bool goaway_ = false;
  bool writing_ = false;
  std::vector<uint8_t> read_buf_;
  std::string out_;
  std::optional<std::pair<CallResult, std::string>> pending_;

  http::request<http::string_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  boost::beast::flat_buffer buffer_;

  int http_status_ = 0;
  std::string body_;
};

AgentClient::AgentClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AgentClient::~AgentClient() { CancelAll(); }

StatusOr<std::unique_ptr<AgentClient>> AgentClient::Create(asio::io_context& io,
                                                           AgentClientOptions options) {
  PEAT_ASSIGN_OR_RETURN(AgentEndpoint endpoint, ParseAgentAddr(options.addr));
  if (!endpoint.tls && !options.tls.empty()) {
    return InvalidArgumentError("agent TLS files given for an http:// agent address");
  }
  auto impl = std::make_unique<Impl>(io, std::move(options), std::move(endpoint));
  if (impl->endpoint.tls) {
    impl->creds = std::make_unique<TlsCredentials>(impl->options.tls);
    PEAT_RETURN_IF_ERROR(impl->creds->LoadInitial());
  }
  return std::unique_ptr<AgentClient>(new AgentClient(std::move(impl)));
}

void AgentClient::Call(AgentCall call, Callback done) {
  std::shared_ptr<ssl::context> tls;
  if (impl_->creds) tls = impl_->creds->Current();
  const uint64_t id = impl_->next_id++;
  auto exchange =
      std::make_shared<Exchange>(impl_->io, *impl_, call, std::move(tls), std::move(done), id);
  (*impl_->inflight)[id] = exchange;
  exchange->Start();
}

void AgentClient::CancelAll() {
  auto calls = *impl_->inflight;  // Finish erases from the map
  for (auto& [id, weak] : calls) {
    if (auto exchange = weak.lock()) exchange->Cancel();
  }
}

size_t AgentClient::in_flight() const { return impl_->inflight->size(); }

uint64_t AgentClient::credential_reload_failures() const {
  return impl_->creds ? impl_->creds->failures() : 0;
}

uint64_t AgentClient::credential_reloads() const {
  return impl_->creds ? impl_->creds->reloads() : 0;
}

}  // namespace peat::watcher

#include "discovery/k8s_api_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

namespace peat::discovery {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr uint64_t kMaxBodyBytes = 64u << 20;
constexpr size_t kMaxLineBytes = 16u << 20;
constexpr const char* kDefaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::string(fallback);
}
}  // namespace

StatusOr<std::string> ReadTrimmedFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return UnavailableError("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  return s;
}

StatusOr<K8sApiConfig> K8sApiConfig::FromEnvironment() {
  K8sApiConfig c;
  c.host = EnvOr("KUBERNETES_SERVICE_HOST", "");
  if (c.host.empty()) {
    return FailedPreconditionError(
        "KUBERNETES_SERVICE_HOST is not set (not running in a Kubernetes pod?)");
  }
  c.port = EnvOr("KUBERNETES_SERVICE_PORT", "443");
  const std::string dir = EnvOr("PEAT_K8S_SERVICEACCOUNT_DIR", kDefaultServiceAccountDir);
  c.token_file = dir + "/token";
  c.ca_file = dir + "/ca.crt";
  c.namespace_file = dir + "/namespace";
  return c;
}

class K8sApiClient::Call : public std::enable_shared_from_this<Call> {
 public:
  Call(asio::io_context& io, const K8sApiConfig& config, std::string target, LineFn on_line,
       DoneFn done)
      : io_(io),
        config_(config),
        target_(std::move(target)),
        on_line_(std::move(on_line)),
        done_(std::move(done)),
        resolver_(io),
        timer_(io) {}

  void Start(std::chrono::milliseconds timeout) {
    auto token = ReadTrimmedFile(config_.token_file);
    if (!token.ok()) return Finish(token.status());
    token_ = std::move(*token);
    Status tls = MakeTls();
    if (!tls.ok()) return Finish(tls);
    auto self = shared_from_this();
    timer_.expires_after(timeout);
    timer_.async_wait([self](const boost::system::error_code& ec) {
      if (ec || self->finished_) return;
      self->Finish(DeadlineExceededError("the API server call timed out"));
    });
    resolver_.async_resolve(
        config_.host, config_.port,
        [self](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
          if (self->finished_) return;
          if (ec)
            return self->Finish(
                UnavailableError("resolve " + self->config_.host + ": " + ec.message()));
          asio::async_connect(self->stream_->next_layer(), results,
                              [self](const boost::system::error_code& cec, const tcp::endpoint&) {
                                if (self->finished_) return;
                                if (cec) return self->IoError("connect", cec);
                                self->Handshake();
                              });
        });
  }

  void Cancel() { Finish(CancelledError("cancelled")); }

 private:
  Status MakeTls() {
    ctx_.emplace(ssl::context::tls_client);
    boost::system::error_code ec;
    ctx_->load_verify_file(config_.ca_file, ec);
    if (ec) return UnavailableError("cannot load the CA " + config_.ca_file + ": " + ec.message());
    ctx_->set_verify_mode(ssl::verify_peer, ec);
    stream_.emplace(io_, *ctx_);
    SSL* ssl = stream_->native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    boost::system::error_code addr_ec;
    asio::ip::make_address(config_.host, addr_ec);
    if (!addr_ec) {
      if (X509_VERIFY_PARAM_set1_ip_asc(param, config_.host.c_str()) != 1) {
        return InvalidArgumentError("bad API server address " + config_.host);
      }
    } else {
      SSL_set_tlsext_host_name(ssl, config_.host.c_str());
      if (X509_VERIFY_PARAM_set1_host(param, config_.host.c_str(), 0) != 1) {
        return InvalidArgumentError("bad API server host " + config_.host);
      }
    }
    return Status::Ok();
  }

  void Handshake() {
    auto self = shared_from_this();
    stream_->async_handshake(ssl::stream_base::client, [self](const boost::system::error_code& ec) {
      if (self->finished_) return;
      if (ec) return self->IoError("TLS handshake", ec);
      self->Send();
    });
  }

  void Send() {
    request_.method(http::verb::get);
    request_.target(target_);
    request_.version(11);
    request_.set(http::field::host, config_.host);
    request_.set(http::field::user_agent, "peat-node");
    request_.set(http::field::accept, "application/json");
    request_.set(http::field::authorization, "Bearer " + token_);
    parser_.emplace();
    if (on_line_) {
      parser_->body_limit(boost::none);
    } else {
      parser_->body_limit(kMaxBodyBytes);
    }
    auto self = shared_from_this();
    http::async_write(*stream_, request_, [self](const boost::system::error_code& ec, size_t) {
      if (self->finished_) return;
      if (ec) return self->IoError("write", ec);
      http::async_read_header(*self->stream_, self->buffer_, *self->parser_,
                              [self](const boost::system::error_code& hec, size_t) {
                                if (self->finished_) return;
                                if (hec) return self->IoError("read", hec);
                                self->http_status_ =
                                    static_cast<int>(self->parser_->get().result_int());
                                self->streaming_ = self->on_line_ && self->http_status_ / 100 == 2;
                                self->ReadBody();
                              });
    });
  }

  void ReadBody() {
    auto self = shared_from_this();
    if (!streaming_) {
      http::async_read(*stream_, buffer_, *parser_,
                       [self](const boost::system::error_code& ec, size_t) {
                         if (self->finished_) return;
                         self->body_ = std::move(self->parser_->get().body());
                         if (ec) return self->IoError("read", ec);
                         self->Finish(Status::Ok());
                       });
      return;
    }
    if (parser_->is_done()) return Finish(Status::Ok());
    http::async_read_some(*stream_, buffer_, *parser_,
                          [self](const boost::system::error_code& ec, size_t) {
                            if (self->finished_) return;
                            self->DeliverLines();
                            if (self->finished_) return;
                            if (ec == http::error::end_of_stream || self->parser_->is_done()) {
                              return self->Finish(Status::Ok());
                            }
                            if (ec) return self->IoError("read", ec);
                            self->ReadBody();
                          });
  }

  void DeliverLines() {
    std::string& body = parser_->get().body();
    pending_ += body;
    body.clear();
    size_t start = 0;
    for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending_.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) on_line_(line);
      if (finished_) return;  // the handler cancelled the call
    }
    pending_.erase(0, start);
    if (pending_.size() > kMaxLineBytes) Finish(InvalidArgumentError("a watch line over 16 MiB"));
  }

  void IoError(const char* what, const boost::system::error_code& ec) {
    Finish(UnavailableError(std::string(what) + " " + config_.host + ":" + config_.port + ": " +
                            ec.message()));
  }

  void Finish(Status status) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    resolver_.cancel();
    if (stream_) {
      boost::system::error_code ignored;
      stream_->next_layer().shutdown(tcp::socket::shutdown_both, ignored);
      stream_->next_layer().close(ignored);
    }
    K8sResponse r;
    r.status = std::move(status);
    r.http_status = http_status_;
    r.body = streaming_ ? std::move(pending_) : std::move(body_);
    // Always as its own handler: never inside Get/Cancel or a line callback.
    asio::post(io_, [done = std::move(done_), r = std::move(r),
                     self = shared_from_this()]() mutable { done(std::move(r)); });
  }

  asio::io_context& io_;
  const K8sApiConfig& config_;
  const std::string target_;
  LineFn on_line_;
  DoneFn done_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;  // bounds the I/O of one call (not a schedule: no Clock needed)
  std::optional<ssl::context> ctx_;
  std::optional<ssl::stream<tcp::socket>> stream_;
  std::string token_;
  http::request<http::empty_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  boost::beast::flat_buffer buffer_;
  std::string body_;
  std::string pending_;
  int http_status_ = 0;
  bool streaming_ = false;
  bool finished_ = false;
};

K8sApiClient::K8sApiClient(asio::io_context& io, K8sApiConfig config)
    : io_(io), config_(std::move(config)) {}

K8sApiClient::~K8sApiClient() = default;

void K8sApiClient::Get(std::string target, std::chrono::milliseconds timeout, LineFn on_line,
                       DoneFn done) {
  Cancel();
  call_ =
      std::make_shared<Call>(io_, config_, std::move(target), std::move(on_line), std::move(done));
  call_->Start(timeout);
}

void K8sApiClient::Cancel() {
  if (call_) call_->Cancel();
  call_.reset();
}

}  // namespace peat::discovery

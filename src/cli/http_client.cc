#include "cli/http_client.h"

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it (TOOLCHAIN.md)

#include <boost/asio/connect.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <functional>
#include <limits>
#include <optional>

namespace peat::cli {

namespace net = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using Socket = net::generic::stream_protocol::socket;
using Parser = http::response_parser<http::string_body>;

#ifndef PEAT_CLI_VERSION
#define PEAT_CLI_VERSION "dev"
#endif

struct HttpClient::Impl {
  Impl(NodeAddress a, std::chrono::milliseconds t) : address(std::move(a)), timeout(t) {}

  NodeAddress address;
  std::chrono::milliseconds timeout;
  net::io_context ioc;
  Socket socket{ioc};
  boost::beast::flat_buffer buffer;
  std::optional<Parser> parser;
  std::optional<net::signal_set> signals;
  bool interrupted = false;

  // Starts one asynchronous operation and runs the context until it completes (and, with a
  // deadline, until the deadline timer's handler has run too, so no handler outlives this frame).
  Status Run(std::string_view what, bool deadline,
             const std::function<void(std::function<void(error_code)>)>& start) {
    if (interrupted) return CancelledError("interrupted");
    bool done = false, timer_done = !deadline, timed_out = false;
    error_code result;
    net::steady_timer timer(ioc);
    if (deadline) {
      timer.expires_after(timeout);
      timer.async_wait([&](error_code ec) {
        timer_done = true;
        if (!ec && !done) {
          timed_out = true;
          error_code ignored;
          socket.cancel(ignored);
        }
      });
    }
    start([&](error_code ec) {
      result = ec;
      done = true;
      timer.cancel();
    });
    ioc.restart();  // a context that ran out of work stays stopped until restarted
    while (!done || !timer_done) ioc.run_one();
    if (interrupted) return CancelledError("interrupted");
    if (timed_out) {
      Close();
      return DeadlineExceededError(std::string(what) + " " + address.ToString() +
                                   ": no answer within " + std::to_string(timeout.count()) + " ms");
    }
    if (result) {
      Close();
      return UnavailableError(std::string(what) + " " + address.ToString() + ": " +
                              result.message());
    }
    return Status::Ok();
  }

  void Close() {
    error_code ignored;
    socket.close(ignored);
    buffer.clear();
    parser.reset();
  }

  Status Connect() {
    if (socket.is_open()) return Status::Ok();
    buffer.clear();
    if (address.is_unix()) {
      net::generic::stream_protocol::endpoint ep(
          net::local::stream_protocol::endpoint(address.unix_path));
      return Run("cannot connect to", true, [&](auto done) { socket.async_connect(ep, done); });
    }
    net::ip::tcp::resolver resolver(ioc);
    error_code ec;
    auto results = resolver.resolve(address.host, std::to_string(address.port), ec);
    if (ec) return UnavailableError("cannot resolve " + address.ToString() + ": " + ec.message());
    Status last = UnavailableError("cannot connect to " + address.ToString() + ": no address");
    for (const auto& entry : results) {
      net::generic::stream_protocol::endpoint ep(entry.endpoint());
      last = Run("cannot connect to", true, [&](auto done) { socket.async_connect(ep, done); });
      if (last.ok() || last.code() == StatusCode::kCancelled) return last;
    }
    return last;
  }

  Status Send(std::string_view path, std::string_view content_type, std::string body) {
    PEAT_RETURN_IF_ERROR(Connect());
    http::request<http::string_body> req{http::verb::post, std::string(path), 11};
    req.set(http::field::host, address.is_unix() ? std::string("localhost") : address.ToString());
    req.set(http::field::user_agent, "peat/" PEAT_CLI_VERSION);
    req.set(http::field::content_type, content_type);
    req.set("Connect-Protocol-Version", "1");
    req.keep_alive(true);
    req.body() = std::move(body);
    req.prepare_payload();
    return Run("connection lost to", true, [&](auto done) {
      http::async_write(socket, req, [done](error_code ec, size_t) { done(ec); });
    });
  }

  void NewParser() {
    parser.emplace();
    parser->body_limit(std::numeric_limits<std::uint64_t>::max());
  }

  // Sends the request, then reads the whole answer (`whole`) or only its header into `parser`.
  StatusOr<HttpReply> Exchange(std::string_view path, std::string_view content_type,
                               std::string body, bool whole) {
    PEAT_RETURN_IF_ERROR(Send(path, content_type, std::move(body)));
    NewParser();
    PEAT_RETURN_IF_ERROR(Run("connection lost to", true, [&](auto done) {
      auto handler = [done](error_code ec, size_t) { done(ec); };
      if (whole) {
        http::async_read(socket, buffer, *parser, handler);
      } else {
        http::async_read_header(socket, buffer, *parser, handler);
      }
    }));
    return Header();
  }

  HttpReply Header() const {
    HttpReply r;
    r.status = parser->get().result_int();
    r.content_type = std::string(parser->get()[http::field::content_type]);
    return r;
  }
};

HttpClient::HttpClient(NodeAddress address, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(std::move(address), timeout)) {}

HttpClient::~HttpClient() = default;

const NodeAddress& HttpClient::address() const { return impl_->address; }

void HttpClient::CancelOnSignals() {
  Impl& im = *impl_;
  if (im.signals) return;
  im.signals.emplace(im.ioc, SIGINT, SIGTERM);
  im.signals->async_wait([&im](error_code ec, int) {
    if (ec) return;
    im.interrupted = true;
    error_code ignored;
    im.socket.cancel(ignored);
  });
}

bool HttpClient::interrupted() const { return impl_->interrupted; }

StatusOr<HttpReply> HttpClient::Post(std::string_view path, std::string_view content_type,
                                     std::string body) {
  Impl& im = *impl_;
  PEAT_ASSIGN_OR_RETURN(HttpReply reply, im.Exchange(path, content_type, std::move(body), true));
  reply.body = std::move(im.parser->get().body());
  bool keep = im.parser->keep_alive();
  im.parser.reset();
  if (!keep) im.Close();
  return reply;
}

StatusOr<HttpReply> HttpClient::StartStream(std::string_view path, std::string_view content_type,
                                            std::string body) {
  return impl_->Exchange(path, content_type, std::move(body), false);
}

StatusOr<bool> HttpClient::ReadStream(std::string& out) {
  Impl& im = *impl_;
  if (!im.parser) return UnavailableError("no stream in progress");
  auto take = [&] {
    auto& body = im.parser->get().body();
    out += body;
    body.clear();
  };
  take();  // bytes that arrived together with the header
  if (im.parser->is_done()) {
    im.Close();
    return false;
  }
  PEAT_RETURN_IF_ERROR(im.Run("connection lost to", false, [&](auto done) {
    http::async_read_some(im.socket, im.buffer, *im.parser,
                          [done](error_code ec, size_t) { done(ec); });
  }));
  take();
  if (im.parser->is_done()) {
    im.Close();
    return false;
  }
  return true;
}

}  // namespace peat::cli

#include "cli/port_forward.h"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/write.hpp>
#include <csignal>
#include <optional>
#include <set>

namespace peat::cli {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// One browser connection and its connection to the node. Each direction is a read → write loop
// on a 16 KiB buffer; EOF on one side shuts down sending on the other.
class Splice : public std::enable_shared_from_this<Splice> {
 public:
  Splice(tcp::socket browser, asio::io_context& ioc, std::set<Splice*>& live)
      : browser_(std::move(browser)), tcp_node_(ioc), unix_node_(ioc), live_(live) {
    live_.insert(this);
  }
  ~Splice() { live_.erase(this); }

  void Start(const NodeAddress& node) {
    auto self = shared_from_this();
    if (node.is_unix()) {
      unix_node_.async_connect(asio::local::stream_protocol::endpoint(node.unix_path),
                               [self](error_code ec) { self->Connected(ec); });
      return;
    }
    error_code ec;
    auto ip = asio::ip::make_address(node.host, ec);
    if (!ec) {
      tcp_node_.async_connect(tcp::endpoint(ip, node.port),
                              [self](error_code e) { self->Connected(e); });
      return;
    }
    auto resolver = std::make_shared<tcp::resolver>(browser_.get_executor());
    resolver->async_resolve(
        node.host, std::to_string(node.port),
        [self, resolver](error_code e, tcp::resolver::results_type results) {
          if (e) return self->Close();
          asio::async_connect(self->tcp_node_, results,
                              [self](error_code e2, const tcp::endpoint&) { self->Connected(e2); });
        });
  }

  void Close() {
    error_code ignored;
    browser_.close(ignored);
    tcp_node_.close(ignored);
    unix_node_.close(ignored);
  }

 private:
  void Connected(error_code ec) {
    if (ec) return Close();
    if (unix_node_.is_open()) {
      Pump(browser_, unix_node_, up_);
      Pump(unix_node_, browser_, down_);
    } else {
      Pump(browser_, tcp_node_, up_);
      Pump(tcp_node_, browser_, down_);
    }
  }

  template <typename From, typename To>
  void Pump(From& from, To& to, std::array<char, 16384>& buffer) {
    auto self = shared_from_this();
    from.async_read_some(
        asio::buffer(buffer), [self, &from, &to, &buffer](error_code ec, size_t n) {
          if (ec) {
            error_code ignored;
            if (ec == asio::error::eof) {
              to.shutdown(asio::socket_base::shutdown_send, ignored);  // pass the EOF on
            } else {
              self->Close();
            }
            return;
          }
          asio::async_write(to, asio::buffer(buffer.data(), n),
                            [self, &from, &to, &buffer](error_code e, size_t) {
                              if (e) return self->Close();
                              self->Pump(from, to, buffer);
                            });
        });
  }

  tcp::socket browser_;
  tcp::socket tcp_node_;
  asio::local::stream_protocol::socket unix_node_;
  std::array<char, 16384> up_{};
  std::array<char, 16384> down_{};
  std::set<Splice*>& live_;
};

}  // namespace

struct PortForward::Impl {
  explicit Impl(NodeAddress n) : node(std::move(n)), acceptor(ioc), signals(ioc, SIGINT, SIGTERM) {}

  void Accept() {
    acceptor.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::make_shared<Splice>(std::move(socket), ioc, live)->Start(node);
      }
      Accept();
    });
  }

  NodeAddress node;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  std::set<Splice*> live;
};

PortForward::PortForward(NodeAddress node) : impl_(std::make_unique<Impl>(std::move(node))) {}
PortForward::~PortForward() = default;

Status PortForward::Listen(const std::string& host, uint16_t port) {
  error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) return InvalidArgumentError("--listen: '" + host + "' is not an IP address");
  tcp::endpoint endpoint(ip, port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return UnavailableError("cannot listen on " + endpoint.address().to_string() + ":" +
                            std::to_string(port) + ": " + ec.message());
  }
  return Status::Ok();
}

uint16_t PortForward::port() const {
  error_code ec;
  auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void PortForward::Run(const std::function<void()>& ready) {
  Impl& im = *impl_;
  im.signals.async_wait([&im](error_code ec, int) {
    if (ec) return;
    error_code ignored;
    im.acceptor.close(ignored);
    for (Splice* s : std::set<Splice*>(im.live)) s->Close();
  });
  im.Accept();
  if (ready) ready();
  im.ioc.run();
}

}  // namespace peat::cli

#include "rpc/connection.h"

#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <string_view>

#include "rpc/http1_connection.h"
#include "rpc/http2_connection.h"
#include "rpc/rpc_metrics.h"

namespace peat::rpc {

namespace {
constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Reads the first bytes of a connection until they diverge from, or fully match, the HTTP/2
// client preface.
class ProtocolSniffer : public std::enable_shared_from_this<ProtocolSniffer> {
 public:
  ProtocolSniffer(Socket socket, std::shared_ptr<ConnectionSlot> slot, ConnectionContext& context)
      : socket_(std::move(socket)),
        slot_(std::move(slot)),
        context_(context),
        timer_(socket_.get_executor()) {}

  void Start() {
    timer_.expires_after(context_.settings.header_read_timeout);
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) {
        self->context_.metrics->connections_rejected_header.Inc();
        boost::system::error_code ignored;
        self->socket_.close(ignored);
      }
    });
    Read();
  }

 private:
  void Read() {
    socket_.async_read_some(boost::asio::buffer(buf_),
                            [self = shared_from_this()](const boost::system::error_code& ec,
                                                        size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(const boost::system::error_code& ec, size_t n) {
    if (ec) {
      timer_.cancel();
      return;  // closed before saying anything (or timed out)
    }
    seen_.append(buf_.data(), n);
    size_t common = std::min(seen_.size(), kPreface.size());
    bool matches = std::string_view(seen_).substr(0, common) == kPreface.substr(0, common);
    if (matches && seen_.size() < kPreface.size()) return Read();
    timer_.cancel();
    context_.metrics->connections_total.Inc();
    std::shared_ptr<Connection> conn;
    if (matches) {
      auto h2 = std::make_shared<Http2Connection>(std::move(socket_), std::move(slot_), context_,
                                                  std::move(seen_));
      conn = h2;
      if (context_.on_established) context_.on_established(conn);
      h2->Start();
    } else {
      auto h1 = std::make_shared<Http1Connection>(std::move(socket_), std::move(slot_), context_,
                                                  std::move(seen_));
      conn = h1;
      if (context_.on_established) context_.on_established(conn);
      h1->Start();
    }
  }

  Socket socket_;
  std::shared_ptr<ConnectionSlot> slot_;
  ConnectionContext& context_;
  boost::asio::steady_timer timer_;
  std::array<char, 4096> buf_{};
  std::string seen_;
};
}  // namespace

void StartConnection(Socket socket, std::shared_ptr<ConnectionSlot> slot,
                     ConnectionContext& context) {
  std::make_shared<ProtocolSniffer>(std::move(socket), std::move(slot), context)->Start();
}

}  // namespace peat::rpc

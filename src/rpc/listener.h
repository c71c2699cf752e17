// Listener: an acceptor for one API address (TCP or unix socket). Each accepted socket is handed to
// the next io_context of the pool and sniffed for HTTP/1.1 vs HTTP/2. While --max-connections are
// open the listener stops accepting, so new connections wait in the kernel backlog and existing
// ones are unaffected; it resumes as soon as one closes. A connection accepted just as the limit
// was reached (several listeners race for the last slot) is parked, unserved, until a slot frees.
// Bind/Close on any thread before/after the accept loop runs; the loop itself runs on the
// acceptor's executor.
//
// A unix socket path is never taken from someone else: an existing socket file is probed with a
// connect first; only a stale one (ECONNREFUSED: nobody listens) is removed; a live one, or a path
// that is not a socket, is a FAILED_PRECONDITION error ("unix://PATH is served by another
// process"). The socket file gets `unix_mode` before listen(), so no client can connect while it
// still has the umask's mode. A TCP address already in use is FAILED_PRECONDITION too.
#pragma once

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "rpc/connection.h"

namespace peat::rpc {

class IoContextPool;

struct ListenEndpoint {
  enum class Kind { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host;
  uint16_t port = 0;
  std::string unix_path;
  uint32_t unix_mode = 0660;  // kUnix: permissions of the socket file (set before listen())
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // `acquire_slot` returns a slot for a new connection, or nullptr when at the limit;
  // `has_capacity` says whether a slot is free now (without taking it).
  Listener(boost::asio::io_context& acceptor_context, IoContextPool& pool,
           ConnectionContext& context,
           std::function<std::shared_ptr<ConnectionSlot>()> acquire_slot,
           std::function<bool()> has_capacity);

  // Binds and listens (synchronously). Unix: creates parent dirs, removes a stale socket file.
  Status Bind(const ListenEndpoint& endpoint);
  // "tcp://127.0.0.1:50051" or "unix:///run/peat/api.sock", with the port actually bound.
  const std::string& bound_address() const { return bound_address_; }
  void StartAccepting();
  // Re-arms accepting after a connection slot was freed (posted by the server).
  void Resume();
  void Close();

 private:
  void Accept();
  void Launch(Socket socket, std::shared_ptr<ConnectionSlot> slot);

  boost::asio::basic_socket_acceptor<boost::asio::generic::stream_protocol> acceptor_;
  boost::asio::steady_timer retry_timer_;
  IoContextPool& pool_;
  ConnectionContext& context_;
  std::function<std::shared_ptr<ConnectionSlot>()> acquire_slot_;
  std::function<bool()> has_capacity_;
  std::optional<Socket> parked_;
  std::string bound_address_;
  std::string unix_path_;
  bool accepting_ = false;
  bool paused_ = false;
  bool closed_ = false;
};

}  // namespace peat::rpc

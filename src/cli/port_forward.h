// PortForward: `peat console` (docs/CLI.md "console"). Listens on a loopback TCP port and copies
// bytes both ways between each browser connection and a new connection to the node's API (TCP or
// unix socket), so a node whose API is only a unix socket can be opened in a browser. Bytes are
// not parsed or changed; each side's EOF is passed on (half-close), and a connection to the node
// that fails closes the browser's connection.
//
// Run() serves until SIGINT or SIGTERM, then closes every connection and returns. Single-threaded
// (one io_context); not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cli/node_address.h"
#include "common/status.h"

namespace peat::cli {

class PortForward {
 public:
  explicit PortForward(NodeAddress node);
  ~PortForward();
  PortForward(const PortForward&) = delete;
  PortForward& operator=(const PortForward&) = delete;

  // Binds `host:port` (port 0: any free port). INVALID_ARGUMENT for a host that is not an IP
  // literal, UNAVAILABLE when the port cannot be bound.
  Status Listen(const std::string& host, uint16_t port);
  // The bound port (after Listen).
  uint16_t port() const;
  // Serves until SIGINT / SIGTERM; `ready` runs once, before the first accept.
  void Run(const std::function<void()>& ready);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace peat::cli

// Where `peat` finds the node's API: `--node ADDR` / `PEAT_NODE_ADDR` parsed into a TCP host:port
// or a unix socket path, and the default when neither is given (docs/CLI.md "Choosing the node").
//
//   ADDR = host:port | [ipv6]:port | http://host:port[/] | tcp://host:port
//        | unix:/abs/path | unix:///abs/path | /abs/path (a unix socket)
//
// Pure functions apart from DefaultNodeAddress, which looks at the file system; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace peat::cli {

// The node's unix socket in the Debian package and systemd unit (packaging/peat-node.env).
inline constexpr std::string_view kDefaultSocketPath = "/run/peat-node/api.sock";
// The node's default --listen (CONTRACT.md "Configuration surface").
inline constexpr std::string_view kDefaultTcpAddress = "127.0.0.1:50051";

struct NodeAddress {
  std::string unix_path;  // non-empty: a unix socket
  std::string host;       // TCP host (no brackets) when unix_path is empty
  uint16_t port = 0;

  bool is_unix() const { return !unix_path.empty(); }
  // "unix:/path" or "host:port" (IPv6 bracketed): how messages name the node.
  std::string ToString() const;
};

// INVALID_ARGUMENT "invalid node address '<text>': <why>" for anything else.
StatusOr<NodeAddress> ParseNodeAddress(std::string_view text);

// `socket_path` when a unix socket exists there, else kDefaultTcpAddress.
NodeAddress DefaultNodeAddress(std::string_view socket_path = kDefaultSocketPath);

}  // namespace peat::cli

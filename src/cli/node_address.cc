#include "cli/node_address.h"

#include <sys/stat.h>

#include "common/host_port.h"

namespace peat::cli {

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string NodeAddress::ToString() const {
  return is_unix() ? "unix:" + unix_path : FormatHostPort(host, port);
}

StatusOr<NodeAddress> ParseNodeAddress(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("invalid node address '" + std::string(text) +
                                "': " + std::string(why));
  };
  NodeAddress a;
  std::string_view rest = text;
  if (StartsWith(rest, "unix:") || StartsWith(rest, "/")) {
    if (StartsWith(rest, "unix://")) {
      rest.remove_prefix(7);
    } else if (StartsWith(rest, "unix:")) {
      rest.remove_prefix(5);
    }
    if (!StartsWith(rest, "/")) return bad("a unix socket path must be absolute (unix:/abs/path)");
    a.unix_path = std::string(rest);
    return a;
  }
  if (StartsWith(rest, "https://")) return bad("TLS is not supported; use http://host:port");
  if (StartsWith(rest, "http://")) rest.remove_prefix(7);
  if (StartsWith(rest, "tcp://")) rest.remove_prefix(6);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  auto hp = ParseHostPort(rest);
  if (!hp.ok()) return bad(hp.status().message());
  a.host = hp->host;
  a.port = hp->port;
  return a;
}

NodeAddress DefaultNodeAddress(std::string_view socket_path) {
  struct stat st {};
  std::string path(socket_path);
  if (!path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    NodeAddress a;
    a.unix_path = path;
    return a;
  }
  return *ParseNodeAddress(kDefaultTcpAddress);
}

}  // namespace peat::cli

#include "node/node_config.h"

namespace peat {

std::string ListenAddress::ToString() const {
  if (kind == Kind::kUnix) return "unix://" + unix_path;
  // IPv6 literals are bracketed so the port separator stays unambiguous.
  const bool v6 = host.find(':') != std::string::npos;
  return "tcp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace peat

#include "mesh/dial_address.h"

namespace peat::mesh {

StatusOr<DialAddress> ParseDialAddress(std::string_view address) {
  auto invalid = [&](std::string_view why) {
    return InvalidArgumentError("invalid mesh address \"" + std::string(address) +
                                "\": " + std::string(why) + " (want host:port or [ipv6]:port)");
  };
  DialAddress out;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) return invalid("missing ']'");
    out.host = std::string(address.substr(1, close - 1));
    std::string_view rest = address.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return invalid("missing port");
    port = rest.substr(1);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return invalid("missing port");
    out.host = std::string(address.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return invalid("IPv6 literal needs brackets");
    port = address.substr(colon + 1);
  }
  if (out.host.empty()) return invalid("empty host");
  if (port.empty() || port.size() > 5) return invalid("bad port");
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return invalid("bad port");
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535) return invalid("port out of range");
  out.port = static_cast<uint16_t>(value);
  return out;
}

std::string FormatHostPort(std::string_view host, uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  out.append(":").append(std::to_string(port));
  return out;
}

}  // namespace peat::mesh

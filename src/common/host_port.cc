#include "common/host_port.h"

#include <arpa/inet.h>

#include "common/hex.h"

namespace peat {
namespace {

constexpr size_t kMaxHostNameBytes = 253;

bool IsIpv4Literal(const std::string& host) {
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1;
}

bool IsIpv6Literal(const std::string& host) {
  in6_addr a{};
  return inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

bool IsNameCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

std::string Describe(char c) {
  const auto u = static_cast<uint8_t>(c);
  if (u > 0x20 && u < 0x7F) return std::string("character '") + c + "'";
  if (u == 0x20) return "space";
  return "byte 0x" + HexEncode({&u, 1});
}

// Why `host` (unbracketed, non-empty) is neither an IPv4 literal nor a DNS name; empty if it is
// one of them, with its kind in `kind`.
std::string CheckHost(const std::string& host, HostKind* kind) {
  if (host.find_first_not_of("0123456789.") == std::string::npos) {
    if (!IsIpv4Literal(host)) return "'" + host + "' is not an IPv4 address";
    *kind = HostKind::kIpv4;
    return "";
  }
  if (host.size() > kMaxHostNameBytes) {
    return "host name is " + std::to_string(host.size()) + " bytes; the limit is " +
           std::to_string(kMaxHostNameBytes);
  }
  for (char c : host) {
    if (!IsNameCharacter(c)) {
      return "invalid " + Describe(c) + " in host name (letters, digits, '-', '.', '_')";
    }
  }
  *kind = HostKind::kName;
  return "";
}

}  // namespace

StatusOr<HostPort> ParseHostPort(std::string_view text, HostPortRules rules) {
  HostPort out;
  std::string why;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      why = "missing ']' (want [ipv6]:port)";
    } else {
      out.host = std::string(text.substr(1, close - 1));
      out.kind = HostKind::kIpv6;
      if (!IsIpv6Literal(out.host)) {
        why = "'" + out.host + "' is not an IPv6 address";
      } else if (close + 1 >= text.size() || text[close + 1] != ':') {
        why = "missing port after ']' (want [ipv6]:port)";
      } else {
        port_text = text.substr(close + 2);
      }
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      why = "missing port (want host:port or [ipv6]:port)";
    } else {
      out.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
      if (out.host.find(':') != std::string::npos) {
        why = "an IPv6 address needs brackets, e.g. [::1]:7000";
      } else if (out.host.empty()) {
        out.kind = HostKind::kEmpty;
        if (!rules.allow_empty_host) why = "missing host";
      } else {
        why = CheckHost(out.host, &out.kind);
      }
    }
  }
  if (why.empty()) {
    StatusOr<uint16_t> port = ParsePort(port_text, rules.allow_port_zero);
    if (port.ok()) {
      out.port = *port;
      return out;
    }
    why = port.status().message();
  }
  return InvalidArgumentError("invalid address '" + std::string(text) + "': " + why);
}

StatusOr<uint16_t> ParsePort(std::string_view text, bool allow_zero) {
  if (text.empty()) return InvalidArgumentError("missing port");
  const auto bad = [&] {
    return InvalidArgumentError("port '" + std::string(text) + "' is not a number in " +
                                (allow_zero ? "0..65535" : "1..65535"));
  };
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return bad();
    value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > 65535) return bad();
  }
  if (value == 0 && !allow_zero) return bad();
  return static_cast<uint16_t>(value);
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

bool IsLoopbackIp(std::string_view host) {
  const std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, h.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace peat

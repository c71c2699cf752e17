// "host:port": the one grammar for every address a user gives the node — --listen and
// --mesh-listen (after their tcp:// prefix), --peer, ConnectPeer's addresses and the mesh's dials
// — so an address is accepted or refused the same way, with the same message, wherever it is
// written.
//
//   address = host ":" port | "[" ipv6 "]" ":" port
//   host    = IPv4 literal (dotted quad; a host of only digits and dots must be one)
//           | DNS name (letters, digits, '-', '_', '.'; at most 253 bytes)
//   ipv6    = an IPv6 literal as inet_pton reads it (no zone id); it needs the brackets
//   port    = decimal digits, 1..65535 (0 allowed only where HostPortRules says so)
//
// Pure functions; thread-safe. Errors are INVALID_ARGUMENT "invalid address '<text>': <why>".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace peat {

enum class HostKind {
  kEmpty,  // no host (":7000"), only where HostPortRules::allow_empty_host: any local address
  kName,
  kIpv4,
  kIpv6,
};

struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;
  HostKind kind = HostKind::kName;
};

// Relaxations for listen addresses; the defaults are the rules for an address to dial.
struct HostPortRules {
  bool allow_empty_host = false;  // ":7000"
  bool allow_port_zero = false;   // "host:0": a port the kernel picks
};

StatusOr<HostPort> ParseHostPort(std::string_view text, HostPortRules rules = {});

// The port part alone (also for flags that take only a port): decimal digits, 1..65535, or
// 0..65535 when `allow_zero`. INVALID_ARGUMENT "port '<text>' is not a number in 1..65535".
StatusOr<uint16_t> ParsePort(std::string_view text, bool allow_zero = false);

// "host:port", bracketing a host that contains ':' (IPv6). ParseHostPort reads it back.
std::string FormatHostPort(std::string_view host, uint16_t port);

// True iff `host` (no brackets) is an IP literal of this machine's loopback: 127.0.0.0/8 or ::1.
// Host names are never loopback here (they resolve later, and could resolve elsewhere).
bool IsLoopbackIp(std::string_view host);

}  // namespace peat

// DialAddress: a mesh peer address as written in config and ConnectPeer — "host:port", where
// host is an IPv4 literal, a DNS name, or an IPv6 literal in brackets ("[::1]:7000") — parsed
// and formatted. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace peat::mesh {

struct DialAddress {
  std::string host;  // without brackets
  uint16_t port = 0;
};

// INVALID_ARGUMENT (naming the address) for an empty host, a missing or non-numeric port, a port
// outside 1..65535, or an unbracketed IPv6 literal.
StatusOr<DialAddress> ParseDialAddress(std::string_view address);

// "host:port", bracketing hosts that contain ':' (IPv6).
std::string FormatHostPort(std::string_view host, uint16_t port);

}  // namespace peat::mesh

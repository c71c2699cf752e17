// Where and how the watcher reaches the agent (WATCHER.md §2), checked at startup by the config:
// - ParseAgentAddr: `http://host[:port]` or `https://host[:port]` (host a name, an IPv4 address
//   or a bracketed IPv6 address; port 1..65535, default 80 / 443); one trailing `/` is stripped;
//   anything else (a path, a query, user info, another scheme) is INVALID_ARGUMENT.
// - LoadAgentTlsMaterial: reads the PEM files of --agent-tls-cert / -key / -ca (each optional)
//   and checks them: the cert file holds ≥ 1 certificate, the key file a private key that matches
//   the first certificate, the CA file ≥ 1 certificate. Errors are INVALID_ARGUMENT and start with
//   the flag they concern ("--agent-tls-key: /x/k.pem: no PEM private key").
// Pure apart from reading the files; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace peat::watcher {

struct AgentEndpoint {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
  std::string addr;  // normalised: scheme://host[:port] as given, trailing '/' stripped
  bool operator==(const AgentEndpoint&) const = default;
};

StatusOr<AgentEndpoint> ParseAgentAddr(std::string_view addr);

struct AgentTlsFiles {
  std::string cert;  // empty = not set
  std::string key;
  std::string ca;
  bool empty() const { return cert.empty() && key.empty() && ca.empty(); }
};

// The files' contents, validated.
struct AgentTlsMaterial {
  std::string cert_pem;
  std::string key_pem;
  std::string ca_pem;
};

StatusOr<AgentTlsMaterial> LoadAgentTlsMaterial(const AgentTlsFiles& files);

}  // namespace peat::watcher

// NATS bridge configuration (docs/NATS.md "Configuration"): the server URL and the
// subject=collection mappings, parsed and checked at startup. Pure, no I/O.
// - URL: nats://[USER[:PASS]@]HOST[:PORT] or tls://…, HOST a name, an IPv4 address or [IPv6];
//   PORT 1–65535, 4222 when absent; no path, query or fragment. The credentials go to the client
//   only: Redacted() shows "***" in their place, and no error message repeats any part of the
//   text it was given (a malformed URL may hold a password).
// - Mapping: SUBJECT=COLLECTION. SUBJECT is literal (dot-separated non-empty tokens, no '*' or
//   '>', no whitespace) and not under "_PEAT"; COLLECTION matches [A-Za-z0-9][A-Za-z0-9._-]*,
//   is at most 1024 bytes and is not the reserved "file_distributions". In a list, no subject and
//   no collection appears twice.
// Errors are INVALID_ARGUMENT and do not name the flag: the config prefixes it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace peat::bridge {

struct NatsUrl {
  bool tls = false;
  std::string user;
  std::string password;  // empty when the URL has none (a token is given as user)
  bool has_credentials = false;
  std::string host;  // as written: brackets kept for IPv6
  uint16_t port = 4222;

  // The URL handed to the client, credentials included: never log it.
  std::string ToClientUrl() const;
  // For logs, errors and --print-config: "nats://***@host:port" when there are credentials.
  std::string Redacted() const;
  // Replaces every occurrence of the user and password in `text` with "***" (client error texts).
  std::string Scrub(std::string text) const;
};

StatusOr<NatsUrl> ParseNatsUrl(std::string_view text);

// The redacted form of `text` when it parses, else "<invalid>" (for --print-config).
std::string RedactNatsUrl(std::string_view text);

struct NatsMapping {
  std::string subject;
  std::string collection;
};

StatusOr<NatsMapping> ParseNatsMapping(std::string_view text);
// Each item parsed, then the duplicate checks.
StatusOr<std::vector<NatsMapping>> ParseNatsMappings(const std::vector<std::string>& items);

// The reserved subject prefix: readiness requests go to kReadinessSubject.
inline constexpr std::string_view kReservedSubjectToken = "_PEAT";
inline constexpr std::string_view kReadinessSubject = "_PEAT.NATS_BRIDGE.READINESS";

}  // namespace peat::bridge

// The DNS wire subset mDNS discovery needs (RFC 1035 §4, RFC 6762): a bounds-checked parser for
// untrusted datagrams and the builders of our query and our advert. Pure, no I/O, thread-safe.
//
// Why not libmdnsd (Debian's libmdnsd-dev 0.12)? Its parser takes no datagram length and, fed
// random ~200-byte datagrams, memcpy's from a wild pointer inside mdnsd_in (AddressSanitizer,
// docs/DISCOVERY.md): any host on the LAN could crash every node. This parser checks every read
// against the datagram, follows compression pointers only backwards (no loops), caps names at
// 255 bytes and records per message at kMaxRecords.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "discovery/mdns_txt.h"

namespace peat::discovery {

inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypePtr = 12;
inline constexpr uint16_t kDnsTypeTxt = 16;
inline constexpr uint16_t kDnsTypeSrv = 33;
inline constexpr uint16_t kDnsTypeAny = 255;
inline constexpr size_t kMaxRecords = 64;  // questions + records; larger messages are refused

struct DnsQuestion {
  std::string name;  // dotted, lower-cased, with the trailing dot ("_x._tcp.local.")
  uint16_t type = 0;
};

struct DnsRecord {
  std::string name;  // as DnsQuestion::name
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string target;          // PTR: the instance; SRV: the host (as name); else ""
  uint16_t srv_port = 0;       // SRV only
  std::vector<uint8_t> rdata;  // TXT and A: the raw rdata; else empty
};

struct DnsMessage {
  bool response = false;
  std::vector<DnsQuestion> questions;
  std::vector<DnsRecord> records;  // answers, authorities and additionals, in order
};

// INVALID_ARGUMENT for anything truncated, looping, oversized or otherwise malformed.
StatusOr<DnsMessage> ParseDnsMessage(std::span<const uint8_t> datagram);

// A query for PTR `service` (e.g. kMdnsServiceType).
std::vector<uint8_t> BuildQuery(std::string_view service);

// Our advert as an mDNS response: PTR service → instance, SRV instance → host:port, TXT instance
// (EncodeTxt), and A host → `ipv4` (network order bytes) when not all zero; `ttl` 0 = goodbye.
// `instance` is the full instance name ("peat-<16 hex>.<service>").
std::vector<uint8_t> BuildAdvert(const MdnsAdvert& advert, std::string_view service,
                                 std::string_view instance, std::string_view host,
                                 std::array<uint8_t, 4> ipv4, uint32_t ttl);

// "peat-" + the first 16 hex chars of the endpoint id + "." + service.
std::string InstanceName(std::string_view endpoint_id, std::string_view service);

}  // namespace peat::discovery

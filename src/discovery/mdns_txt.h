// The mDNS advert of a node (docs/DISCOVERY.md): the TXT record of its `_peat-node._tcp`
// service instance, and the rules a browser applies to an advert before proposing a dial.
//
// TXT (RFC 6763 §6: length-prefixed "key=value" strings): `v=1`, `id=<endpoint id, 64 hex>`,
// `port=<mesh port>`, `ft=<formation tag>`. The formation tag is 16 hex chars, a keyed PRF of the
// app id under the formation key (HKDF-SHA256, IKM = shared key, info = label + app id): nodes of
// one formation share it, and it reveals neither the app id nor the key.
//
// Pure functions, no I/O; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace peat::discovery {

inline constexpr std::string_view kMdnsServiceType = "_peat-node._tcp.local.";
inline constexpr size_t kFormationTagChars = 16;

struct MdnsAdvert {
  std::string endpoint_id;    // 64 lowercase hex
  uint16_t mesh_port = 0;     // 1..65535
  std::string formation_tag;  // kFormationTagChars lowercase hex
};

// TXT rdata for `advert` (does not validate it).
std::string EncodeTxt(const MdnsAdvert& advert);
// Parses TXT rdata: every string within bounds; unknown keys ignored; `v` absent or 1; `id`,
// `port` and `ft` present and well-formed. INVALID_ARGUMENT naming the first problem.
StatusOr<MdnsAdvert> DecodeTxt(std::span<const uint8_t> rdata);

// The formation tag of (`shared_key`, `app_id`). INVALID_ARGUMENT for an empty key: a key-less
// formation does not advertise (docs/DISCOVERY.md).
StatusOr<std::string> FormationTag(std::span<const uint8_t> shared_key, std::string_view app_id);

// Why an advert is not proposed for a dial, or kPropose.
enum class AdvertVerdict { kPropose, kSelf, kOtherFormation };
AdvertVerdict CheckAdvert(const MdnsAdvert& advert, std::string_view self_endpoint_id,
                          std::string_view formation_tag);
// "self", "formation" (the `reason` label of peat_discovery_skipped_total); "" for kPropose.
std::string_view VerdictLabel(AdvertVerdict verdict);

}  // namespace peat::discovery

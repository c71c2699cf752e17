#include "discovery/mdns_txt.h"

#include <charconv>
#include <optional>

#include "common/endpoint_id.h"
#include "common/hex.h"
#include "crypto/hkdf.h"

namespace peat::discovery {
namespace {

constexpr std::string_view kTagLabel = "peat-node mdns formation tag v1:";

void AppendString(std::string& out, std::string_view key, std::string_view value) {
  const size_t len = key.size() + 1 + value.size();  // every string we write is < 256 bytes
  out.push_back(static_cast<char>(len));
  out.append(key);
  out.push_back('=');
  out.append(value);
}

}  // namespace

std::string EncodeTxt(const MdnsAdvert& advert) {
  std::string out;
  AppendString(out, "v", "1");
  AppendString(out, "id", advert.endpoint_id);
  AppendString(out, "port", std::to_string(advert.mesh_port));
  AppendString(out, "ft", advert.formation_tag);
  return out;
}

StatusOr<MdnsAdvert> DecodeTxt(std::span<const uint8_t> rdata) {
  std::optional<std::string> id, port, tag, version;
  size_t at = 0;
  while (at < rdata.size()) {
    const size_t len = rdata[at++];
    if (len > rdata.size() - at) return InvalidArgumentError("TXT: string runs past the record");
    std::string_view s(reinterpret_cast<const char*>(rdata.data() + at), len);
    at += len;
    const size_t eq = s.find('=');
    if (eq == std::string_view::npos) continue;  // a boolean attribute: none of ours
    const std::string_view key = s.substr(0, eq), value = s.substr(eq + 1);
    // RFC 6763 §6.4: the first occurrence of a key wins.
    if (key == "id" && !id) id = std::string(value);
    if (key == "port" && !port) port = std::string(value);
    if (key == "ft" && !tag) tag = std::string(value);
    if (key == "v" && !version) version = std::string(value);
  }
  if (version && *version != "1") return InvalidArgumentError("TXT: unknown version " + *version);
  if (!id || !IsValidEndpointId(*id)) return InvalidArgumentError("TXT: missing or bad id");
  if (!tag || tag->size() != kFormationTagChars || !IsLowerHex(*tag)) {
    return InvalidArgumentError("TXT: missing or bad ft");
  }
  unsigned value = 0;
  if (!port || port->empty() ||
      std::from_chars(port->data(), port->data() + port->size(), value).ptr !=
          port->data() + port->size() ||
      value == 0 || value > 65535) {
    return InvalidArgumentError("TXT: missing or bad port");
  }
  return MdnsAdvert{std::move(*id), static_cast<uint16_t>(value), std::move(*tag)};
}

StatusOr<std::string> FormationTag(std::span<const uint8_t> shared_key, std::string_view app_id) {
  if (shared_key.empty()) return InvalidArgumentError("formation tag: the formation has no key");
  std::string info(kTagLabel);
  info.append(app_id);
  auto prf = HkdfSha256(shared_key, {}, AsBytes(info), kFormationTagChars / 2);
  if (!prf.ok()) return prf.status();
  return HexEncode(std::span<const uint8_t>(prf->data(), prf->size()));
}

AdvertVerdict CheckAdvert(const MdnsAdvert& advert, std::string_view self_endpoint_id,
                          std::string_view formation_tag) {
  if (advert.endpoint_id == self_endpoint_id) return AdvertVerdict::kSelf;
  if (advert.formation_tag != formation_tag) return AdvertVerdict::kOtherFormation;
  return AdvertVerdict::kPropose;
}

std::string_view VerdictLabel(AdvertVerdict verdict) {
  switch (verdict) {
    case AdvertVerdict::kSelf:
      return "self";
    case AdvertVerdict::kOtherFormation:
      return "formation";
    case AdvertVerdict::kPropose:
      break;
  }
  return "";
}

}  // namespace peat::discovery

// mDNS discovery's parsers on arbitrary datagrams (docs/DISCOVERY.md): ParseDnsMessage on the
// input, and DecodeTxt on the input and on every TXT record parsed from it. Invariants: no crash
// or read past the input (ASan); a parsed message holds ≤ kMaxRecords questions + records, every
// name is ≤ 255 bytes, lower-case, and ends with '.'; a decoded advert is valid (64-hex id, port
// 1..65535, 16-hex tag) and re-encodes (EncodeTxt) to a record that decodes to the same advert.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/endpoint_id.h"
#include "discovery/mdns_txt.h"
#include "discovery/mdns_wire.h"
#include "fuzz_check.h"

namespace {

using namespace peat::discovery;

void CheckName(const std::string& name) {
  FUZZ_CHECK(!name.empty() && name.size() <= 256 && name.back() == '.');
  for (char c : name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
}

void CheckTxt(std::span<const uint8_t> rdata) {
  auto advert = DecodeTxt(rdata);
  if (!advert.ok()) return;
  FUZZ_CHECK(peat::IsValidEndpointId(advert->endpoint_id));
  FUZZ_CHECK(advert->mesh_port != 0);
  FUZZ_CHECK(advert->formation_tag.size() == kFormationTagChars);
  const std::string again = EncodeTxt(*advert);
  auto back = DecodeTxt({reinterpret_cast<const uint8_t*>(again.data()), again.size()});
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(back->endpoint_id == advert->endpoint_id && back->mesh_port == advert->mesh_port &&
             back->formation_tag == advert->formation_tag);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  CheckTxt(input);
  auto m = ParseDnsMessage(input);
  if (!m.ok()) return 0;
  FUZZ_CHECK(m->questions.size() + m->records.size() <= kMaxRecords);
  for (const auto& q : m->questions) CheckName(q.name);
  for (const auto& r : m->records) {
    CheckName(r.name);
    if (r.type == kDnsTypePtr || r.type == kDnsTypeSrv) CheckName(r.target);
    if (r.type == kDnsTypeTxt) CheckTxt(r.rdata);
  }
  return 0;
}

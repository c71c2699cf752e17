#include "discovery/mdns_wire.h"

#include <array>

namespace peat::discovery {
namespace {

constexpr size_t kHeaderBytes = 12;
constexpr size_t kMaxNameBytes = 255;
constexpr uint16_t kClassIn = 1;
constexpr uint16_t kCacheFlush = 0x8000;

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}

  bool U16(size_t at, uint16_t& out) const {
    if (at + 2 > data_.size()) return false;
    out = static_cast<uint16_t>(data_[at] << 8 | data_[at + 1]);
    return true;
  }
  bool U32(size_t at, uint32_t& out) const {
    uint16_t hi = 0, lo = 0;
    if (!U16(at, hi) || !U16(at + 2, lo)) return false;
    out = uint32_t{hi} << 16 | lo;
    return true;
  }
  // The name at `at`: sets `end` to the first byte after it in place (after the first pointer).
  // Pointers must point strictly before the label that holds them: no loops.
  bool Name(size_t at, std::string& out, size_t& end) const {
    out.clear();
    bool jumped = false;
    size_t pos = at;
    for (;;) {
      if (pos >= data_.size()) return false;
      const uint8_t len = data_[pos];
      if ((len & 0xc0) == 0xc0) {
        if (pos + 1 >= data_.size()) return false;
        const size_t target = static_cast<size_t>(len & 0x3f) << 8 | data_[pos + 1];
        if (target >= pos) return false;
        if (!jumped) end = pos + 2;
        jumped = true;
        pos = target;
        continue;
      }
      if (len & 0xc0) return false;  // 0x40 / 0x80: extended label types, not used by mDNS
      if (len == 0) {
        if (!jumped) end = pos + 1;
        if (out.empty()) out = ".";
        return true;
      }
      if (pos + 1 + len > data_.size()) return false;
      for (size_t i = 0; i < len; ++i) {
        char c = static_cast<char>(data_[pos + 1 + i]);
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        out.push_back(c);
      }
      out.push_back('.');
      if (out.size() > kMaxNameBytes) return false;
      pos += 1 + len;
    }
  }

 private:
  std::span<const uint8_t> data_;
};

void PutU16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void PutU32(std::vector<uint8_t>& out, uint32_t v) {
  PutU16(out, static_cast<uint16_t>(v >> 16));
  PutU16(out, static_cast<uint16_t>(v));
}

// Uncompressed (RFC 1035 allows it); labels longer than 63 bytes are cut (ours never are).
void PutName(std::vector<uint8_t>& out, std::string_view name) {
  while (!name.empty() && name != ".") {
    const size_t dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    if (label.size() > 63) label = label.substr(0, 63);
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  out.push_back(0);
}

void PutHeader(std::vector<uint8_t>& out, bool response, uint16_t questions, uint16_t answers,
               uint16_t additionals) {
  PutU16(out, 0);                      // id: 0 in mDNS
  PutU16(out, response ? 0x8400 : 0);  // QR + AA for responses
  PutU16(out, questions);
  PutU16(out, answers);
  PutU16(out, 0);
  PutU16(out, additionals);
}

// A record header; returns where the rdata length goes (filled by EndRdata).
size_t BeginRecord(std::vector<uint8_t>& out, std::string_view name, uint16_t type, bool unique,
                   uint32_t ttl) {
  PutName(out, name);
  PutU16(out, type);
  PutU16(out, static_cast<uint16_t>(kClassIn | (unique ? kCacheFlush : 0)));
  PutU32(out, ttl);
  const size_t at = out.size();
  PutU16(out, 0);
  return at;
}

void EndRdata(std::vector<uint8_t>& out, size_t length_at) {
  const size_t len = out.size() - length_at - 2;
  out[length_at] = static_cast<uint8_t>(len >> 8);
  out[length_at + 1] = static_cast<uint8_t>(len);
}

}  // namespace

StatusOr<DnsMessage> ParseDnsMessage(std::span<const uint8_t> datagram) {
  const Reader r(datagram);
  uint16_t flags = 0, qd = 0, an = 0, ns = 0, ar = 0;
  if (!r.U16(2, flags) || !r.U16(4, qd) || !r.U16(6, an) || !r.U16(8, ns) || !r.U16(10, ar)) {
    return InvalidArgumentError("dns: shorter than a header");
  }
  if (size_t{qd} + an + ns + ar > kMaxRecords) return InvalidArgumentError("dns: too many records");
  DnsMessage m;
  m.response = (flags & 0x8000) != 0;
  size_t at = kHeaderBytes;
  for (uint16_t i = 0; i < qd; ++i) {
    DnsQuestion q;
    size_t end = 0;
    uint16_t qclass = 0;
    if (!r.Name(at, q.name, end) || !r.U16(end, q.type) || !r.U16(end + 2, qclass)) {
      return InvalidArgumentError("dns: truncated question");
    }
    at = end + 4;
    m.questions.push_back(std::move(q));
  }
  for (size_t i = 0; i < size_t{an} + ns + ar; ++i) {
    DnsRecord rec;
    size_t end = 0;
    uint16_t rclass = 0, rdlength = 0;
    if (!r.Name(at, rec.name, end) || !r.U16(end, rec.type) || !r.U16(end + 2, rclass) ||
        !r.U32(end + 4, rec.ttl) || !r.U16(end + 8, rdlength)) {
      return InvalidArgumentError("dns: truncated record");
    }
    const size_t rdata = end + 10;
    if (rdata + rdlength > datagram.size()) return InvalidArgumentError("dns: rdata past the end");
    size_t name_end = 0;
    switch (rec.type) {
      case kDnsTypePtr:
        if (!r.Name(rdata, rec.target, name_end) || name_end > rdata + rdlength) {
          return InvalidArgumentError("dns: bad PTR");
        }
        break;
      case kDnsTypeSrv:
        if (rdlength < 7 || !r.U16(rdata + 4, rec.srv_port) ||
            !r.Name(rdata + 6, rec.target, name_end) || name_end > rdata + rdlength) {
          return InvalidArgumentError("dns: bad SRV");
        }
        break;
      case kDnsTypeTxt:
      case kDnsTypeA:
        rec.rdata.assign(datagram.begin() + static_cast<std::ptrdiff_t>(rdata),
                         datagram.begin() + static_cast<std::ptrdiff_t>(rdata + rdlength));
        break;
      default:
        break;  // kept with its name and type only
    }
    at = rdata + rdlength;
    m.records.push_back(std::move(rec));
  }
  return m;
}

std::vector<uint8_t> BuildQuery(std::string_view service) {
  std::vector<uint8_t> out;
  PutHeader(out, false, 1, 0, 0);
  PutName(out, service);
  PutU16(out, kDnsTypePtr);
  PutU16(out, kClassIn);
  return out;
}

std::vector<uint8_t> BuildAdvert(const MdnsAdvert& advert, std::string_view service,
                                 std::string_view instance, std::string_view host,
                                 std::array<uint8_t, 4> ipv4, uint32_t ttl) {
  const bool with_a = ipv4 != std::array<uint8_t, 4>{};
  std::vector<uint8_t> out;
  PutHeader(out, true, 0, 3, with_a ? 1 : 0);
  size_t len_at = BeginRecord(out, service, kDnsTypePtr, false, ttl);
  PutName(out, instance);
  EndRdata(out, len_at);
  len_at = BeginRecord(out, instance, kDnsTypeSrv, true, ttl);
  PutU16(out, 0);  // priority
  PutU16(out, 0);  // weight
  PutU16(out, advert.mesh_port);
  PutName(out, host);
  EndRdata(out, len_at);
  len_at = BeginRecord(out, instance, kDnsTypeTxt, true, ttl);
  const std::string txt = EncodeTxt(advert);
  out.insert(out.end(), txt.begin(), txt.end());
  EndRdata(out, len_at);
  if (with_a) {
    len_at = BeginRecord(out, host, kDnsTypeA, true, ttl);
    out.insert(out.end(), ipv4.begin(), ipv4.end());
    EndRdata(out, len_at);
  }
  return out;
}

std::string InstanceName(std::string_view endpoint_id, std::string_view service) {
  return "peat-" + std::string(endpoint_id.substr(0, 16)) + "." + std::string(service);
}

}  // namespace peat::discovery

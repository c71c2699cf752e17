// Document::Encode / Document::Decode: the compact, versioned binary form of a document state.
//
// Version 1 layout (varint = unsigned LEB128, at most 10 bytes):
//   u8      version (1)
//   varint  T, then T node tags as 8-byte little-endian words, strictly ascending
//   varint  S, then S distinct timestamps, strictly descending: the first as varint hlc, each next
//           one as varint (previous hlc - hlc); when T > 1 each is followed by varint tag index
//   varint  delete register: 0 = none, else 1 + timestamp index
//   varint  root marker (kObject at ""): 0 = none, else 1 + timestamp index
//   varint  N, then N registers in path order, each:
//             varint shared, varint n, n bytes: its encoded path without the final 0x00 is the
//                    previous one's first `shared` bytes followed by these n bytes
//             u8     head: low 4 bits value code, high 4 bits timestamp index (15: a varint
//                    timestamp index follows)
//             value by code: 0 tombstone, 1 null, 2 false, 3 true, 8 empty object: nothing;
//                    4 int64: zigzag varint; 9 uint64 above int64: varint; 5 double: 8 bytes LE;
//                    10 double exactly representable as a float: 4 bytes LE; 6 string, 7 array:
//                    varint length + bytes
//
// Version 2 (a deleted document's DeleteContext, document.h) is version 1 with one more field
// after the delete register, which is then the context's floor:
//   varint  K, then K varint timestamp indexes, strictly ascending, of distinct node tags, each
//           timestamp above the floor: the per-writer "seen" entries {hlc, tag}
// and registers may be covered by the context (they are kept under a delete). Encode writes
// version 1 when K = 0 and every register is newer than the floor — every state that nodes
// before version 2 could hold, byte for byte as they wrote it — so stores written before keep
// decoding, and never-deleted documents still replicate to nodes of the previous version.
// Most registers of a document share one or two timestamps, so a register costs its path suffix,
// its value and ~3 bytes. Decode checks every length against the input (no allocation larger than
// the input), validates paths, UTF-8 strings and canonical array text, and the state invariants
// (paths strictly increasing, in version 1 registers newer than the delete register, root is an
// object, no leaf nested deeper than max_depth).
#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common/utf8.h"
#include "crdt/canonical_json.h"
#include "crdt/document.h"
#include "crdt/json_flatten.h"
#include "crdt/path.h"

namespace peat::crdt {
namespace {

constexpr uint8_t kVersion1 = 1;
constexpr uint8_t kVersion2 = 2;

enum Code : uint8_t {
  kCodeTombstone = 0,
  kCodeNull = 1,
  kCodeFalse = 2,
  kCodeTrue = 3,
  kCodeInt64 = 4,
  kCodeDouble = 5,
  kCodeString = 6,
  kCodeArray = 7,
  kCodeObject = 8,
  kCodeUint64 = 9,
  kCodeFloat = 10,
};
constexpr uint8_t kTsEscape = 15;

void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

void PutFixed(std::string* out, uint64_t v, size_t bytes) {
  char buf[8];
  for (size_t i = 0; i < bytes; ++i) buf[i] = static_cast<char>(v >> (8 * i));
  out->append(buf, bytes);
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }

Status Corrupt(const std::string& what) {
  return Status(StatusCode::kDataLoss, "document encoding: " + what);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  size_t remaining() const { return in_.size() - pos_; }
  size_t pos() const { return pos_; }

  bool Byte(uint8_t* v) {
    if (pos_ >= in_.size()) return false;
    *v = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      uint8_t b;
      if (!Byte(&b)) return false;
      if (shift == 63 && b > 1) return false;  // overflows 64 bits
      result |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  bool Fixed(size_t bytes, uint64_t* v) {
    if (remaining() < bytes) return false;
    uint64_t result = 0;
    for (size_t i = 0; i < bytes; ++i) {
      result |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    }
    pos_ += bytes;
    *v = result;
    return true;
  }
  bool Bytes(uint64_t n, std::string_view* v) {
    if (n > remaining()) return false;
    *v = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

// Finds `ts` in the descending timestamp table.
size_t IndexOf(const std::vector<Timestamp>& table, Timestamp ts) {
  return static_cast<size_t>(
      std::lower_bound(table.begin(), table.end(), ts, std::greater<Timestamp>()) - table.begin());
}

size_t IndexOf(const std::vector<uint64_t>& tags, uint64_t tag) {
  return static_cast<size_t>(std::lower_bound(tags.begin(), tags.end(), tag) - tags.begin());
}

// Writes the head byte (value code + timestamp index) and the value.
void PutRegister(std::string* out, size_t ts_index, const Register& reg) {
  auto head = [&](uint8_t code) {
    const size_t bits = std::min<size_t>(ts_index, kTsEscape);
    out->push_back(static_cast<char>(code | (bits << 4)));
    if (bits == kTsEscape) PutVarint(out, ts_index);
  };
  switch (reg.kind) {
    case RegisterKind::kTombstone:
      return head(kCodeTombstone);
    case RegisterKind::kNull:
      return head(kCodeNull);
    case RegisterKind::kFalse:
      return head(kCodeFalse);
    case RegisterKind::kTrue:
      return head(kCodeTrue);
    case RegisterKind::kObject:
      return head(kCodeObject);
    case RegisterKind::kInt:
      if (auto v = ParseCanonicalInt64(reg.value)) {
        head(kCodeInt64);
        return PutVarint(out, ZigZag(*v));
      }
      if (auto v = ParseCanonicalUint64(reg.value)) {
        head(kCodeUint64);
        return PutVarint(out, *v);
      }
      break;  // not canonical integer text (contract violation): keep the text as a string
    case RegisterKind::kDouble:
      if (auto v = ParseCanonicalDouble(reg.value)) {
        if (std::fabs(*v) <= FLT_MAX && static_cast<double>(static_cast<float>(*v)) == *v) {
          head(kCodeFloat);
          return PutFixed(out, std::bit_cast<uint32_t>(static_cast<float>(*v)), 4);
        }
        head(kCodeDouble);
        return PutFixed(out, std::bit_cast<uint64_t>(*v), 8);
      }
      break;
    case RegisterKind::kArray:
      head(kCodeArray);
      PutVarint(out, reg.value.size());
      out->append(reg.value);
      return;
    case RegisterKind::kString:
      break;
  }
  head(kCodeString);
  PutVarint(out, reg.value.size());
  out->append(reg.value);
}

}  // namespace

std::string Document::Encode() const {
  // Distinct node tags (ascending) and timestamps (descending).
  const Timestamp floor = deletes_.floor();
  std::vector<Timestamp> stamps;
  stamps.reserve(registers_.size() + deletes_.seen().size() + 1);
  if (!floor.IsZero()) stamps.push_back(floor);
  for (const auto& [tag, hlc] : deletes_.seen()) stamps.push_back(Timestamp{hlc, tag});
  // Version 1 cannot say "seen" entries, nor hold a register the floor covers.
  bool v2 = !deletes_.seen().empty();
  size_t bytes = 32;
  for (const auto& [path, reg] : registers_) {
    if (stamps.empty() || stamps.back() != reg.ts) stamps.push_back(reg.ts);
    if (reg.ts <= floor) v2 = true;
    bytes += path.size() + reg.value.size() + 4;
  }
  std::sort(stamps.begin(), stamps.end(), std::greater<Timestamp>());
  stamps.erase(std::unique(stamps.begin(), stamps.end()), stamps.end());
  std::vector<uint64_t> tags;
  tags.reserve(stamps.size());
  for (const Timestamp& ts : stamps) tags.push_back(ts.node_tag);
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());

  std::string out;
  out.reserve(bytes + 8 * tags.size() + 12 * stamps.size());
  out.push_back(static_cast<char>(v2 ? kVersion2 : kVersion1));
  PutVarint(&out, tags.size());
  for (uint64_t tag : tags) PutFixed(&out, tag, 8);
  PutVarint(&out, stamps.size());
  for (size_t i = 0; i < stamps.size(); ++i) {
    PutVarint(&out, i == 0 ? stamps[0].hlc : stamps[i - 1].hlc - stamps[i].hlc);
    if (tags.size() > 1) PutVarint(&out, IndexOf(tags, stamps[i].node_tag));
  }
  PutVarint(&out, floor.IsZero() ? 0 : 1 + IndexOf(stamps, floor));
  if (v2) {
    std::vector<size_t> seen;
    seen.reserve(deletes_.seen().size());
    for (const auto& [tag, hlc] : deletes_.seen()) {
      seen.push_back(IndexOf(stamps, Timestamp{hlc, tag}));
    }
    std::sort(seen.begin(), seen.end());
    PutVarint(&out, seen.size());
    for (size_t index : seen) PutVarint(&out, index);
  }

  auto it = registers_.begin();
  if (it != registers_.end() && it->first.empty()) {
    PutVarint(&out, 1 + IndexOf(stamps, it->second.ts));
    ++it;
  } else {
    PutVarint(&out, 0);
  }
  PutVarint(&out, static_cast<uint64_t>(std::distance(it, registers_.end())));
  std::string_view prev;  // previous path without its final 0x00
  for (; it != registers_.end(); ++it) {
    const std::string_view path = std::string_view(it->first).substr(0, it->first.size() - 1);
    const size_t limit = std::min(prev.size(), path.size());
    size_t shared = 0;
    while (shared < limit && prev[shared] == path[shared]) ++shared;
    PutVarint(&out, shared);
    PutVarint(&out, path.size() - shared);
    out.append(path.substr(shared));
    prev = path;
    PutRegister(&out, IndexOf(stamps, it->second.ts), it->second);
  }
  return out;
}

StatusOr<Document> Document::Decode(std::string_view bytes, int max_depth) {
  Reader r(bytes);
  uint8_t version;
  if (!r.Byte(&version)) return Corrupt("empty input");
  if (version != kVersion1 && version != kVersion2) {
    return InvalidArgumentError("document encoding: unsupported version " +
                                std::to_string(version));
  }
  auto truncated = [&](const char* what) {
    return Corrupt(std::string("truncated ") + what + " at byte " + std::to_string(r.pos()));
  };

  uint64_t tag_count;
  if (!r.Varint(&tag_count)) return truncated("node tag count");
  if (tag_count > r.remaining() / 8) return Corrupt("node tag count exceeds the input");
  std::vector<uint64_t> tags(tag_count);
  for (uint64_t i = 0; i < tag_count; ++i) {
    if (!r.Fixed(8, &tags[i])) return truncated("node tag");
    if (i > 0 && tags[i] <= tags[i - 1]) return Corrupt("node tags not strictly ascending");
  }

  uint64_t stamp_count;
  if (!r.Varint(&stamp_count)) return truncated("timestamp count");
  if (stamp_count > r.remaining()) return Corrupt("timestamp count exceeds the input");
  if (stamp_count > 0 && tag_count == 0) return Corrupt("timestamps without node tags");
  std::vector<Timestamp> stamps(stamp_count);
  for (uint64_t i = 0; i < stamp_count; ++i) {
    uint64_t v;
    if (!r.Varint(&v)) return truncated("timestamp");
    if (i == 0) {
      stamps[i].hlc = v;
    } else {
      if (v > stamps[i - 1].hlc) return Corrupt("timestamp delta out of range");
      stamps[i].hlc = stamps[i - 1].hlc - v;
    }
    uint64_t tag_index = 0;
    if (tag_count > 1 && !r.Varint(&tag_index)) return truncated("timestamp node tag");
    if (tag_index >= tag_count) return Corrupt("node tag index out of range");
    stamps[i].node_tag = tags[tag_index];
    if (i > 0 && !(stamps[i] < stamps[i - 1])) {
      return Corrupt("timestamps not strictly descending");
    }
  }
  auto stamp_at = [&](uint64_t index, Timestamp* ts) {
    if (index >= stamp_count) return false;
    *ts = stamps[index];
    return true;
  };

  Document doc;
  uint64_t ref;
  Timestamp floor;
  if (!r.Varint(&ref)) return truncated("delete register");
  if (ref > 0 && !stamp_at(ref - 1, &floor)) return Corrupt("delete timestamp index");
  if (ref > 0 && floor.IsZero()) return Corrupt("zero delete timestamp");
  doc.deletes_.RaiseFloor(floor);
  // Version 1 keeps only registers newer than its delete register; version 2 keeps covered ones.
  const Timestamp dead_up_to = version == kVersion1 ? floor : Timestamp{};
  if (version == kVersion2) {
    uint64_t seen_count;
    if (!r.Varint(&seen_count)) return truncated("delete context");
    if (seen_count > r.remaining()) return Corrupt("delete context count exceeds the input");
    uint64_t prev_index = 0;
    for (uint64_t i = 0; i < seen_count; ++i) {
      uint64_t index;
      Timestamp ts;
      if (!r.Varint(&index)) return truncated("delete context entry");
      if (!stamp_at(index, &ts)) return Corrupt("delete context timestamp index");
      if (i > 0 && index <= prev_index) return Corrupt("delete context not strictly ascending");
      if (ts <= floor) return Corrupt("delete context entry not above the floor");
      if (doc.deletes_.seen().contains(ts.node_tag)) {
        return Corrupt("delete context names a node tag twice");
      }
      doc.deletes_.Add(ts);
      prev_index = index;
    }
  }
  bool needs_v2 = !doc.deletes_.seen().empty();  // what Encode would write as version 2
  if (!r.Varint(&ref)) return truncated("root register");
  auto hint = doc.registers_.end();
  if (ref > 0) {
    Register root{{}, RegisterKind::kObject, {}};
    if (!stamp_at(ref - 1, &root.ts)) return Corrupt("root timestamp index");
    if (root.ts <= dead_up_to) return Corrupt("register older than the delete register");
    if (root.ts <= floor) needs_v2 = true;
    hint = std::next(doc.registers_.emplace_hint(hint, std::string(), std::move(root)));
  }

  uint64_t count;
  if (!r.Varint(&count)) return truncated("register count");
  if (count > r.remaining() / 3) return Corrupt("register count exceeds the input");
  std::string_view prev;  // previous full encoded path (a key in doc.registers_)
  std::string path;       // scratch
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t shared, suffix_size;
    std::string_view suffix;
    if (!r.Varint(&shared) || !r.Varint(&suffix_size) || !r.Bytes(suffix_size, &suffix)) {
      return truncated("register path");
    }
    if (i == 0 ? shared != 0 : shared > prev.size() - 1) {
      return Corrupt("path prefix out of range");
    }
    path.assign(prev.substr(0, shared));
    path.append(suffix);
    path.push_back('\0');
    if (!IsValidEncodedPath(path) || !IsValidUtf8(path)) {
      return Corrupt("malformed path at byte " + std::to_string(r.pos()));
    }
    if (i > 0 && CompareBytes(path, prev) <= 0) return Corrupt("paths not strictly increasing");
    // The rendered nesting depth of this leaf: the objects around it, plus itself if a container.
    int depth = 0;
    for (char c : path) depth += c == '\0';

    uint8_t head;
    if (!r.Byte(&head)) return truncated("register head");
    Register reg;
    uint64_t ts_index = head >> 4;
    if (ts_index == kTsEscape && !r.Varint(&ts_index)) return truncated("timestamp index");
    if (!stamp_at(ts_index, &reg.ts)) return Corrupt("timestamp index out of range");
    if (reg.ts <= dead_up_to) return Corrupt("register older than the delete register");
    if (reg.ts <= floor) needs_v2 = true;
    const uint8_t code = head & 0x0F;
    uint64_t v;
    std::string_view text;
    switch (code) {
      case kCodeTombstone:
        reg.kind = RegisterKind::kTombstone;
        break;
      case kCodeNull:
        reg.kind = RegisterKind::kNull;
        break;
      case kCodeFalse:
        reg.kind = RegisterKind::kFalse;
        break;
      case kCodeTrue:
        reg.kind = RegisterKind::kTrue;
        break;
      case kCodeObject:
        reg.kind = RegisterKind::kObject;
        ++depth;
        break;
      case kCodeInt64:
        if (!r.Varint(&v)) return truncated("integer");
        reg.kind = RegisterKind::kInt;
        AppendInt64(&reg.value, UnZigZag(v));
        break;
      case kCodeUint64:
        if (!r.Varint(&v)) return truncated("integer");
        reg.kind = RegisterKind::kInt;
        AppendUint64(&reg.value, v);
        break;
      case kCodeDouble:
      case kCodeFloat: {
        if (!r.Fixed(code == kCodeFloat ? 4 : 8, &v)) return truncated("double");
        const double d = code == kCodeFloat
                             ? static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(v)))
                             : std::bit_cast<double>(v);
        if (!std::isfinite(d)) return Corrupt("non-finite double");
        reg.kind = RegisterKind::kDouble;
        AppendDouble(&reg.value, d);
        break;
      }
      case kCodeString:
      case kCodeArray: {
        if (!r.Varint(&v) || !r.Bytes(v, &text)) return truncated("string");
        if (!IsValidUtf8(text)) return Corrupt("invalid UTF-8 in a string value");
        reg.kind = code == kCodeString ? RegisterKind::kString : RegisterKind::kArray;
        reg.value.assign(text);
        if (code == kCodeArray) {
          auto canonical = CanonicalJsonArray(text, std::max(max_depth - depth, 0));
          if (!canonical.ok() || *canonical != text) {
            return Corrupt("malformed array value (or nested deeper than " +
                           std::to_string(max_depth) + ")");
          }
        }
        break;
      }
      default:
        return Corrupt("unknown value code " + std::to_string(code));
    }
    if (depth > max_depth) {
      return Corrupt("document nested deeper than " + std::to_string(max_depth));
    }
    hint = doc.registers_.emplace_hint(hint, path, std::move(reg));
    prev = hint->first;
    ++hint;
  }
  if (r.remaining() != 0) return Corrupt("trailing bytes at byte " + std::to_string(r.pos()));
  // Exactly what Encode writes: a state version 1 can hold is never written as version 2.
  if (version == kVersion2 && !needs_v2) return Corrupt("version 2 state that version 1 holds");
  return doc;
}

}  // namespace peat::crdt

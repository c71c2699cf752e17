#include "store/path_cipher.h"

#include <openssl/crypto.h>

#include <array>

#include "common/base64.h"
#include "crdt/path.h"
#include "crypto/hkdf.h"

namespace peat::store {
namespace {

constexpr std::string_view kHkdfInfo = "peat-node/v1/field-names";
constexpr uint8_t kPadMarker = 0x80;

// Start of the last segment of a non-empty encoded path (0x00 occurs only as a terminator).
size_t LastSegmentStart(std::string_view path) {
  const size_t prev = path.substr(0, path.size() - 1).rfind('\0');
  return prev == std::string_view::npos ? 0 : prev + 1;
}

// True if `pred` holds for some encoded segment (without its terminator) of `path`.
template <typename Pred>
bool AnySegment(std::string_view path, const Pred& pred) {
  size_t start = 0;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '\x01') {
      ++i;  // an escape's second byte is never 0x00
    } else if (path[i] == '\0') {
      if (pred(path.substr(start, i - start))) return true;
      start = i + 1;
    }
  }
  return false;
}

// Converts `path` segment by segment: its parent through the memo (or recursively), then its
// last segment through `convert(input_parent, output_parent, encoded_segment, out)`, which
// appends the converted encoded segment to `out`.
template <typename Convert>
StatusOr<std::string> ConvertPath(std::string_view path, PathCipher::Memo* memo,
                                  const Convert& convert) {
  if (path.empty()) return std::string();
  const size_t start = LastSegmentStart(path);
  const std::string_view parent = path.substr(0, start);
  std::string out;
  if (!parent.empty()) {
    const std::string* cached = nullptr;
    if (memo != nullptr) {
      auto it = memo->find(parent);
      if (it != memo->end()) cached = &it->second;
    }
    if (cached != nullptr) {
      out = *cached;
    } else {
      auto converted = ConvertPath(parent, memo, convert);
      if (!converted.ok()) return converted.status();
      out = std::move(converted).value();
      if (memo != nullptr) memo->emplace(std::string(parent), out);
    }
  }
  const std::string_view segment = path.substr(start, path.size() - 1 - start);
  // `convert` reads the output parent (a view of `out`) before it appends to `out`.
  const std::string_view out_parent = out;
  PEAT_RETURN_IF_ERROR(convert(parent, out_parent, segment, out));
  return out;
}

}  // namespace

StatusOr<PathCipher> PathCipher::Create(const SecureBytes& key) {
  if (key.size() != 32) return InvalidArgumentError("encryption key must be 32 bytes");
  auto sub = HkdfSha256(key.span(), {}, AsBytes(kHkdfInfo), Aes256SivKey::kKeyBytes);
  if (!sub.ok()) return sub.status();
  auto siv = Aes256SivKey::Create(std::move(sub).value());
  if (!siv.ok()) return siv.status();
  return PathCipher(std::move(siv).value());
}

bool PathCipher::IsOpaquePath(std::string_view encoded_path) {
  return !AnySegment(encoded_path, [](std::string_view s) { return !IsTokenSegment(s); });
}

bool PathCipher::HasTokenSegment(std::string_view encoded_path) {
  return AnySegment(encoded_path, IsTokenSegment);
}

StatusOr<std::string> PathCipher::EncryptKey(std::string_view collection, std::string_view doc_id,
                                             std::string_view plain_parent,
                                             std::string_view key) const {
  // ISO/IEC 7816-4 padding: 0x80, then zeros up to the next multiple of kPadBytes (always at
  // least one byte, so the SIV plaintext is never empty).
  std::string padded;
  padded.reserve((key.size() / kPadBytes + 1) * kPadBytes);
  padded.append(key);
  padded.push_back(static_cast<char>(kPadMarker));
  padded.resize((key.size() / kPadBytes + 1) * kPadBytes, '\0');
  const std::array<std::string_view, 3> ad = {collection, doc_id, plain_parent};
  auto sealed = key_.Seal(ad, padded);
  OPENSSL_cleanse(padded.data(), padded.size());
  if (!sealed.ok()) return sealed.status();
  std::string token(kPrefix);
  token += Base64UrlEncode({reinterpret_cast<const uint8_t*>(sealed->data()), sealed->size()});
  return token;
}

StatusOr<std::string> PathCipher::DecryptKey(std::string_view collection, std::string_view doc_id,
                                             std::string_view plain_parent,
                                             std::string_view token) const {
  if (!token.starts_with(kPrefix)) return FailedPreconditionError("cannot decrypt: not a token");
  auto raw = Base64UrlDecode(token.substr(kPrefix.size()));
  if (!raw.ok() || raw->size() < Aes256SivKey::kTagBytes + kPadBytes ||
      (raw->size() - Aes256SivKey::kTagBytes) % kPadBytes != 0) {
    return FailedPreconditionError("cannot decrypt: malformed field name token");
  }
  const std::array<std::string_view, 3> ad = {collection, doc_id, plain_parent};
  auto padded =
      key_.Open(ad, std::string_view(reinterpret_cast<const char*>(raw->data()), raw->size()));
  if (!padded.ok()) {
    return FailedPreconditionError("cannot decrypt: wrong key or corrupted field name");
  }
  const size_t marker = padded->find_last_not_of('\0');
  if (marker == std::string::npos || static_cast<uint8_t>((*padded)[marker]) != kPadMarker ||
      padded->size() - marker > kPadBytes) {
    return FailedPreconditionError("cannot decrypt: bad field name padding");
  }
  padded->resize(marker);
  return std::move(padded).value();
}

StatusOr<std::string> PathCipher::EncryptPath(std::string_view collection, std::string_view doc_id,
                                              std::string_view plain_path, Memo* memo) const {
  return ConvertPath(plain_path, memo,
                     [&](std::string_view plain_parent, std::string_view, std::string_view segment,
                         std::string& out) -> Status {
                       std::string key;
                       crdt::AppendUnescapedSegment(&key, segment);
                       auto token = EncryptKey(collection, doc_id, plain_parent, key);
                       if (!token.ok()) return token.status();
                       crdt::AppendPathSegment(&out, *token);
                       return Status::Ok();
                     });
}

StatusOr<std::string> PathCipher::DecryptPath(std::string_view collection, std::string_view doc_id,
                                              std::string_view stored_path, Memo* memo) const {
  return ConvertPath(stored_path, memo,
                     [&](std::string_view, std::string_view plain_parent, std::string_view segment,
                         std::string& out) -> Status {
                       if (!IsTokenSegment(segment)) {  // a clear name stays as it is
                         out.append(segment);
                         out.push_back('\0');
                         return Status::Ok();
                       }
                       auto key = DecryptKey(collection, doc_id, plain_parent, segment);
                       if (!key.ok()) return key.status();
                       crdt::AppendPathSegment(&out, *key);
                       return Status::Ok();
                     });
}

}  // namespace peat::store

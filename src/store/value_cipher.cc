#include "store/value_cipher.h"

#include <openssl/crypto.h>

#include "common/base64.h"
#include "crypto/hkdf.h"

namespace peat::store {
namespace {

constexpr std::string_view kHkdfInfo = "peat-node/v1/document-values";

bool KnownValueKind(uint8_t k) {
  return k >= static_cast<uint8_t>(crdt::RegisterKind::kNull) &&
         k <= static_cast<uint8_t>(crdt::RegisterKind::kArray);
}

}  // namespace

StatusOr<ValueCipher> ValueCipher::Create(const SecureBytes& key) {
  if (key.size() != Aes256GcmKey::kKeyBytes) {
    return InvalidArgumentError("encryption key must be 32 bytes");
  }
  auto sub = HkdfSha256(key.span(), {}, AsBytes(kHkdfInfo), Aes256GcmKey::kKeyBytes);
  if (!sub.ok()) return sub.status();
  auto aes = Aes256GcmKey::Create(std::move(sub).value());
  if (!aes.ok()) return aes.status();
  return ValueCipher(std::move(aes).value());
}

bool ValueCipher::IsEncrypted(const crdt::Register& reg) {
  return reg.kind == crdt::RegisterKind::kString && reg.value.starts_with(kPrefix);
}

std::string ValueCipher::Aad(std::string_view collection, std::string_view doc_id,
                             std::string_view path) {
  std::string aad;
  aad.reserve(collection.size() + doc_id.size() + path.size() + 2);
  aad.append(collection);
  aad.push_back('\0');
  aad.append(doc_id);
  aad.push_back('\0');
  aad.append(path);
  return aad;
}

StatusOr<std::string> ValueCipher::Seal(std::string_view aad, const crdt::Register& reg) const {
  std::string plain;
  plain.reserve(1 + reg.value.size());
  plain.push_back(static_cast<char>(reg.kind));
  plain.append(reg.value);
  auto sealed = key_.Seal(plain, aad);
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!sealed.ok()) return sealed.status();
  std::string out(kPrefix);
  out += Base64Encode({reinterpret_cast<const uint8_t*>(sealed->data()), sealed->size()});
  return out;
}

Status ValueCipher::Open(std::string_view aad, crdt::Register& reg) const {
  auto raw = Base64Decode(std::string_view(reg.value).substr(kPrefix.size()));
  if (!raw.ok()) return FailedPreconditionError("cannot decrypt: malformed encrypted value");
  auto plain =
      key_.Open(std::string_view(reinterpret_cast<const char*>(raw->data()), raw->size()), aad);
  if (!plain.ok()) return FailedPreconditionError("cannot decrypt: wrong key or corrupted value");
  if (plain->empty() || !KnownValueKind(static_cast<uint8_t>((*plain)[0]))) {
    return FailedPreconditionError("cannot decrypt: unknown value kind");
  }
  reg.kind = static_cast<crdt::RegisterKind>((*plain)[0]);
  reg.value.assign(*plain, 1);
  return Status::Ok();
}

}  // namespace peat::store

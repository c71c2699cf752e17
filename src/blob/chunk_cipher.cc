#include "blob/chunk_cipher.h"

#include "crypto/hkdf.h"

namespace peat::blob {
namespace {

constexpr std::string_view kChunkKeyInfo = "peat-blob chunk key v1";
constexpr std::string_view kKeyCheckInfo = "peat-blob key check v1";
constexpr std::string_view kKeyCheckText = "peat-blob key check";

std::string IndexAad(uint64_t index) {
  std::string aad(8, '\0');
  for (int i = 0; i < 8; ++i) aad[i] = static_cast<char>((index >> (8 * (7 - i))) & 0xff);
  return aad;
}

}  // namespace

StatusOr<ChunkCipher> ChunkCipher::Create(SecureBytes node_key) {
  if (node_key.size() != Aes256GcmKey::kKeyBytes) {
    return InvalidArgumentError("blob store: the encryption key must be 32 bytes");
  }
  return ChunkCipher(std::move(node_key));
}

StatusOr<Aes256GcmKey> ChunkCipher::BlobKey(const BlobRoot& root) const {
  PEAT_ASSIGN_OR_RETURN(SecureBytes key, HkdfSha256(node_key_.span(), root, AsBytes(kChunkKeyInfo),
                                                    Aes256GcmKey::kKeyBytes));
  return Aes256GcmKey::Create(std::move(key));
}

StatusOr<std::string> ChunkCipher::Seal(const Aes256GcmKey& key, uint64_t index,
                                        std::string_view plaintext) {
  return key.Seal(plaintext, IndexAad(index));
}

StatusOr<std::string> ChunkCipher::Open(const Aes256GcmKey& key, uint64_t index,
                                        std::string_view stored) {
  return key.Open(stored, IndexAad(index));
}

StatusOr<Aes256GcmKey> ChunkCipher::KeyCheckKey() const {
  PEAT_ASSIGN_OR_RETURN(SecureBytes key, HkdfSha256(node_key_.span(), {}, AsBytes(kKeyCheckInfo),
                                                    Aes256GcmKey::kKeyBytes));
  return Aes256GcmKey::Create(std::move(key));
}

StatusOr<std::string> ChunkCipher::MakeKeyCheck() const {
  PEAT_ASSIGN_OR_RETURN(Aes256GcmKey key, KeyCheckKey());
  return key.Seal(kKeyCheckText, kKeyCheckInfo);
}

Status ChunkCipher::VerifyKeyCheck(std::string_view check) const {
  PEAT_ASSIGN_OR_RETURN(Aes256GcmKey key, KeyCheckKey());
  auto text = key.Open(check, kKeyCheckInfo);
  if (!text.ok() || *text != kKeyCheckText) {
    return FailedPreconditionError(
        "blob store: wrong encryption key (the blobs were stored under another key)");
  }
  return Status::Ok();
}

}  // namespace peat::blob

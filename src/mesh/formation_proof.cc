#include "mesh/formation_proof.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "common/hex.h"
#include "crypto/hkdf.h"

namespace peat::mesh {
namespace {

constexpr std::string_view kFormationInfo = "peat-mesh formation v1";
constexpr std::string_view kProofLabel = "peat-mesh proof v1";
constexpr std::string_view kAppIdLabel = "peat-mesh app-id v1";
constexpr size_t kEndpointIdBytes = 32;

// 64 hex chars → 32 bytes into `out`.
Status DecodeEndpointId(std::string_view hex, const char* which, uint8_t* out) {
  if (!HexDecode(hex, {out, kEndpointIdBytes})) {
    return InvalidArgumentError(std::string("formation proof: ") + which +
                                " endpoint id must be 64 hex characters");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<FormationKey> FormationKey::Derive(std::string_view app_id,
                                            std::span<const uint8_t> shared_key) {
  // HkdfSha256 refuses empty IKM: "no shared key" is 32 zero bytes (see the header).
  static constexpr uint8_t kNoSharedKey[kKeySize] = {};
  std::span<const uint8_t> ikm =
      shared_key.empty() ? std::span<const uint8_t>(kNoSharedKey) : shared_key;
  PEAT_ASSIGN_OR_RETURN(SecureBytes key,
                        HkdfSha256(ikm, AsBytes(app_id), AsBytes(kFormationInfo), kKeySize));
  return FormationKey(std::move(key));
}

StatusOr<FormationKey::Proof> FormationKey::Prove(FormationRole role,
                                                  std::span<const uint8_t, 32> channel_binding,
                                                  std::string_view dialer_id_hex,
                                                  std::string_view listener_id_hex) const {
  // label || role || binding || dialer || listener
  std::array<uint8_t, kProofLabel.size() + 1 + kChannelBindingSize + 2 * kEndpointIdBytes> msg{};
  uint8_t* p = msg.data();
  std::memcpy(p, kProofLabel.data(), kProofLabel.size());
  p += kProofLabel.size();
  *p++ = static_cast<uint8_t>(role);
  std::memcpy(p, channel_binding.data(), kChannelBindingSize);
  p += kChannelBindingSize;
  PEAT_RETURN_IF_ERROR(DecodeEndpointId(dialer_id_hex, "dialer", p));
  p += kEndpointIdBytes;
  PEAT_RETURN_IF_ERROR(DecodeEndpointId(listener_id_hex, "listener", p));

  Proof proof{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), msg.data(), msg.size(),
           proof.data(), &len) == nullptr ||
      len != proof.size()) {
    return InternalError("formation proof: HMAC-SHA256 failed");
  }
  return proof;
}

bool FormationKey::Verify(FormationRole role, std::span<const uint8_t, 32> channel_binding,
                          std::string_view dialer_id_hex, std::string_view listener_id_hex,
                          std::string_view proof) const {
  if (proof.size() != kProofSize) return false;
  StatusOr<Proof> expected = Prove(role, channel_binding, dialer_id_hex, listener_id_hex);
  if (!expected.ok()) return false;
  return CRYPTO_memcmp(expected->data(), proof.data(), kProofSize) == 0;
}

std::array<uint8_t, 16> AppIdHash(std::string_view app_id) {
  std::array<uint8_t, 16> out{};
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, kAppIdLabel.data(), kAppIdLabel.size()) == 1 &&
                  EVP_DigestUpdate(ctx, app_id.data(), app_id.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, digest, &len) == 1 && len == 32;
  EVP_MD_CTX_free(ctx);
  // SHA-256 over memory cannot fail short of the library being broken: crash loudly.
  if (!ok) std::abort();
  std::memcpy(out.data(), digest, out.size());
  return out;
}

}  // namespace peat::mesh

#include "crypto/aead.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <memory>

#include "crypto/openssl_error.h"
#include "crypto/random.h"

namespace peat {
namespace {

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

// Fetched once (OpenSSL 3 explicit fetch avoids a provider lookup per call); never freed.
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

const unsigned char* U8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

StatusOr<Aes256GcmKey> Aes256GcmKey::Create(SecureBytes key) {
  if (key.size() != kKeyBytes) {
    return InvalidArgumentError("AES-256-GCM key must be 32 bytes, got " +
                                std::to_string(key.size()));
  }
  return Aes256GcmKey(std::move(key));
}

StatusOr<std::string> Aes256GcmKey::Seal(std::string_view plaintext, std::string_view aad) const {
  if (plaintext.size() > INT_MAX - kOverheadBytes || aad.size() > INT_MAX) {
    return InvalidArgumentError("AES-256-GCM input too large");
  }
  const EVP_CIPHER* cipher = Aes256Gcm();
  if (cipher == nullptr) return crypto_internal::OpenSslError("AES-256-GCM unavailable");
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  PEAT_RETURN_IF_ERROR(RandomBytes({o, kNonceBytes}));

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), cipher, key_.data(), o, nullptr) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx.get(), nullptr, &len, U8(aad), static_cast<int>(aad.size())) != 1)) {
    return crypto_internal::OpenSslError("AES-256-GCM encrypt init failed");
  }
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), o + kNonceBytes, &len, U8(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return crypto_internal::OpenSslError("AES-256-GCM encrypt failed");
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), o + kNonceBytes + written, &len) != 1 ||
      static_cast<size_t>(written + len) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          o + kNonceBytes + plaintext.size()) != 1) {
    return crypto_internal::OpenSslError("AES-256-GCM encrypt final failed");
  }
  return out;
}

StatusOr<std::string> Aes256GcmKey::Open(std::string_view sealed, std::string_view aad) const {
  if (sealed.size() < kOverheadBytes) {
    return FailedPreconditionError("cannot decrypt: ciphertext too short");
  }
  if (sealed.size() > INT_MAX || aad.size() > INT_MAX) {
    return InvalidArgumentError("AES-256-GCM input too large");
  }
  const EVP_CIPHER* cipher = Aes256Gcm();
  if (cipher == nullptr) return crypto_internal::OpenSslError("AES-256-GCM unavailable");
  const size_t ct_len = sealed.size() - kOverheadBytes;
  const unsigned char* nonce = U8(sealed);
  const unsigned char* ct = nonce + kNonceBytes;
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer; copy the tag instead of casting const away.
  unsigned char tag[kTagBytes];
  std::copy_n(ct + ct_len, kTagBytes, tag);

  std::string out(ct_len, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex2(ctx.get(), cipher, key_.data(), nonce, nullptr) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx.get(), nullptr, &len, U8(aad), static_cast<int>(aad.size())) != 1)) {
    return crypto_internal::OpenSslError("AES-256-GCM decrypt init failed");
  }
  int written = 0;
  if (ct_len > 0) {
    if (EVP_DecryptUpdate(ctx.get(), o, &len, ct, static_cast<int>(ct_len)) != 1) {
      return crypto_internal::OpenSslError("AES-256-GCM decrypt failed");
    }
    written = len;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag) != 1) {
    return crypto_internal::OpenSslError("AES-256-GCM set tag failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), o + written, &len) != 1) {
    // Authentication failure: do not leave unauthenticated plaintext behind.
    std::fill(out.begin(), out.end(), '\0');
    ERR_clear_error();
    return FailedPreconditionError("cannot decrypt: authentication failed (wrong key or data)");
  }
  return out;
}

}  // namespace peat

#include "crypto/siv.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <memory>

#include "crypto/openssl_error.h"

namespace peat {
namespace {

struct FreeCtx {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using LocalCtx = std::unique_ptr<EVP_CIPHER_CTX, FreeCtx>;

// A fresh context holding a copy of `keyed` (its key schedule and empty S2V state).
LocalCtx CopyOf(EVP_CIPHER_CTX* keyed) {
  LocalCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx && EVP_CIPHER_CTX_copy(ctx.get(), keyed) != 1) ctx.reset();
  return ctx;
}

// Fetched once; never freed.
const EVP_CIPHER* Aes256Siv() {
  static const EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-SIV", nullptr);
  return cipher;
}

const unsigned char* U8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

bool TooLarge(std::span<const std::string_view> ad, size_t text) {
  return text > INT_MAX ||
         std::any_of(ad.begin(), ad.end(), [](std::string_view a) { return a.size() > INT_MAX; });
}

// Feeds every associated-data component (each one S2V input, even when empty).
bool FeedAd(EVP_CIPHER_CTX* ctx, std::span<const std::string_view> ad, bool encrypt) {
  int len = 0;
  for (std::string_view a : ad) {
    const int rc = encrypt
                       ? EVP_EncryptUpdate(ctx, nullptr, &len, U8(a), static_cast<int>(a.size()))
                       : EVP_DecryptUpdate(ctx, nullptr, &len, U8(a), static_cast<int>(a.size()));
    if (rc != 1) return false;
  }
  return true;
}

}  // namespace

void Aes256SivKey::CtxDeleter::operator()(evp_cipher_ctx_st* c) const { EVP_CIPHER_CTX_free(c); }

Aes256SivKey::~Aes256SivKey() = default;

StatusOr<Aes256SivKey> Aes256SivKey::Create(SecureBytes key) {
  if (key.size() != kKeyBytes) {
    return InvalidArgumentError("AES-256-SIV key must be 64 bytes, got " +
                                std::to_string(key.size()));
  }
  const EVP_CIPHER* cipher = Aes256Siv();
  if (cipher == nullptr) return crypto_internal::OpenSslError("AES-256-SIV unavailable");
  CtxPtr encrypt(EVP_CIPHER_CTX_new());
  CtxPtr decrypt(EVP_CIPHER_CTX_new());
  if (!encrypt || !decrypt ||
      EVP_EncryptInit_ex2(encrypt.get(), cipher, key.data(), nullptr, nullptr) != 1 ||
      EVP_DecryptInit_ex2(decrypt.get(), cipher, key.data(), nullptr, nullptr) != 1) {
    return crypto_internal::OpenSslError("AES-256-SIV key setup failed");
  }
  return Aes256SivKey(std::move(encrypt), std::move(decrypt));
}

StatusOr<std::string> Aes256SivKey::Seal(std::span<const std::string_view> ad,
                                         std::string_view plaintext) const {
  if (plaintext.empty()) return InvalidArgumentError("AES-256-SIV plaintext must not be empty");
  if (TooLarge(ad, plaintext.size() + kTagBytes)) {
    return InvalidArgumentError("AES-256-SIV input too large");
  }
  std::string out(kTagBytes + plaintext.size(), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  LocalCtx ctx = CopyOf(encrypt_.get());
  if (!ctx || !FeedAd(ctx.get(), ad, /*encrypt=*/true)) {
    return crypto_internal::OpenSslError("AES-256-SIV encrypt init failed");
  }
  int len = 0;
  int fin = 0;
  if (EVP_EncryptUpdate(ctx.get(), o + kTagBytes, &len, U8(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + kTagBytes + len, &fin) != 1 ||
      static_cast<size_t>(len + fin) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagBytes), o) != 1) {
    return crypto_internal::OpenSslError("AES-256-SIV encrypt failed");
  }
  return out;
}

StatusOr<std::string> Aes256SivKey::Open(std::span<const std::string_view> ad,
                                         std::string_view sealed) const {
  if (sealed.size() <= kTagBytes) {
    return FailedPreconditionError("cannot decrypt: ciphertext too short");
  }
  if (TooLarge(ad, sealed.size())) return InvalidArgumentError("AES-256-SIV input too large");
  const size_t ct_len = sealed.size() - kTagBytes;
  // EVP_CTRL_AEAD_SET_TAG takes a non-const pointer; copy the tag instead of casting const away.
  unsigned char tag[kTagBytes];
  std::copy_n(U8(sealed), kTagBytes, tag);
  std::string out(ct_len, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  LocalCtx ctx = CopyOf(decrypt_.get());
  if (!ctx ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagBytes), tag) !=
          1 ||
      !FeedAd(ctx.get(), ad, /*encrypt=*/false)) {
    return crypto_internal::OpenSslError("AES-256-SIV decrypt init failed");
  }
  int len = 0;
  int fin = 0;
  // SIV verifies the tag in the (single) update call; final reports it again.
  if (EVP_DecryptUpdate(ctx.get(), o, &len, U8(sealed) + kTagBytes, static_cast<int>(ct_len)) !=
          1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + len, &fin) != 1) {
    OPENSSL_cleanse(out.data(), out.size());  // no unauthenticated plaintext left behind
    ERR_clear_error();
    return FailedPreconditionError("cannot decrypt: authentication failed (wrong key or data)");
  }
  return out;
}

}  // namespace peat

#include "crypto/ed25519.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/openssl_error.h"
#include "crypto/random.h"

namespace peat {
namespace {

using crypto_internal::OpenSslError;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::shared_ptr<EVP_PKEY> WrapPkey(EVP_PKEY* p) {
  return {p, [](EVP_PKEY* k) { EVP_PKEY_free(k); }};
}

}  // namespace

StatusOr<Ed25519Key> Ed25519Key::FromSeed(std::span<const uint8_t> seed) {
  if (seed.size() != kSeedSize) {
    return InvalidArgumentError("ed25519: seed must be exactly 32 bytes");
  }
  EVP_PKEY* raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (raw == nullptr) return OpenSslError("ed25519: EVP_PKEY_new_raw_private_key failed");
  std::shared_ptr<EVP_PKEY> pkey = WrapPkey(raw);
  PublicKeyBytes pub{};
  size_t pub_len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &pub_len) != 1 || pub_len != pub.size()) {
    return OpenSslError("ed25519: EVP_PKEY_get_raw_public_key failed");
  }
  return Ed25519Key(SecureBytes(seed), pub, std::move(pkey));
}

StatusOr<Ed25519Key> Ed25519Key::Generate() {
  SecureBytes seed(kSeedSize);
  PEAT_RETURN_IF_ERROR(RandomBytes(seed.span()));
  return FromSeed(seed.span());
}

Ed25519Key::Ed25519Key(const Ed25519Key& other)
    : seed_(other.seed_.Copy()), public_key_(other.public_key_), pkey_(other.pkey_) {}

Ed25519Key& Ed25519Key::operator=(const Ed25519Key& other) {
  if (this != &other) {
    seed_ = other.seed_.Copy();
    public_key_ = other.public_key_;
    pkey_ = other.pkey_;
  }
  return *this;
}

StatusOr<Ed25519Key::Signature> Ed25519Key::Sign(std::span<const uint8_t> message) const {
  if (!pkey_) return FailedPreconditionError("ed25519: key is empty (moved from)");
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslError("ed25519: EVP_MD_CTX_new failed");
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) != 1) {
    return OpenSslError("ed25519: EVP_DigestSignInit failed");
  }
  Signature sig{};
  size_t sig_len = sig.size();
  if (EVP_DigestSign(ctx.get(), sig.data(), &sig_len, message.data(), message.size()) != 1 ||
      sig_len != sig.size()) {
    return OpenSslError("ed25519: EVP_DigestSign failed");
  }
  return sig;
}

bool Ed25519Key::Verify(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                        std::span<const uint8_t> signature) {
  if (public_key.size() != kPublicKeySize || signature.size() != kSignatureSize) return false;
  std::shared_ptr<EVP_PKEY> pkey = WrapPkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  if (!pkey) {
    ERR_clear_error();
    return false;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                             message.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace peat

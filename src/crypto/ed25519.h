// Ed25519Key: an Ed25519 signing key (RFC 8032) backed by OpenSSL 3.
//
// Holds the 32-byte seed (the "secret key" in RFC 8032 terms; wiped on destruction), the
// 32-byte public key and the OpenSSL key object. Copyable (copies share the immutable OpenSSL
// key). Immutable after construction, so concurrent Sign() calls from many threads are safe.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "common/status.h"
#include "crypto/secure_bytes.h"

namespace peat {

class Ed25519Key {
 public:
  static constexpr size_t kSeedSize = 32;
  static constexpr size_t kPublicKeySize = 32;
  static constexpr size_t kSignatureSize = 64;
  using PublicKeyBytes = std::array<uint8_t, kPublicKeySize>;
  using Signature = std::array<uint8_t, kSignatureSize>;

  // INVALID_ARGUMENT unless `seed` is exactly 32 bytes.
  static StatusOr<Ed25519Key> FromSeed(std::span<const uint8_t> seed);
  // A fresh key from the OpenSSL CSPRNG.
  static StatusOr<Ed25519Key> Generate();

  Ed25519Key(const Ed25519Key& other);
  Ed25519Key& operator=(const Ed25519Key& other);
  Ed25519Key(Ed25519Key&&) noexcept = default;
  Ed25519Key& operator=(Ed25519Key&&) noexcept = default;
  ~Ed25519Key() = default;

  const SecureBytes& Seed() const { return seed_; }
  const PublicKeyBytes& PublicKey() const { return public_key_; }

  StatusOr<Signature> Sign(std::span<const uint8_t> message) const;
  // False for a wrong-sized key or signature, or a signature that does not verify.
  static bool Verify(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                     std::span<const uint8_t> signature);

  // The OpenSSL key (owned by this object and its copies), e.g. for a self-signed TLS
  // certificate. Callers must not modify or free it.
  EVP_PKEY* NativeHandle() const { return pkey_.get(); }

 private:
  Ed25519Key(SecureBytes seed, PublicKeyBytes public_key, std::shared_ptr<EVP_PKEY> pkey)
      : seed_(std::move(seed)), public_key_(public_key), pkey_(std::move(pkey)) {}

  SecureBytes seed_;
  PublicKeyBytes public_key_{};
  std::shared_ptr<EVP_PKEY> pkey_;
};

}  // namespace peat

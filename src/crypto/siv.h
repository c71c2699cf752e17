// AES-256-SIV deterministic authenticated encryption (RFC 5297, "AES-SIV-CMAC-512"; OpenSSL 3
// EVP "AES-256-SIV") with a key that wipes itself.
//
// Aes256SivKey holds exactly 64 bytes of key material (the CMAC half, then the CTR half) in a
// SecureBytes. Seal is deterministic: equal (associated data, plaintext) give equal output, which
// is the point (equal inputs must meet, e.g. encrypted field names) and also what it reveals
// (equality of inputs under the same associated data). Output = tag(16) || ciphertext, the
// ciphertext as long as the plaintext. `ad` is a vector of components (RFC 5297 S2V), so no
// separator is needed between them. The plaintext must not be empty. Open authenticates before
// returning anything.
// Thread-safe: Seal/Open are const; each call copies one of two EVP contexts that were keyed once
// at Create (OpenSSL's SIV key setup fetches CMAC and CTR implementations, so a copy of a keyed
// context costs about half of a fresh one); the templates are only ever read.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "crypto/secure_bytes.h"

struct evp_cipher_ctx_st;  // OpenSSL's EVP_CIPHER_CTX

namespace peat {

class Aes256SivKey {
 public:
  static constexpr size_t kKeyBytes = 64;
  static constexpr size_t kTagBytes = 16;

  // Takes ownership of `key` (moved in). INVALID_ARGUMENT unless 64 bytes.
  static StatusOr<Aes256SivKey> Create(SecureBytes key);

  Aes256SivKey(Aes256SivKey&&) noexcept = default;
  Aes256SivKey& operator=(Aes256SivKey&&) noexcept = default;
  ~Aes256SivKey();
  Aes256SivKey(const Aes256SivKey&) = delete;
  Aes256SivKey& operator=(const Aes256SivKey&) = delete;

  // tag || ciphertext. INVALID_ARGUMENT for an empty or oversized plaintext, INTERNAL if OpenSSL
  // fails.
  StatusOr<std::string> Seal(std::span<const std::string_view> ad,
                             std::string_view plaintext) const;
  // The plaintext of a Seal output under the same `ad`. FAILED_PRECONDITION ("cannot decrypt:
  // ...") when the input is too short or does not authenticate (wrong key, other associated data,
  // tampering).
  StatusOr<std::string> Open(std::span<const std::string_view> ad, std::string_view sealed) const;

 private:
  struct CtxDeleter {
    void operator()(evp_cipher_ctx_st* c) const;
  };
  using CtxPtr = std::unique_ptr<evp_cipher_ctx_st, CtxDeleter>;
  Aes256SivKey(CtxPtr encrypt, CtxPtr decrypt)
      : encrypt_(std::move(encrypt)), decrypt_(std::move(decrypt)) {}
  // Keyed templates (the key schedule lives only in them; freeing them wipes it).
  CtxPtr encrypt_;
  CtxPtr decrypt_;
};

}  // namespace peat

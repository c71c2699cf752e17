// AES-256-GCM authenticated encryption (OpenSSL 3 EVP) with a key that wipes itself.
//
// Aes256GcmKey holds exactly 32 bytes of key material in a SecureBytes (wiped on destruction,
// move-only, never logged). Seal draws a fresh random 96-bit nonce per call and returns
// nonce(12) || ciphertext || tag(16); Open authenticates the associated data and the ciphertext
// before returning any plaintext. With random nonces one key must stay well below 2^32 Seal calls
// (NIST SP 800-38D); per-leaf document encryption on one node is far below that.
// Thread-safe: Seal/Open are const and use a fresh EVP context per call.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"
#include "crypto/secure_bytes.h"

namespace peat {

class Aes256GcmKey {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kNonceBytes = 12;
  static constexpr size_t kTagBytes = 16;
  static constexpr size_t kOverheadBytes = kNonceBytes + kTagBytes;

  // Takes ownership of `key` (moved in, so no copy lingers). INVALID_ARGUMENT unless 32 bytes.
  static StatusOr<Aes256GcmKey> Create(SecureBytes key);

  Aes256GcmKey(Aes256GcmKey&&) noexcept = default;
  Aes256GcmKey& operator=(Aes256GcmKey&&) noexcept = default;
  Aes256GcmKey(const Aes256GcmKey&) = delete;
  Aes256GcmKey& operator=(const Aes256GcmKey&) = delete;

  // nonce || ciphertext || tag. INTERNAL if OpenSSL or the CSPRNG fails.
  StatusOr<std::string> Seal(std::string_view plaintext, std::string_view aad) const;
  // The plaintext of a Seal output. FAILED_PRECONDITION ("cannot decrypt: ...") when the input is
  // too short, or the tag does not verify (wrong key, wrong associated data, tampering).
  StatusOr<std::string> Open(std::string_view sealed, std::string_view aad) const;

 private:
  explicit Aes256GcmKey(SecureBytes key) : key_(std::move(key)) {}
  SecureBytes key_;
};

}  // namespace peat

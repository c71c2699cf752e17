// ChunkCipher: blob chunks at rest under --encryption-key (ATTACHMENTS.md §20 decision 6).
//
// Each blob has its own AES-256-GCM key, HKDF-SHA256(IKM = node encryption key, salt = root,
// info = "peat-blob chunk key v1"); a stored chunk is nonce(12) ‖ ciphertext ‖ tag(16) with the
// chunk index (u64 BE) as associated data, so a chunk moved to another index or another blob
// does not open. The key check (a fixed text sealed under a key derived with info
// "peat-blob key check v1") lets the store refuse a wrong key at open instead of at the first read.
//
// Errors: INVALID_ARGUMENT for a key that is not 32 bytes; FAILED_PRECONDITION when a chunk or the
// key check does not open (wrong key, tampering); INTERNAL if OpenSSL fails.
// Thread-safe: all methods are const.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "blob/manifest.h"
#include "common/status.h"
#include "crypto/aead.h"
#include "crypto/secure_bytes.h"

namespace peat::blob {

class ChunkCipher {
 public:
  static constexpr uint32_t kOverheadBytes = Aes256GcmKey::kOverheadBytes;

  static StatusOr<ChunkCipher> Create(SecureBytes node_key);

  // The per-blob key.
  StatusOr<Aes256GcmKey> BlobKey(const BlobRoot& root) const;
  static StatusOr<std::string> Seal(const Aes256GcmKey& key, uint64_t index,
                                    std::string_view plaintext);
  static StatusOr<std::string> Open(const Aes256GcmKey& key, uint64_t index,
                                    std::string_view stored);

  StatusOr<std::string> MakeKeyCheck() const;
  // FAILED_PRECONDITION ("wrong encryption key") unless `check` came from MakeKeyCheck of this key.
  Status VerifyKeyCheck(std::string_view check) const;

 private:
  explicit ChunkCipher(SecureBytes node_key) : node_key_(std::move(node_key)) {}
  StatusOr<Aes256GcmKey> KeyCheckKey() const;
  SecureBytes node_key_;
};

}  // namespace peat::blob

// ValueCipher: per-leaf encryption of document register values (BEHAVIOR.md "Encryption").
//
// With a key, every non-object register value is stored as the string
//   "ENC:v1:" + base64(nonce(12) || AES-256-GCM(kind byte || value) || tag(16))
// so the register kind is hidden inside the plaintext (outside it is always "string"), and the
// associated data binds the value to its place: collection "\0" doc_id "\0" encoded PLAINTEXT
// path (the path before PathCipher makes its names opaque; DocumentCipher combines the two). On a
// node without the key the values read back as the "ENC:v1:..." strings.
//
// The AES key is derived from the --encryption-key with HKDF-SHA256 (no salt, info
// "peat-node/v1/document-values") so the raw key can serve other purposes without key reuse.
// Thread-safe (const methods only after construction).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "crdt/document.h"
#include "crypto/aead.h"
#include "crypto/secure_bytes.h"

namespace peat::store {

class ValueCipher {
 public:
  static constexpr std::string_view kPrefix = "ENC:v1:";

  // `key` must be 32 bytes (INVALID_ARGUMENT otherwise).
  static StatusOr<ValueCipher> Create(const SecureBytes& key);

  static bool IsEncrypted(const crdt::Register& reg);

  // One register value (DocumentCipher seals and opens through these).
  StatusOr<std::string> Seal(std::string_view aad, const crdt::Register& reg) const;
  Status Open(std::string_view aad, crdt::Register& reg) const;
  static std::string Aad(std::string_view collection, std::string_view doc_id,
                         std::string_view path);

 private:
  explicit ValueCipher(Aes256GcmKey key) : key_(std::move(key)) {}
  Aes256GcmKey key_;
};

}  // namespace peat::store

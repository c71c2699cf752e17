// ValueCipher: per-leaf encryption of document register values (BEHAVIOR.md "Encryption").
//
// With a key, every non-object register value is stored as the string
//   "ENC:v1:" + base64(nonce(12) || AES-256-GCM(kind byte || value) || tag(16))
// so the register kind is hidden inside the plaintext (outside it is always "string"), and the
// associated data binds the value to its place: collection "\0" doc_id "\0" encoded path.
// Field names (paths) and timestamps stay visible, so peers and relays without the key can still
// merge per field; on such a node the values read back as the "ENC:v1:..." strings.
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

  // The plaintext view of a stored state: every "ENC:v1:" register decrypted (registers stored
  // in clear are left as they are). FAILED_PRECONDITION "cannot decrypt ..." if any fails.
  StatusOr<crdt::Document> Decrypt(std::string_view collection, std::string_view doc_id,
                                   const crdt::Document& stored) const;

  // Turns `plain` (the state after a local change) into its stored form: a register whose
  // timestamp equals the one in `previous` (the stored state before the change, may be null) is
  // unchanged and keeps its stored bytes; every other value register is encrypted.
  Status EncryptChanged(std::string_view collection, std::string_view doc_id,
                        const crdt::Document* previous, crdt::Document& plain) const;

  // Exposed for tests: one register value.
  StatusOr<std::string> Seal(std::string_view aad, const crdt::Register& reg) const;
  Status Open(std::string_view aad, crdt::Register& reg) const;
  static std::string Aad(std::string_view collection, std::string_view doc_id,
                         std::string_view path);

 private:
  explicit ValueCipher(Aes256GcmKey key) : key_(std::move(key)) {}
  Aes256GcmKey key_;
};

// The canonical JSON of a stored state as this node shows it (what Get returns and listeners
// receive): decrypted with `cipher`, or as stored when `cipher` is null (a node without the key
// then shows encrypted values as their "ENC:v1:..." strings). FAILED_PRECONDITION "cannot decrypt
// document <collection>/<doc_id> with this node's key" when a value does not open.
StatusOr<std::string> RenderStored(const ValueCipher* cipher, std::string_view collection,
                                   std::string_view doc_id, const crdt::Document& stored);

}  // namespace peat::store

// PathCipher: opaque field names (BEHAVIOR.md "Encryption", docs/ARCHITECTURE.md "Encryption").
//
// With a key, every key (segment) of a document path is stored and replicated as a token
//   "ENC:n1:" + base64url(AES-256-SIV(ad = [collection, doc_id, plaintext parent path],
//                                     key || 0x80 || 0x00... padded to a multiple of 16 bytes))
// (tag(16) || ciphertext, unpadded base64url, so a token never contains 0x00/0x01 and is valid
// UTF-8). SIV is deterministic: one name at one place of one document always gives one token,
// so replicas without the key still meet equal paths and merge per field; the same name in another
// document, or under another parent, gives another token. Tokens are invertible for key holders
// (no side table: a tombstone or an object marker has no value to carry a name in). The root
// path "" stays "". A segment without the prefix is a clear name (written by a node without the
// key, or by the old scheme) and decrypts to itself.
//
// The SIV key (64 bytes) is derived from the --encryption-key with HKDF-SHA256 (no salt, info
// "peat-node/v1/field-names"), independent of the value key.
// Thread-safe (const methods only after construction).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"
#include "crypto/secure_bytes.h"
#include "crypto/siv.h"

namespace peat::store {

class PathCipher {
 public:
  static constexpr std::string_view kPrefix = "ENC:n1:";
  static constexpr size_t kPadBytes = 16;  // names are padded to a multiple of this

  // Remembers converted parent paths while one document's paths are converted (input encoded
  // parent path → output encoded parent path). Only valid for one (collection, doc_id) and one
  // direction.
  struct MemoHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Memo = std::unordered_map<std::string, std::string, MemoHash, std::equal_to<>>;

  // `key` must be 32 bytes (INVALID_ARGUMENT otherwise).
  static StatusOr<PathCipher> Create(const SecureBytes& key);

  // True if the encoded segment (without its terminator) is a token.
  static bool IsTokenSegment(std::string_view encoded_segment) {
    return encoded_segment.starts_with(kPrefix);
  }
  // True if every segment of the encoded path is a token (the root "" is).
  static bool IsOpaquePath(std::string_view encoded_path);
  // True if some segment of the encoded path is a token.
  static bool HasTokenSegment(std::string_view encoded_path);

  // One key: its token under `plain_parent` (the encoded plaintext path of its parent).
  StatusOr<std::string> EncryptKey(std::string_view collection, std::string_view doc_id,
                                   std::string_view plain_parent, std::string_view key) const;
  // The key of a token. FAILED_PRECONDITION "cannot decrypt: ..." when it does not authenticate
  // (wrong key, tampering, or a token moved to another document or parent) or is malformed.
  StatusOr<std::string> DecryptKey(std::string_view collection, std::string_view doc_id,
                                   std::string_view plain_parent, std::string_view token) const;

  // Whole encoded paths. EncryptPath encrypts every segment of a plaintext path; DecryptPath
  // decrypts every token segment of a stored path (clear segments stay as they are).
  StatusOr<std::string> EncryptPath(std::string_view collection, std::string_view doc_id,
                                    std::string_view plain_path, Memo* memo = nullptr) const;
  StatusOr<std::string> DecryptPath(std::string_view collection, std::string_view doc_id,
                                    std::string_view stored_path, Memo* memo = nullptr) const;

 private:
  explicit PathCipher(Aes256SivKey key) : key_(std::move(key)) {}
  Aes256SivKey key_;
};

}  // namespace peat::store

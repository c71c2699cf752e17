// DocumentCipher: a document state's stored (encrypted) form and its plaintext view, for a node
// with --encryption-key (BEHAVIOR.md "Encryption", docs/ARCHITECTURE.md "Encryption").
//
// Stored form: every path segment is a PathCipher token and every value register an ValueCipher
// "ENC:v1:" string whose associated data is the PLAINTEXT path; timestamps, the delete register,
// object markers and tombstones are kept as they are (a node without the key merges the stored
// form per field, as it merges any state). The root marker stays at "".
// Plaintext view (Decrypt): every register moved to its decrypted path with its value opened,
// MERGED into a fresh document, so two stored registers that decrypt to one plaintext path (a
// clear-path register from a keyless node or the old scheme next to a token-path one) resolve by
// the normal last-writer-wins rule. Registers stored in clear (a keyless writer's) read as they
// are.
//
// The crdt layer never sees the key: the writer decrypts, applies Put/Merge, and encrypts.
// Thread-safe (const methods only after construction).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "crdt/document.h"
#include "crypto/secure_bytes.h"
#include "store/path_cipher.h"
#include "store/value_cipher.h"

namespace peat::store {

class DocumentCipher {
 public:
  // `key` must be 32 bytes (INVALID_ARGUMENT otherwise).
  static StatusOr<DocumentCipher> Create(const SecureBytes& key);

  // The plaintext view of a stored state. FAILED_PRECONDITION "cannot decrypt ..." if a path or a
  // value does not open. `plain_to_stored` (optional) receives plaintext path → stored path for
  // every fully encrypted stored path, for a following Encrypt.
  StatusOr<crdt::Document> Decrypt(std::string_view collection, std::string_view doc_id,
                                   const crdt::Document& stored,
                                   PathCipher::Memo* plain_to_stored = nullptr) const;

  // The stored form of `plain` (the plaintext view after a local change): every path encrypted;
  // a value register whose stored counterpart in `previous` (may be null) has the same timestamp
  // is unchanged and keeps its stored bytes, every other one is sealed. `plain_to_stored` as
  // filled by Decrypt (optional) saves re-encrypting known paths.
  StatusOr<crdt::Document> Encrypt(std::string_view collection, std::string_view doc_id,
                                   const crdt::Document* previous, const crdt::Document& plain,
                                   PathCipher::Memo* plain_to_stored = nullptr) const;

  // Whether `stored` was encrypted with this node's key, judged by its first encrypted field
  // name or value (one decryption): kNothingToCheck when it has neither (every name and value in
  // clear).
  enum class KeyCheck { kNothingToCheck, kMatches, kMismatch };
  KeyCheck CheckKey(std::string_view collection, std::string_view doc_id,
                    const crdt::Document& stored) const;

  // True if every path of `stored` is fully encrypted (the form this node stores).
  static bool IsNormalized(const crdt::Document& stored);
  // `stored` with every register whose path has a clear segment moved to its encrypted path
  // (timestamp, kind and value unchanged: values are bound to the plaintext path, so nothing is
  // re-encrypted; clashes resolve by the merge rule). A register whose path does not decrypt
  // (another key, tampering) is kept where it is. Used on remote states before they are merged
  // and to migrate stores written by the old scheme (clear names, encrypted values) — only once
  // CheckKey says the key is the document's: names encrypted under a wrong key would be lost to
  // the nodes that have the right one.
  crdt::Document Normalize(std::string_view collection, std::string_view doc_id,
                           const crdt::Document& stored) const;

  const ValueCipher& values() const { return values_; }
  const PathCipher& paths() const { return paths_; }

 private:
  DocumentCipher(ValueCipher values, PathCipher paths)
      : values_(std::move(values)), paths_(std::move(paths)) {}
  ValueCipher values_;
  PathCipher paths_;
};

// The canonical JSON of a stored state as this node shows it (what Get returns and listeners
// receive): decrypted with `cipher`, or as stored when `cipher` is null (a node without the key
// then shows "ENC:n1:..." names and "ENC:v1:..." values). FAILED_PRECONDITION "cannot decrypt
// document <collection>/<doc_id> with this node's key" when a name or a value does not open.
StatusOr<std::string> RenderStored(const DocumentCipher* cipher, std::string_view collection,
                                   std::string_view doc_id, const crdt::Document& stored);

}  // namespace peat::store

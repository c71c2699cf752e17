#include "store/document_cipher.h"

namespace peat::store {

StatusOr<DocumentCipher> DocumentCipher::Create(const SecureBytes& key) {
  auto values = ValueCipher::Create(key);
  if (!values.ok()) return values.status();
  auto paths = PathCipher::Create(key);
  if (!paths.ok()) return paths.status();
  return DocumentCipher(std::move(values).value(), std::move(paths).value());
}

StatusOr<crdt::Document> DocumentCipher::Decrypt(std::string_view collection,
                                                 std::string_view doc_id,
                                                 const crdt::Document& stored,
                                                 PathCipher::Memo* plain_to_stored) const {
  crdt::Document plain;
  plain.MergeDelete(stored.deletes());
  PathCipher::Memo parents;  // stored parent → plaintext parent
  for (const auto& [path, reg] : stored.registers()) {
    auto plain_path = paths_.DecryptPath(collection, doc_id, path, &parents);
    if (!plain_path.ok()) return plain_path.status();
    crdt::Register r = reg;
    if (ValueCipher::IsEncrypted(r)) {
      PEAT_RETURN_IF_ERROR(values_.Open(ValueCipher::Aad(collection, doc_id, *plain_path), r));
    }
    if (plain_to_stored != nullptr && !path.empty() && PathCipher::IsOpaquePath(path)) {
      plain_to_stored->emplace(*plain_path, path);
    }
    plain.MergeRegister(std::move(plain_path).value(), std::move(r));
  }
  return plain;
}

StatusOr<crdt::Document> DocumentCipher::Encrypt(std::string_view collection,
                                                 std::string_view doc_id,
                                                 const crdt::Document* previous,
                                                 const crdt::Document& plain,
                                                 PathCipher::Memo* plain_to_stored) const {
  PathCipher::Memo local;
  PathCipher::Memo& memo = plain_to_stored != nullptr ? *plain_to_stored : local;
  crdt::Document stored;
  stored.MergeDelete(plain.deletes());
  for (const auto& [path, reg] : plain.registers()) {
    std::string stored_path;
    if (auto it = memo.find(path); it != memo.end()) {
      stored_path = it->second;
    } else {
      auto encrypted = paths_.EncryptPath(collection, doc_id, path, &memo);
      if (!encrypted.ok()) return encrypted.status();
      stored_path = std::move(encrypted).value();
    }
    crdt::Register r = reg;
    if (r.kind != crdt::RegisterKind::kTombstone && r.kind != crdt::RegisterKind::kObject) {
      const crdt::Register* prev = nullptr;
      if (previous != nullptr) {
        auto it = previous->registers().find(stored_path);
        if (it != previous->registers().end() && it->second.ts == r.ts) prev = &it->second;
      }
      if (prev != nullptr) {  // unchanged: keep the stored bytes (ciphertext)
        r.kind = prev->kind;
        r.value = prev->value;
      } else {
        auto sealed = values_.Seal(ValueCipher::Aad(collection, doc_id, path), r);
        if (!sealed.ok()) return sealed.status();
        r.kind = crdt::RegisterKind::kString;
        r.value = std::move(sealed).value();
      }
    }
    stored.MergeRegister(std::move(stored_path), std::move(r));
  }
  return stored;
}

DocumentCipher::KeyCheck DocumentCipher::CheckKey(std::string_view collection,
                                                  std::string_view doc_id,
                                                  const crdt::Document& stored) const {
  for (const auto& [path, reg] : stored.registers()) {
    if (PathCipher::HasTokenSegment(path)) {
      return paths_.DecryptPath(collection, doc_id, path).ok() ? KeyCheck::kMatches
                                                               : KeyCheck::kMismatch;
    }
    if (ValueCipher::IsEncrypted(reg)) {  // a clear path: it is the plaintext path
      crdt::Register r = reg;
      return values_.Open(ValueCipher::Aad(collection, doc_id, path), r).ok() ? KeyCheck::kMatches
                                                                              : KeyCheck::kMismatch;
    }
  }
  return KeyCheck::kNothingToCheck;
}

bool DocumentCipher::IsNormalized(const crdt::Document& stored) {
  for (const auto& [path, reg] : stored.registers()) {
    if (!PathCipher::IsOpaquePath(path)) return false;
  }
  return true;
}

crdt::Document DocumentCipher::Normalize(std::string_view collection, std::string_view doc_id,
                                         const crdt::Document& stored) const {
  crdt::Document out;
  out.MergeDelete(stored.deletes());
  PathCipher::Memo decrypted;  // stored parent → plaintext parent
  PathCipher::Memo encrypted;  // plaintext parent → encrypted parent
  for (const auto& [path, reg] : stored.registers()) {
    if (PathCipher::IsOpaquePath(path)) {
      out.MergeRegister(path, reg);
      continue;
    }
    auto plain = paths_.DecryptPath(collection, doc_id, path, &decrypted);
    auto token = plain.ok() ? paths_.EncryptPath(collection, doc_id, *plain, &encrypted)
                            : StatusOr<std::string>(plain.status());
    out.MergeRegister(token.ok() ? std::move(token).value() : path, reg);
  }
  return out;
}

StatusOr<std::string> RenderStored(const DocumentCipher* cipher, std::string_view collection,
                                   std::string_view doc_id, const crdt::Document& stored) {
  if (cipher == nullptr) return stored.Render();
  auto plain = cipher->Decrypt(collection, doc_id, stored);
  if (!plain.ok()) {
    return FailedPreconditionError("cannot decrypt document " + std::string(collection) + "/" +
                                   std::string(doc_id) + " with this node's key");
  }
  return plain->Render();
}

}  // namespace peat::store

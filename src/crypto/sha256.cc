#include "crypto/sha256.h"

namespace peat {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { Init(); }

void Sha256::Init() {
  failed_ = ctx_ == nullptr || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1;
}

void Sha256::Update(std::span<const uint8_t> bytes) {
  if (failed_ || ctx_ == nullptr || bytes.empty()) return;  // null: a moved-from hasher
  failed_ = EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) != 1;
}

void Sha256::Update(std::string_view bytes) {
  Update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

StatusOr<Sha256Digest> Sha256::Finish() {
  Sha256Digest out{};
  unsigned int len = 0;
  const bool ok =
      !failed_ && EVP_DigestFinal_ex(ctx_.get(), out.data(), &len) == 1 && len == out.size();
  if (ctx_ != nullptr) Init();
  if (!ok) return InternalError("SHA-256: OpenSSL digest failed");
  return out;
}

StatusOr<Sha256Digest> Sha256Of(std::string_view bytes) {
  Sha256 h;
  h.Update(bytes);
  return h.Finish();
}

}  // namespace peat

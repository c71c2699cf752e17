// SHA-256 (FIPS 180-4) through OpenSSL 3's EVP interface: an incremental hasher and a one-shot
// helper. Used for content addressing (blob chunks, manifests, whole files).
//
// Errors: OpenSSL failures (allocation, a provider without SHA-256) are sticky — Update records
// the first one and Finish returns it as INTERNAL — so callers check once, at the end.
// Thread-compatible: one Sha256 object per thread; the free function is thread-safe.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "common/status.h"

namespace peat {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  Sha256(Sha256&&) noexcept = default;
  Sha256& operator=(Sha256&&) noexcept = default;

  void Update(std::span<const uint8_t> bytes);
  void Update(std::string_view bytes);
  // The digest of everything given to Update since construction or the last Finish; the hasher is
  // then reset and may be reused. INTERNAL if OpenSSL failed at any point.
  StatusOr<Sha256Digest> Finish();

 private:
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  void Init();
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_;
  bool failed_ = false;
};

// One-shot digest of `bytes`. INTERNAL if OpenSSL fails.
StatusOr<Sha256Digest> Sha256Of(std::string_view bytes);

}  // namespace peat

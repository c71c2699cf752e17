#include "crypto/hkdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>
#include <string>
#include <vector>

#include "crypto/openssl_error.h"

namespace peat {
namespace {

using crypto_internal::OpenSslError;

struct KdfDeleter {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
};
struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};

}  // namespace

StatusOr<SecureBytes> HkdfSha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                                 std::span<const uint8_t> info, size_t length) {
  if (length == 0 || length > 255 * 32) {
    return InvalidArgumentError("hkdf: output length must be in 1..8160");
  }
  if (ikm.empty()) return InvalidArgumentError("hkdf: input key material is empty");

  std::unique_ptr<EVP_KDF, KdfDeleter> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return OpenSslError("hkdf: EVP_KDF_fetch failed");
  std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return OpenSslError("hkdf: EVP_KDF_CTX_new failed");

  // OSSL_PARAM takes non-const pointers; OpenSSL only reads these buffers.
  char digest[] = "SHA256";
  std::vector<OSSL_PARAM> params;
  params.push_back(OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0));
  params.push_back(OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                     const_cast<uint8_t*>(ikm.data()), ikm.size()));
  if (!salt.empty()) {
    params.push_back(OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()), salt.size()));
  }
  if (!info.empty()) {
    params.push_back(OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.data()), info.size()));
  }
  params.push_back(OSSL_PARAM_construct_end());

  SecureBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1) {
    return OpenSslError("hkdf: EVP_KDF_derive failed");
  }
  return out;
}

}  // namespace peat

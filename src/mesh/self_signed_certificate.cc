#include "mesh/self_signed_certificate.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>

#include "common/hex.h"

namespace peat::mesh {
namespace {

constexpr size_t kEd25519KeyBytes = 32;
constexpr long kOneDaySeconds = 24 * 60 * 60;
constexpr int kValidityDays = 100 * 365;

Status OpenSslFailure(const std::string& what) {
  const unsigned long err = ERR_get_error();
  ERR_clear_error();
  char buf[256] = "unknown error";
  if (err != 0) ERR_error_string_n(err, buf, sizeof buf);
  return InternalError("self-signed certificate: " + what + ": " + buf);
}

struct BignumDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};

}  // namespace

StatusOr<X509Ptr> MakeSelfSignedCertificate(EVP_PKEY* key, const std::string& common_name) {
  if (key == nullptr || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    return InvalidArgumentError("self-signed certificate: the key must be Ed25519");
  }
  X509Ptr cert(X509_new());
  if (!cert) return OpenSslFailure("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return OpenSslFailure("X509_set_version");

  // Random positive 63-bit serial.
  std::unique_ptr<BIGNUM, BignumDeleter> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return OpenSslFailure("serial number");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kOneDaySeconds) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), kValidityDays, 0, nullptr) == nullptr) {
    return OpenSslFailure("validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn = common_name.substr(0, 64);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.data()),
                                 static_cast<int>(cn.size()), -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return OpenSslFailure("subject name");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) return OpenSslFailure("X509_set_pubkey");
  // Ed25519 signs the whole message: the digest must be NULL.
  if (X509_sign(cert.get(), key, nullptr) <= 0) return OpenSslFailure("X509_sign");
  return cert;
}

StatusOr<std::string> EndpointIdFromKey(const EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    return PermissionDeniedError("peer certificate key is not Ed25519");
  }
  std::array<uint8_t, kEd25519KeyBytes> raw{};
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, raw.data(), &len) != 1 || len != raw.size()) {
    ERR_clear_error();
    return PermissionDeniedError("peer certificate: cannot read the Ed25519 public key");
  }
  return HexEncode(raw);
}

StatusOr<std::string> EndpointIdFromCertificate(X509* cert) {
  if (cert == nullptr) return PermissionDeniedError("peer presented no certificate");
  return EndpointIdFromKey(X509_get0_pubkey(cert));
}

}  // namespace peat::mesh

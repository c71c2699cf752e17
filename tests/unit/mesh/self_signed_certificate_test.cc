#include "mesh/self_signed_certificate.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/ed25519.h"
#include "crypto/test_util.h"

namespace peat::mesh {
namespace {

TEST(SelfSignedCertificateTest, CarriesTheKeyAndVerifiesWithIt) {
  auto key = Ed25519Key::Generate();
  ASSERT_TRUE(key.ok());
  const std::string endpoint_id = testing::ToHex(key->PublicKey());
  auto cert = MakeSelfSignedCertificate(key->NativeHandle(), endpoint_id);
  ASSERT_TRUE(cert.ok()) << cert.status().ToString();
  auto id = EndpointIdFromCertificate(cert->get());
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, endpoint_id);
  EXPECT_EQ(X509_verify(cert->get(), key->NativeHandle()), 1);
  // Self-signed: issuer == subject.
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert->get()), X509_get_issuer_name(cert->get())),
            0);
  EXPECT_EQ(X509_get_version(cert->get()), X509_VERSION_3);
}

TEST(SelfSignedCertificateTest, RejectsNonEd25519Keys) {
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(ec, nullptr);
  EXPECT_EQ(MakeSelfSignedCertificate(ec, "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EndpointIdFromKey(ec).status().code(), StatusCode::kPermissionDenied);
  EVP_PKEY_free(ec);
  EXPECT_EQ(EndpointIdFromCertificate(nullptr).status().code(), StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace peat::mesh

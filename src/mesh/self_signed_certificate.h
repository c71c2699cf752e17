// Self-signed X.509 certificates for mesh TLS. A node presents a certificate that merely carries
// its Ed25519 public key (signed by that same key); peers authenticate it by the key, never by a
// CA: the key, as 64 lowercase hex characters, is the endpoint id. TLS 1.3's CertificateVerify
// proves the peer holds the matching private key.
//
// Thread-safe (no shared state); the returned objects are owned by the caller.
#pragma once

#include <openssl/types.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace peat::mesh {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

// A v3 certificate with subject = issuer = CN=<common_name> (truncated to 64 characters), a
// random serial, valid from a day ago for 100 years (validity is not checked by peers: clocks
// on disconnected kits drift), public key = `key`, signed by `key`. `key` must be an Ed25519
// private key. INVALID_ARGUMENT for another key type, INTERNAL if OpenSSL fails.
StatusOr<X509Ptr> MakeSelfSignedCertificate(EVP_PKEY* key, const std::string& common_name);

// The endpoint id carried by a certificate: its public key must be Ed25519; returns the 32 raw
// key bytes as 64 lowercase hex characters. PERMISSION_DENIED for any other key type.
StatusOr<std::string> EndpointIdFromCertificate(X509* cert);

// The endpoint id (64 lowercase hex characters) of an Ed25519 key; PERMISSION_DENIED otherwise.
StatusOr<std::string> EndpointIdFromKey(const EVP_PKEY* key);

}  // namespace peat::mesh

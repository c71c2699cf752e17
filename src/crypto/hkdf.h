// HKDF-SHA256 (RFC 5869) key derivation, via OpenSSL 3's EVP_KDF "HKDF".
//
// Stateless, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/status.h"
#include "crypto/secure_bytes.h"

namespace peat {

// Extract-then-expand. An empty `salt` means "no salt" (RFC 5869: HashLen zero bytes), an empty
// `info` means no context. `length` must be in 1..255*32. INTERNAL if OpenSSL fails,
// INVALID_ARGUMENT for an impossible length or empty `ikm`.
StatusOr<SecureBytes> HkdfSha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                                 std::span<const uint8_t> info, size_t length);

// Convenience: views the bytes of a string (for `info` labels such as "iroh:node-a").
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace peat

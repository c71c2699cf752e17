// Base64 for key material: Base64DecodeSecret decodes standard base64 (with the strict rules of
// common/base64.h) into a SecureBytes, wiping every intermediate buffer; DecodeBase64Key32 also
// requires exactly 32 bytes (--shared-key, --encryption-key) and its error says how to make a key.
// Base64Encode and Base64Decode for non-secret data come from common/base64.h and are re-exported
// here.
//
// Stateless, thread-safe.
#pragma once

#include <string_view>

#include "common/base64.h"
#include "common/status.h"
#include "crypto/secure_bytes.h"

namespace peat {

// INVALID_ARGUMENT (message says what is wrong, never echoes the input) on malformed input.
StatusOr<SecureBytes> Base64DecodeSecret(std::string_view text);

// A 32-byte key as base64. INVALID_ARGUMENT, without a flag name and never echoing the input:
// "must be base64 of exactly 32 bytes (decodes to 3 bytes); make one with: head -c 32
// /dev/urandom | base64".
StatusOr<SecureBytes> DecodeBase64Key32(std::string_view text);

}  // namespace peat

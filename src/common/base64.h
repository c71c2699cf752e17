// Standard base64 (RFC 4648 §4, alphabet A–Z a–z 0–9 + /, '=' padding), and unpadded base64url
// (RFC 4648 §5, alphabet A–Z a–z 0–9 - _, no '='; for text that must not contain '/' or '=').
//
// Decoding is strict, so a mistyped key is reported instead of silently becoming different key
// material: the length must be a multiple of 4, padding is mandatory and only at the end, no
// whitespace or URL-safe characters, and the unused bits of the last group must be zero (exactly
// one encoding per byte string). The empty string decodes to zero bytes. Stateless, thread-safe.
// For secrets use crypto/base64.h's Base64DecodeSecret, which wipes what it decodes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace peat {

std::string Base64Encode(std::span<const uint8_t> bytes);

// INVALID_ARGUMENT (message says what is wrong, never echoes the input) on malformed input.
StatusOr<std::vector<uint8_t>> Base64Decode(std::string_view text);

// The primitive both decoders share: validates `text` and returns the decoded length; writes the
// bytes into `out` (which must hold Base64DecodedSizeUpperBound(text) bytes) when non-null.
StatusOr<size_t> Base64DecodeInto(std::string_view text, uint8_t* out);
inline size_t Base64DecodedSizeUpperBound(std::string_view text) { return text.size() / 4 * 3; }

// Unpadded base64url. Decoding is strict in the same way: no padding, no characters outside the
// alphabet, a length that is not 1 mod 4, and zero unused bits in the last group (exactly one
// encoding per byte string). INVALID_ARGUMENT (never echoing the input) on malformed input.
std::string Base64UrlEncode(std::span<const uint8_t> bytes);
StatusOr<std::vector<uint8_t>> Base64UrlDecode(std::string_view text);

}  // namespace peat

// Hexadecimal text of bytes (base16, RFC 4648 §8): encoding is always lowercase (endpoint ids,
// store epochs, UUIDs, \u escapes); decoding accepts either case. Stateless; thread-safe; errors
// are return values (false / -1), never exceptions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace peat {

inline constexpr char kLowerHexDigits[] = "0123456789abcdef";

// Two lowercase hex digits per byte.
std::string HexEncode(std::span<const uint8_t> bytes);
// The same for bytes held in a string (raw digests from the wire).
inline std::string HexEncode(std::string_view bytes) {
  return HexEncode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

// The value (0..15) of one hex digit of either case; -1 for any other character.
int HexDigitValue(char c);

// Decodes exactly 2 * out.size() hex digits (either case) into `out`; false (and `out`
// unspecified) if `hex` has another length or a character that is not a hex digit.
bool HexDecode(std::string_view hex, std::span<uint8_t> out);

// True iff `text` is non-empty and every character is one of 0-9 a-f.
bool IsLowerHex(std::string_view text);

}  // namespace peat

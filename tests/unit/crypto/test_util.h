// Helpers shared by the crypto/mesh unit tests: hex conversion.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace peat::testing {

inline std::vector<uint8_t> FromHex(std::string_view hex) {
  auto nib = [](char c) -> uint8_t {
    return static_cast<uint8_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  };
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(nib(hex[i]) << 4 | nib(hex[i + 1])));
  }
  return out;
}

template <typename Bytes>
std::string ToHex(const Bytes& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

}  // namespace peat::testing

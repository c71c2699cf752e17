#include "common/base64.h"

#include <algorithm>
#include <array>

namespace peat {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> MakeDecodeTable(const char* alphabet) {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kDecode = MakeDecodeTable(kAlphabet);
constexpr std::array<int8_t, 256> kUrlDecode = MakeDecodeTable(kUrlAlphabet);

}  // namespace

StatusOr<size_t> Base64DecodeInto(std::string_view text, uint8_t* out) {
  if (text.size() % 4 != 0) {
    return InvalidArgumentError("invalid base64: length is not a multiple of 4");
  }
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = 1;
  // "xx==" is two bytes of padding; "xx=A" is malformed (data after padding), not padding 2.
  if (padding == 1 && text.size() >= 2 && text[text.size() - 2] == '=') padding = 2;
  size_t n = 0;
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=') {
        if (!last || j < 4 - padding) return InvalidArgumentError("invalid base64: misplaced '='");
        group <<= 6;
        continue;
      }
      const int8_t v = kDecode[static_cast<uint8_t>(c)];
      if (v < 0) return InvalidArgumentError("invalid base64: character outside the alphabet");
      group = (group << 6) | static_cast<uint32_t>(v);
    }
    const size_t bytes = last ? 3 - padding : 3;
    if (last && padding == 1 && (group & 0xff) != 0) {
      return InvalidArgumentError("invalid base64: non-zero padding bits");
    }
    if (last && padding == 2 && (group & 0xffff) != 0) {
      return InvalidArgumentError("invalid base64: non-zero padding bits");
    }
    if (out != nullptr) {
      const uint8_t b[3] = {static_cast<uint8_t>(group >> 16), static_cast<uint8_t>(group >> 8),
                            static_cast<uint8_t>(group)};
      for (size_t k = 0; k < bytes; ++k) out[n + k] = b[k];
    }
    n += bytes;
    group = 0;
  }
  return n;
}

std::string Base64Encode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t g = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(kAlphabet[(g >> 18) & 63]);
    out.push_back(kAlphabet[(g >> 12) & 63]);
    out.push_back(kAlphabet[(g >> 6) & 63]);
    out.push_back(kAlphabet[g & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t g = uint32_t{bytes[i]} << 16;
    if (rest == 2) g |= uint32_t{bytes[i + 1]} << 8;
    out.push_back(kAlphabet[(g >> 18) & 63]);
    out.push_back(kAlphabet[(g >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(g >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

StatusOr<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  PEAT_ASSIGN_OR_RETURN(size_t size, Base64DecodeInto(text, nullptr));
  std::vector<uint8_t> out(Base64DecodedSizeUpperBound(text));
  (void)Base64DecodeInto(text, out.data());
  out.resize(size);
  return out;
}

std::string Base64UrlEncode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t g = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(kUrlAlphabet[(g >> 18) & 63]);
    out.push_back(kUrlAlphabet[(g >> 12) & 63]);
    out.push_back(kUrlAlphabet[(g >> 6) & 63]);
    out.push_back(kUrlAlphabet[g & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t g = uint32_t{bytes[i]} << 16;
    if (rest == 2) g |= uint32_t{bytes[i + 1]} << 8;
    out.push_back(kUrlAlphabet[(g >> 18) & 63]);
    out.push_back(kUrlAlphabet[(g >> 12) & 63]);
    if (rest == 2) out.push_back(kUrlAlphabet[(g >> 6) & 63]);
  }
  return out;
}

StatusOr<std::vector<uint8_t>> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return InvalidArgumentError("invalid base64url: impossible length");
  std::vector<uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  for (size_t i = 0; i < text.size(); i += 4) {
    const size_t chars = std::min<size_t>(4, text.size() - i);
    uint32_t group = 0;
    for (size_t j = 0; j < 4; ++j) {
      int8_t v = 0;
      if (j < chars) {
        v = kUrlDecode[static_cast<uint8_t>(text[i + j])];
        if (v < 0) return InvalidArgumentError("invalid base64url: character outside the alphabet");
      }
      group = (group << 6) | static_cast<uint32_t>(v);
    }
    const size_t bytes = chars - 1;  // 4 chars → 3 bytes, 3 → 2, 2 → 1
    if (bytes < 3 && (group & (0xffffffu >> (8 * bytes))) != 0) {
      return InvalidArgumentError("invalid base64url: non-zero unused bits");
    }
    for (size_t k = 0; k < bytes; ++k) out.push_back(static_cast<uint8_t>(group >> (16 - 8 * k)));
  }
  return out;
}

}  // namespace peat

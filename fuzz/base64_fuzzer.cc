// Base64Decode on arbitrary text. Invariants: a successful decode re-encodes (Base64Encode) to
// exactly the input (the decoder is strict: one encoding per byte string) and agrees with
// Base64DecodeInto's length, which never exceeds Base64DecodedSizeUpperBound; a failure has a
// message. The input bytes are also encoded and must decode back to themselves.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/base64.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  auto decoded = peat::Base64Decode(text);
  auto length = peat::Base64DecodeInto(text, nullptr);
  FUZZ_CHECK(decoded.ok() == length.ok());
  if (decoded.ok()) {
    FUZZ_CHECK(decoded->size() == *length);
    FUZZ_CHECK(decoded->size() <= peat::Base64DecodedSizeUpperBound(text));
    FUZZ_CHECK(peat::Base64Encode(*decoded) == text);
  } else {
    FUZZ_CHECK(decoded.status().code() == peat::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!decoded.status().message().empty());
  }

  // Encode → decode round trip of the raw input bytes.
  const std::string encoded = peat::Base64Encode(std::span<const uint8_t>(data, size));
  FUZZ_CHECK(encoded.size() == (size + 2) / 3 * 4);
  auto back = peat::Base64Decode(encoded);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(*back == std::vector<uint8_t>(data, data + size));
  return 0;
}

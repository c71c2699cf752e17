#include "crypto/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>

#include "crypto/openssl_error.h"

namespace peat {

Status RandomBytes(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const size_t chunk = std::min<size_t>(out.size() - done, INT_MAX);
    if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
      return crypto_internal::OpenSslError("RAND_bytes failed");
    }
    done += chunk;
  }
  return Status::Ok();
}

StatusOr<std::string> RandomUuidV4() {
  std::array<uint8_t, 16> b{};
  PEAT_RETURN_IF_ERROR(RandomBytes(b));
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // variant 10xx
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 0x0f]);
  }
  return s;
}

}  // namespace peat

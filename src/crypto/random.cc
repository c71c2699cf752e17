#include "crypto/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>

#include "common/hex.h"
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
  const std::string hex = HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace peat

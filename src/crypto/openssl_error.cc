#include "crypto/openssl_error.h"

#include <openssl/err.h>

namespace peat::crypto_internal {

Status OpenSslError(std::string what) {
  const unsigned long err = ERR_get_error();
  if (err != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    what += ": ";
    what += buf;
  }
  ERR_clear_error();
  return InternalError(std::move(what));
}

}  // namespace peat::crypto_internal

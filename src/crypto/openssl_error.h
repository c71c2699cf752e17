// Internal to src/crypto: turns OpenSSL's thread-local error queue into a Status.
//
// Thread-safe (OpenSSL's error queue is per thread).
#pragma once

#include <string>

#include "common/status.h"

namespace peat::crypto_internal {

// INTERNAL status "<what>: <first queued OpenSSL error>"; clears the calling thread's queue.
Status OpenSslError(std::string what);

}  // namespace peat::crypto_internal

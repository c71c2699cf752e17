// Cryptographically secure randomness from OpenSSL's RAND_bytes (seeded from the OS).
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/status.h"

namespace peat {

// Fills `out`; INTERNAL if the CSPRNG is unavailable (never partially trust the output).
Status RandomBytes(std::span<uint8_t> out);

// A random (version 4, RFC 9562 variant) UUID in canonical lowercase form,
// e.g. "3b241101-e2bb-4255-8caf-4136c566a962".
StatusOr<std::string> RandomUuidV4();

}  // namespace peat

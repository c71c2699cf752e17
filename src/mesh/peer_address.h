// The dial order BEHAVIOR.md asks for: IP literals first, then names, so a slow resolver never
// delays a dial that an IP would have answered (LESSONS.md 21).
//
// Pure function; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace peat::mesh {

// The usable addresses of `addresses` (those common/host_port.h's ParseHostPort accepts, the
// grammar --peer uses; duplicates removed), IP literals first, otherwise in the given order.
std::vector<std::string> OrderAddresses(const std::vector<std::string>& addresses);

}  // namespace peat::mesh

// Suggestions for mistyped flags: "unknown flag --shared-kye; did you mean --shared-key?".
//
// NearestFlag picks, among the known flag names, the one closest to an unknown name by optimal
// string alignment distance (Levenshtein plus adjacent transpositions, so "kye" → "key" is one
// edit). A suggestion is made only when it is plausibly a typo: at most max(2, length / 4) edits
// away, or the unknown name is a prefix (at least 3 characters) of exactly one known flag.
// Names are compared without the leading "--".
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace peat {

// Optimal string alignment distance between `a` and `b`.
size_t EditDistance(std::string_view a, std::string_view b);

// The known name to suggest for `unknown`, or nullopt when none is close enough. Ties go to the
// name that comes first in `known`.
std::optional<std::string> NearestFlag(std::string_view unknown,
                                       const std::vector<std::string>& known);

}  // namespace peat

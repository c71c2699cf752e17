#include "app/flag_suggestion.h"

#include <algorithm>

namespace peat {

size_t EditDistance(std::string_view a, std::string_view b) {
  // d[i][j] = distance between a[0, i) and b[0, j); three rows are enough for transpositions.
  const size_t n = b.size();
  std::vector<size_t> two_back(n + 1), prev(n + 1), cur(n + 1);
  for (size_t j = 0; j <= n; ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= n; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], two_back[j - 2] + 1);
      }
    }
    std::swap(two_back, prev);
    std::swap(prev, cur);
  }
  return prev[n];
}

std::optional<std::string> NearestFlag(std::string_view unknown,
                                       const std::vector<std::string>& known) {
  const size_t limit = std::max<size_t>(2, unknown.size() / 4);
  std::optional<std::string> best;
  size_t best_distance = limit + 1;
  for (const auto& name : known) {
    const size_t d = EditDistance(unknown, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  if (best) return best;
  if (unknown.size() < 3) return std::nullopt;
  std::optional<std::string> prefix_of;
  for (const auto& name : known) {
    if (name.size() > unknown.size() && name.compare(0, unknown.size(), unknown) == 0) {
      if (prefix_of) return std::nullopt;  // ambiguous
      prefix_of = name;
    }
  }
  return prefix_of;
}

}  // namespace peat

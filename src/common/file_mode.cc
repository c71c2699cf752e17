#include "common/file_mode.h"

namespace peat {

StatusOr<uint32_t> ParseFileMode(std::string_view text) {
  const auto bad = [&] {
    return InvalidArgumentError("must be an octal mode from 0000 to 0777, e.g. 0660; got '" +
                                std::string(text) + "'");
  };
  if (text.empty() || text.size() > 4) return bad();
  uint32_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return bad();
    v = v * 8 + static_cast<uint32_t>(c - '0');
  }
  if (v > 0777) return bad();
  return v;
}

std::string FormatFileMode(uint32_t mode) {
  std::string out = "0000";
  for (size_t i = out.size(); i-- > 0; mode >>= 3) out[i] = static_cast<char>('0' + (mode & 7));
  return out;
}

}  // namespace peat

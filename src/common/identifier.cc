#include "common/identifier.h"

#include <string>

#include "common/utf8.h"

namespace peat {

Status ValidateIdentifier(std::string_view field, std::string_view value) {
  std::string f(field);
  if (value.empty()) return InvalidArgumentError(f + " must not be empty");
  if (value.size() > kMaxIdentifierBytes) {
    return InvalidArgumentError(f + " is " + std::to_string(value.size()) +
                                " bytes; the limit is " + std::to_string(kMaxIdentifierBytes));
  }
  if (value.find('\0') != std::string_view::npos) {
    return InvalidArgumentError(f + " must not contain NUL characters");
  }
  if (!IsValidUtf8(value)) return InvalidArgumentError(f + " must be valid UTF-8");
  return Status::Ok();
}

}  // namespace peat

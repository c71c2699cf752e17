#include "crypto/base64.h"

namespace peat {

StatusOr<SecureBytes> Base64DecodeSecret(std::string_view text) {
  auto size = Base64DecodeInto(text, nullptr);
  if (!size.ok()) return size.status();
  SecureBytes scratch(Base64DecodedSizeUpperBound(text));
  if (!scratch.empty()) (void)Base64DecodeInto(text, scratch.data());
  if (*size == scratch.size()) return scratch;
  return SecureBytes(scratch.span().first(*size));
}

}  // namespace peat

#include "crypto/base64.h"

namespace peat {

StatusOr<SecureBytes> Base64DecodeSecret(std::string_view text) {
  PEAT_ASSIGN_OR_RETURN(size_t size, Base64DecodeInto(text, nullptr));
  SecureBytes scratch(Base64DecodedSizeUpperBound(text));
  if (!scratch.empty()) (void)Base64DecodeInto(text, scratch.data());
  if (size == scratch.size()) return scratch;
  return SecureBytes(scratch.span().first(size));
}

StatusOr<SecureBytes> DecodeBase64Key32(std::string_view text) {
  constexpr char kRecipe[] = "; make one with: head -c 32 /dev/urandom | base64";
  auto key = Base64DecodeSecret(text);
  if (!key.ok()) {
    return InvalidArgumentError("must be base64 of exactly 32 bytes (" + key.status().message() +
                                ")" + kRecipe);
  }
  if (key->size() != 32) {
    return InvalidArgumentError("must be base64 of exactly 32 bytes (decodes to " +
                                std::to_string(key->size()) + " bytes)" + kRecipe);
  }
  return key;
}

}  // namespace peat

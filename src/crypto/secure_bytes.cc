#include "crypto/secure_bytes.h"

#include <openssl/crypto.h>

#include <cstring>
#include <utility>

namespace peat {

SecureBytes::SecureBytes(size_t size) : size_(size) {
  if (size_ > 0) data_ = std::make_unique<uint8_t[]>(size_);  // value-initialised: zeros
}

SecureBytes::SecureBytes(std::span<const uint8_t> bytes) : SecureBytes(bytes.size()) {
  if (size_ > 0) std::memcpy(data_.get(), bytes.data(), size_);
}

SecureBytes SecureBytes::FromString(std::string_view text) {
  return SecureBytes(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    Clear();
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecureBytes::~SecureBytes() { Clear(); }

void SecureBytes::Clear() {
  if (data_ && size_ > 0) OPENSSL_cleanse(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

bool operator==(const SecureBytes& a, const SecureBytes& b) {
  if (a.size_ != b.size_) return false;
  if (a.size_ == 0) return true;
  return CRYPTO_memcmp(a.data_.get(), b.data_.get(), a.size_) == 0;
}

}  // namespace peat

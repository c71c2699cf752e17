// SecureBytes: an owned, fixed-size byte buffer for key material that wipes itself.
//
// The buffer is cleansed with OPENSSL_cleanse when destroyed, reassigned or cleared; a moved-from
// buffer is left empty (the bytes move with the allocation, nothing is left behind). It never
// reallocates after construction, so no stale copies of a key linger on the heap. Copying is
// explicit (Copy()) so secrets are not duplicated by accident. Comparison is constant-time.
// Thread-compatible: concurrent const access is safe, mutation needs external synchronisation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace peat {

class SecureBytes {
 public:
  SecureBytes() = default;
  // `size` zero bytes.
  explicit SecureBytes(size_t size);
  // A copy of `bytes`.
  explicit SecureBytes(std::span<const uint8_t> bytes);
  // A copy of the bytes of `text` (the caller remains responsible for wiping `text`).
  static SecureBytes FromString(std::string_view text);

  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;
  ~SecureBytes();

  // A deep copy.
  SecureBytes Copy() const { return SecureBytes(span()); }

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint8_t& operator[](size_t i) { return data_[i]; }
  uint8_t operator[](size_t i) const { return data_[i]; }
  std::span<uint8_t> span() { return {data_.get(), size_}; }
  std::span<const uint8_t> span() const { return {data_.get(), size_}; }

  // Wipes and releases the buffer; size() becomes 0.
  void Clear();

  // Constant-time (in the length of the buffers) equality.
  friend bool operator==(const SecureBytes& a, const SecureBytes& b);

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

}  // namespace peat

// Formation proof: how two mesh nodes show each other, inside an authenticated TLS connection,
// that they belong to the same formation (same app id and same shared key) without revealing
// either (DESIGN.md "Mesh", BEHAVIOR.md "Formation isolation": both sides prove).
//
//   key   = HKDF-SHA256(IKM = shared key, salt = app id, info = "peat-mesh formation v1", L = 32)
//   proof = HMAC-SHA256(key, "peat-mesh proof v1" || role (1 byte: 0 dialer, 1 listener)
//                            || channel binding (32) || raw dialer id (32) || raw listener id (32))
//
// The channel binding is the TLS exporter of the connection (MeshConnection::channel_binding),
// so a proof is useless on any other connection; the role byte stops one side from reflecting
// the other's proof back; both endpoint ids (as verified by TLS) are bound in.
//
// No shared key: the HKDF helper refuses empty input key material, so an empty shared key is
// replaced by 32 zero bytes. Formation then rests on the app id alone, which is not a secret
// (and an all-zero shared key is the same formation as no key: both are public).
//
// AppIdHash lets a Hello carry a fingerprint of the app id so a refusal can say "app id
// mismatch" without putting the app id on the wire.
//
// Thread-safety: FormationKey is immutable after Derive; concurrent const calls are safe. It is
// move-only and wipes its key on destruction. The free functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/status.h"
#include "crypto/secure_bytes.h"

namespace peat::mesh {

enum class FormationRole : uint8_t { kDialer = 0, kListener = 1 };

class FormationKey {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kProofSize = 32;
  static constexpr size_t kChannelBindingSize = 32;
  using Proof = std::array<uint8_t, kProofSize>;

  // Derives the formation key. `shared_key` may be empty (formation by app id only, see above).
  // INTERNAL only if OpenSSL fails.
  static StatusOr<FormationKey> Derive(std::string_view app_id,
                                       std::span<const uint8_t> shared_key);

  FormationKey(FormationKey&&) noexcept = default;
  FormationKey& operator=(FormationKey&&) noexcept = default;
  FormationKey(const FormationKey&) = delete;
  FormationKey& operator=(const FormationKey&) = delete;
  ~FormationKey() = default;

  // The proof `role` sends on the connection with `channel_binding` between the two endpoints.
  // Endpoint ids are 64 hex characters (either case); INVALID_ARGUMENT otherwise. INTERNAL if
  // OpenSSL fails.
  StatusOr<Proof> Prove(FormationRole role, std::span<const uint8_t, 32> channel_binding,
                        std::string_view dialer_id_hex, std::string_view listener_id_hex) const;

  // True iff `proof` (raw bytes, as received) is exactly the proof `role` must send. Constant
  // time in the proof bytes (CRYPTO_memcmp); false for a proof of the wrong size or invalid ids.
  bool Verify(FormationRole role, std::span<const uint8_t, 32> channel_binding,
              std::string_view dialer_id_hex, std::string_view listener_id_hex,
              std::string_view proof) const;

 private:
  explicit FormationKey(SecureBytes key) : key_(std::move(key)) {}

  SecureBytes key_;
};

// First 16 bytes of SHA-256("peat-mesh app-id v1" || app_id).
std::array<uint8_t, 16> AppIdHash(std::string_view app_id);

}  // namespace peat::mesh

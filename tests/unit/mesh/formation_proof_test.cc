#include "mesh/formation_proof.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace peat::mesh {
namespace {

const std::string kDialer(64, '1');    // raw bytes 0x11 * 32
const std::string kListener(64, '2');  // raw bytes 0x22 * 32

std::array<uint8_t, 32> Binding(uint8_t start = 0) {
  std::array<uint8_t, 32> b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(start + i);
  return b;
}

std::vector<uint8_t> Stars() { return std::vector<uint8_t>(32, '*'); }

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

std::string AsString(const FormationKey::Proof& p) {
  return std::string(reinterpret_cast<const char*>(p.data()), p.size());
}

FormationKey MustDerive(std::string_view app_id, std::span<const uint8_t> key) {
  auto k = FormationKey::Derive(app_id, key);
  EXPECT_TRUE(k.ok()) << k.status().ToString();
  return std::move(k).value();
}

FormationKey::Proof MustProve(const FormationKey& key, FormationRole role,
                              const std::array<uint8_t, 32>& binding,
                              const std::string& dialer = kDialer,
                              const std::string& listener = kListener) {
  auto p = key.Prove(role, binding, dialer, listener);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : FormationKey::Proof{};
}

// Computed independently (Python hmac/hashlib, cross-checked with `openssl kdf HKDF` and
// `openssl mac HMAC`): app_id "peat-default", shared key 32 x '*', binding 00..1f,
// dialer 11 x 32, listener 22 x 32.
TEST(FormationProofTest, KnownAnswers) {
  FormationKey key = MustDerive("peat-default", Stars());
  EXPECT_EQ(Hex(MustProve(key, FormationRole::kDialer, Binding())),
            "e5a3c5d0daf3359434e811552d013e6ffa896adeb7009716cf73f79857583606");
  EXPECT_EQ(Hex(MustProve(key, FormationRole::kListener, Binding())),
            "a6ccc49a9ab46f4d12b9b89dbd7ae7566fc1e4b937b46d2f3ff0952f4909f641");
  // No shared key: IKM is 32 zero bytes.
  FormationKey open = MustDerive("peat-default", {});
  EXPECT_EQ(Hex(MustProve(open, FormationRole::kDialer, Binding())),
            "8cc96ef3f175c0a349cf30cacbccc081585be774864680efa59e4b3de2dc4732");
}

TEST(FormationProofTest, AppIdHashKnownAnswer) {
  EXPECT_EQ(Hex(AppIdHash("peat-default")), "5ab0e49b0522e3d0b7e067537332f1dc");
  EXPECT_NE(AppIdHash("peat-default"), AppIdHash("peat-other"));
  EXPECT_EQ(AppIdHash(""), AppIdHash(""));
}

TEST(FormationProofTest, Deterministic) {
  FormationKey a = MustDerive("app", Stars());
  FormationKey b = MustDerive("app", Stars());
  EXPECT_EQ(MustProve(a, FormationRole::kDialer, Binding()),
            MustProve(b, FormationRole::kDialer, Binding()));
}

TEST(FormationProofTest, EveryInputChangesTheProof) {
  FormationKey key = MustDerive("app", Stars());
  const auto base = MustProve(key, FormationRole::kDialer, Binding());
  EXPECT_NE(base, MustProve(key, FormationRole::kListener, Binding()));
  EXPECT_NE(base, MustProve(key, FormationRole::kDialer, Binding(1)));
  EXPECT_NE(base, MustProve(key, FormationRole::kDialer, Binding(), std::string(64, '3')));
  EXPECT_NE(base, MustProve(key, FormationRole::kDialer, Binding(), kDialer, std::string(64, '3')));
  // Swapping the ids is a different statement.
  EXPECT_NE(base, MustProve(key, FormationRole::kDialer, Binding(), kListener, kDialer));
  FormationKey other_app = MustDerive("app2", Stars());
  EXPECT_NE(base, MustProve(other_app, FormationRole::kDialer, Binding()));
  std::vector<uint8_t> other_secret = Stars();
  other_secret[31] ^= 1;
  FormationKey other_key = MustDerive("app", other_secret);
  EXPECT_NE(base, MustProve(other_key, FormationRole::kDialer, Binding()));
  FormationKey no_key = MustDerive("app", {});
  EXPECT_NE(base, MustProve(no_key, FormationRole::kDialer, Binding()));
}

TEST(FormationProofTest, UppercaseIdsDecodeToTheSameBytes) {
  FormationKey key = MustDerive("app", Stars());
  std::string upper_dialer(64, 'A'), lower_dialer(64, 'a');
  EXPECT_EQ(MustProve(key, FormationRole::kDialer, Binding(), upper_dialer),
            MustProve(key, FormationRole::kDialer, Binding(), lower_dialer));
}

TEST(FormationProofTest, VerifyAcceptsOnlyTheRightProof) {
  FormationKey key = MustDerive("app", Stars());
  const std::string proof = AsString(MustProve(key, FormationRole::kListener, Binding()));
  EXPECT_TRUE(key.Verify(FormationRole::kListener, Binding(), kDialer, kListener, proof));
  // Wrong role (a reflected proof), wrong binding, wrong ids.
  EXPECT_FALSE(key.Verify(FormationRole::kDialer, Binding(), kDialer, kListener, proof));
  EXPECT_FALSE(key.Verify(FormationRole::kListener, Binding(7), kDialer, kListener, proof));
  EXPECT_FALSE(key.Verify(FormationRole::kListener, Binding(), kListener, kDialer, proof));
  // Wrong key.
  FormationKey other = MustDerive("app", std::vector<uint8_t>(32, '+'));
  EXPECT_FALSE(other.Verify(FormationRole::kListener, Binding(), kDialer, kListener, proof));
  FormationKey other_app = MustDerive("other", Stars());
  EXPECT_FALSE(other_app.Verify(FormationRole::kListener, Binding(), kDialer, kListener, proof));
  // Truncated, extended, empty, one bit flipped.
  EXPECT_FALSE(
      key.Verify(FormationRole::kListener, Binding(), kDialer, kListener, proof.substr(0, 31)));
  EXPECT_FALSE(key.Verify(FormationRole::kListener, Binding(), kDialer, kListener, proof + "x"));
  EXPECT_FALSE(key.Verify(FormationRole::kListener, Binding(), kDialer, kListener, ""));
  std::string flipped = proof;
  flipped[5] ^= 0x10;
  EXPECT_FALSE(key.Verify(FormationRole::kListener, Binding(), kDialer, kListener, flipped));
}

TEST(FormationProofTest, InvalidEndpointIds) {
  FormationKey key = MustDerive("app", Stars());
  EXPECT_EQ(key.Prove(FormationRole::kDialer, Binding(), "abc", kListener).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      key.Prove(FormationRole::kDialer, Binding(), kDialer, std::string(64, 'g')).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      key.Prove(FormationRole::kDialer, Binding(), std::string(66, '1'), kListener).status().code(),
      StatusCode::kInvalidArgument);
  const std::string proof = AsString(MustProve(key, FormationRole::kDialer, Binding()));
  EXPECT_FALSE(key.Verify(FormationRole::kDialer, Binding(), "zz", kListener, proof));
}

TEST(FormationProofTest, EmptyAppIdWorks) {
  FormationKey a = MustDerive("", Stars());
  FormationKey b = MustDerive("x", Stars());
  EXPECT_NE(MustProve(a, FormationRole::kDialer, Binding()),
            MustProve(b, FormationRole::kDialer, Binding()));
}

TEST(FormationProofTest, MoveOnlyKeyStillWorksAfterMove) {
  FormationKey a = MustDerive("app", Stars());
  const auto before = MustProve(a, FormationRole::kDialer, Binding());
  FormationKey b = std::move(a);
  EXPECT_EQ(before, MustProve(b, FormationRole::kDialer, Binding()));
  static_assert(!std::is_copy_constructible_v<FormationKey>);
}

}  // namespace
}  // namespace peat::mesh

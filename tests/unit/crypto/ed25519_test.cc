#include "crypto/ed25519.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "crypto/hkdf.h"
#include "crypto/test_util.h"

namespace peat {
namespace {

using testing::FromHex;
using testing::ToHex;

// RFC 8032 §7.1, TEST 1 and TEST 2.
TEST(Ed25519Test, Rfc8032Vectors) {
  auto key = Ed25519Key::FromSeed(
      FromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(ToHex(key->PublicKey()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto sig = key->Sign({});
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(ToHex(*sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
            "39701cf9b46bd25bf5f0595bbe24655141438e7a100b");

  auto key2 = Ed25519Key::FromSeed(
      FromHex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));
  ASSERT_TRUE(key2.ok());
  EXPECT_EQ(ToHex(key2->PublicKey()),
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  const auto msg = FromHex("72");
  auto sig2 = key2->Sign(msg);
  ASSERT_TRUE(sig2.ok());
  EXPECT_EQ(ToHex(*sig2),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f"
            "3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
  EXPECT_TRUE(Ed25519Key::Verify(key2->PublicKey(), msg, *sig2));
}

TEST(Ed25519Test, SignVerifyAndTamper) {
  auto key = Ed25519Key::Generate();
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->Seed().size(), 32u);
  const std::string text = "formation hello";
  auto sig = key->Sign(AsBytes(text));
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(Ed25519Key::Verify(key->PublicKey(), AsBytes(text), *sig));
  EXPECT_FALSE(Ed25519Key::Verify(key->PublicKey(), AsBytes("formation hellO"), *sig));
  auto bad = *sig;
  bad[5] ^= 1;
  EXPECT_FALSE(Ed25519Key::Verify(key->PublicKey(), AsBytes(text), bad));
  auto other = Ed25519Key::Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->PublicKey(), key->PublicKey());
  EXPECT_FALSE(Ed25519Key::Verify(other->PublicKey(), AsBytes(text), *sig));
  // Wrong sizes are rejected, not crashed on.
  EXPECT_FALSE(Ed25519Key::Verify(std::span(key->PublicKey()).first(31), AsBytes(text), *sig));
  EXPECT_FALSE(Ed25519Key::Verify(key->PublicKey(), AsBytes(text), std::span(*sig).first(63)));
}

TEST(Ed25519Test, SeedRoundTripAndCopies) {
  auto key = Ed25519Key::Generate();
  ASSERT_TRUE(key.ok());
  auto again = Ed25519Key::FromSeed(key->Seed().span());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->PublicKey(), key->PublicKey());
  Ed25519Key copy = *key;
  EXPECT_TRUE(copy.Seed() == key->Seed());
  EXPECT_EQ(copy.PublicKey(), key->PublicKey());
  EXPECT_NE(copy.NativeHandle(), nullptr);
}

TEST(Ed25519Test, RejectsWrongSeedSize) {
  EXPECT_EQ(Ed25519Key::FromSeed(FromHex("0102")).status().code(), StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, ConcurrentSigningIsSafe) {
  auto key = Ed25519Key::Generate();
  ASSERT_TRUE(key.ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string m = std::to_string(t) + ":" + std::to_string(i);
        auto s = key->Sign(AsBytes(m));
        if (!s.ok() || !Ed25519Key::Verify(key->PublicKey(), AsBytes(m), *s)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace peat

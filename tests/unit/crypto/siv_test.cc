#include "crypto/siv.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crypto/test_util.h"

namespace peat {
namespace {

using testing::FromHex;
using testing::ToHex;

std::string Str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

Aes256SivKey KeyFromHex(std::string_view hex) {
  auto key = Aes256SivKey::Create(SecureBytes(FromHex(hex)));
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return std::move(key).value();
}

constexpr std::string_view kKeyHex =
    "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f06f6e6d6c6b6a69686766656463626160"
    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f";

// AES-SIV-CMAC-512 known answer (the dchest/siv vector Nettle's testsuite also uses): associated
// data [10..27, 02], plaintext 112233..ddee → tag || ciphertext.
TEST(SivTest, SealsAndOpensKnownAnswer) {
  auto key = KeyFromHex(kKeyHex);
  const std::string ad1 = Str(FromHex("101112131415161718191a1b1c1d1e1f2021222324252627"));
  const std::string ad2 = Str(FromHex("02"));
  const std::vector<std::string_view> ad = {ad1, ad2};
  const std::string pt = Str(FromHex("112233445566778899aabbccddee"));
  auto sealed = key.Seal(ad, pt);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(ToHex(*sealed), "6f740b421e2972d85e76189e99842843ad9e6ff14ea97c32ab315e67464c");
  auto opened = key.Open(ad, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, pt);
}

// OpenSSL's AES-256-SIV (EVP), the reference the implementation must match byte for byte.
std::string ReferenceSeal(const std::vector<uint8_t>& key, const std::vector<std::string>& ad,
                          const std::string& pt) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-SIV", nullptr);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::string out(16 + pt.size(), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int len = 0, fin = 0;
  bool ok = cipher != nullptr && ctx != nullptr &&
            EVP_EncryptInit_ex2(ctx, cipher, key.data(), nullptr, nullptr) == 1;
  for (const std::string& a : ad) {
    ok = ok &&
         EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(a.data()),
                           static_cast<int>(a.size())) == 1;
  }
  ok = ok &&
       EVP_EncryptUpdate(ctx, o + 16, &len, reinterpret_cast<const unsigned char*>(pt.data()),
                         static_cast<int>(pt.size())) == 1 &&
       EVP_EncryptFinal_ex(ctx, o + 16 + len, &fin) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, o) == 1;
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(cipher);
  EXPECT_TRUE(ok);
  return out;
}

TEST(SivTest, MatchesOpenSslOnRandomInputs) {
  std::mt19937_64 rng(20261206);
  auto bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  };
  for (int round = 0; round < 400; ++round) {
    std::vector<uint8_t> key(64);
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    auto sk = Aes256SivKey::Create(SecureBytes(key));
    ASSERT_TRUE(sk.ok());
    std::vector<std::string> ad(rng() % 5);
    for (auto& a : ad) a = bytes(rng() % 41);  // empty, partial, whole and several blocks
    const std::string pt = bytes(1 + rng() % 70);
    const std::vector<std::string_view> views(ad.begin(), ad.end());
    auto sealed = sk->Seal(views, pt);
    ASSERT_TRUE(sealed.ok());
    ASSERT_EQ(ToHex(*sealed), ToHex(ReferenceSeal(key, ad, pt)))
        << "round " << round << ": " << ad.size() << " ad components, " << pt.size() << " bytes";
    auto opened = sk->Open(views, *sealed);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, pt);
  }
}

TEST(SivTest, ConcurrentCallersGetTheirOwnContexts) {
  auto key = KeyFromHex(kKeyHex);
  const std::vector<std::string_view> ad = {"c", "d"};
  const std::string want = *key.Seal(ad, "field-name-0123456789");
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto s = key.Seal(ad, "field-name-0123456789");
        if (!s.ok() || *s != want || !key.Open(ad, *s).ok()) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(SivTest, DeterministicAndBoundToEveryAdComponent) {
  auto key = KeyFromHex(kKeyHex);
  const std::vector<std::string_view> ad = {"coll", "doc", ""};
  auto a = key.Seal(ad, "field");
  auto b = key.Seal(ad, "field");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->size(), Aes256SivKey::kTagBytes + 5);
  // Components are not concatenated: moving a byte across a boundary changes the result.
  for (const std::vector<std::string_view>& other :
       {std::vector<std::string_view>{"col", "ldoc", ""},
        {"coll", "doc"},
        {"coll", "doc", "", ""},
        {"coll", "dod", ""}}) {
    auto c = key.Seal(other, "field");
    ASSERT_TRUE(c.ok());
    EXPECT_NE(*c, *a);
    EXPECT_EQ(key.Open(other, *a).status().code(), StatusCode::kFailedPrecondition);
  }
}

TEST(SivTest, TamperingAndWrongKeysFailCleanly) {
  auto key = KeyFromHex(kKeyHex);
  const std::vector<std::string_view> ad = {"c", "d"};
  auto sealed = key.Seal(ad, "patient_name");
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string bad = *sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto r = key.Open(ad, bad);
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << "byte " << i;
    EXPECT_NE(r.status().message().find("cannot decrypt"), std::string::npos);
  }
  EXPECT_EQ(key.Open(ad, sealed->substr(0, Aes256SivKey::kTagBytes)).status().code(),
            StatusCode::kFailedPrecondition);
  auto other = KeyFromHex(std::string(128, '7'));
  EXPECT_EQ(other.Open(ad, *sealed).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(key.Seal(ad, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Aes256SivKey::Create(SecureBytes(32)).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace peat

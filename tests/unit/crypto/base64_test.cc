#include "crypto/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace peat {
namespace {

std::string Str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }
std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(Bytes(plain)), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded << ": " << decoded.status().ToString();
    EXPECT_EQ(Str(*decoded), plain);
  }
}

TEST(Base64Test, RoundTripsAllByteValues) {
  std::vector<uint8_t> all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<uint8_t>(i));
  for (size_t n = 0; n <= all.size(); n += 37) {
    std::span<const uint8_t> part(all.data(), n);
    auto decoded = Base64Decode(Base64Encode(part));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, std::vector<uint8_t>(part.begin(), part.end()));
  }
}

TEST(Base64Test, DecodesThe32ByteKeys) {
  auto zeros = Base64DecodeSecret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  ASSERT_TRUE(zeros.ok());
  ASSERT_EQ(zeros->size(), 32u);
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ((*zeros)[i], 0x00);
  auto stars = Base64DecodeSecret("KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=");
  ASSERT_TRUE(stars.ok());
  ASSERT_EQ(stars->size(), 32u);
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ((*stars)[i], 0x2a);
}

TEST(Base64Test, RejectsGarbage) {
  const char* bad[] = {
      "A",           // length not a multiple of 4
      "AAA",         // unpadded
      "Zg",          // unpadded
      "Zm9v!mFy",    // character outside the alphabet
      "Zm9v YmFy",   // whitespace
      "Zm9vYmFy\n",  // trailing newline
      "Zm-_",        // URL-safe alphabet
      "Z===",        // too much padding
      "====",        // only padding
      "Zg==Zg==",    // padding in the middle
      "Zm=v",        // '=' not at the end
      "QQ=A",        // data after padding (found by fuzz/base64_fuzzer: decoded like "QQ==")
      "QUJDQQ=A",    // the same in a later group
      "Zh==",        // non-zero trailing bits (non-canonical)
      "Zm9=",        // non-zero trailing bits (non-canonical)
      "not base64 at all!!",
  };
  for (const char* s : bad) {
    auto r = Base64Decode(s);
    EXPECT_FALSE(r.ok()) << "accepted: " << s;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
    EXPECT_FALSE(Base64DecodeSecret(s).ok()) << "accepted: " << s;
  }
}

TEST(Base64Test, ErrorsNeverEchoTheInput) {
  auto r = Base64Decode("c2VjcmV0!!!!");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("c2VjcmV0"), std::string::npos);
}

TEST(Base64Test, Key32DecodesExactly32BytesAndTeachesHowToMakeOne) {
  const std::string thirty_three(44, 'A');  // 44 characters without padding: 33 bytes
  auto key = DecodeBase64Key32(Base64Encode(std::vector<uint8_t>(32, 7)));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->size(), 32u);
  for (const std::string& bad : {std::string("AAAA"), std::string("%%%notbase64%%%"), thirty_three,
                                 Base64Encode(std::vector<uint8_t>(33, 7))}) {
    auto r = DecodeBase64Key32(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    const std::string m = r.status().message();
    EXPECT_EQ(m.rfind("must be base64 of exactly 32 bytes (", 0), 0u) << m;
    EXPECT_NE(m.find("; make one with: head -c 32 /dev/urandom | base64"), std::string::npos) << m;
    EXPECT_EQ(m.find(bad), std::string::npos) << "the key text is echoed: " << m;
  }
  EXPECT_NE(DecodeBase64Key32("AAAA").status().message().find("(decodes to 3 bytes)"),
            std::string::npos);
}

}  // namespace
}  // namespace peat

#include "rpc/gzip.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace peat::rpc {
namespace {

std::string PseudoRandomBytes(size_t n) {
  std::string out(n, '\0');
  uint32_t x = 2463534242u;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return out;
}

TEST(GzipTest, CompressWritesAGzipMemberHeader) {
  std::string z = GzipCompress("hello");
  ASSERT_GE(z.size(), 18u);  // 10-byte header + deflate data + 8-byte trailer
  EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(z[1]), 0x8b);
  EXPECT_EQ(static_cast<unsigned char>(z[2]), 0x08);  // deflate
}

TEST(GzipTest, RoundTripsSmallText) {
  auto out = GzipDecompress(GzipCompress("{\"service\":\"peat\"}"), 1024);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "{\"service\":\"peat\"}");
}

TEST(GzipTest, RoundTripsEmptyInput) {
  std::string z = GzipCompress("");
  EXPECT_FALSE(z.empty());
  auto out = GzipDecompress(z, 0);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "");
}

TEST(GzipTest, RoundTripsIncompressibleDataLargerThanOneBuffer) {
  std::string data = PseudoRandomBytes(200000);
  auto out = GzipDecompress(GzipCompress(data), data.size());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->size(), data.size());
  EXPECT_EQ(*out, data);
}

TEST(GzipTest, CompressesRepetitiveData) {
  std::string data(100000, 'a');
  EXPECT_LT(GzipCompress(data).size(), 1000u);
}

TEST(GzipTest, OutputExactlyAtTheLimitIsAccepted) {
  std::string data(50000, 'q');
  auto out = GzipDecompress(GzipCompress(data), 50000);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->size(), 50000u);
}

TEST(GzipTest, GzipBombBeyondMaxOutIsResourceExhausted) {
  std::string bomb = GzipCompress(std::string(64 << 20, '\0'));  // 64 MiB of zeros
  ASSERT_LT(bomb.size(), 100000u);
  auto out = GzipDecompress(bomb, 1 << 20);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(out.status().message().find("1048576"), std::string::npos) << out.status().message();
}

TEST(GzipTest, OneByteOverTheLimitIsResourceExhausted) {
  auto out = GzipDecompress(GzipCompress(std::string(1001, 'z')), 1000);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted);
}

TEST(GzipTest, NonGzipInputIsInvalidArgument) {
  auto out = GzipDecompress("this is not gzip at all", 1024);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
}

TEST(GzipTest, EmptyInputIsInvalidArgument) {
  auto out = GzipDecompress("", 1024);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
}

TEST(GzipTest, CorruptedDeflateDataIsInvalidArgument) {
  std::string z = GzipCompress(PseudoRandomBytes(4096));
  // Corrupt the CRC32 trailer: the data inflates but fails the integrity check.
  z[z.size() - 6] = static_cast<char>(z[z.size() - 6] ^ 0x55);
  auto out = GzipDecompress(z, 1 << 20);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
}

TEST(GzipTest, CorruptedHeaderIsInvalidArgument) {
  std::string z = GzipCompress("payload");
  z[2] = 0x07;  // unknown compression method
  auto out = GzipDecompress(z, 1024);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
}

TEST(GzipTest, TruncatedDataIsInvalidArgument) {
  std::string z = GzipCompress(PseudoRandomBytes(100000));
  for (size_t keep : {z.size() - 1, z.size() - 8, z.size() / 2, size_t{10}, size_t{3}}) {
    auto out = GzipDecompress(std::string_view(z).substr(0, keep), 1 << 20);
    ASSERT_FALSE(out.ok()) << "kept " << keep << " of " << z.size();
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << "kept " << keep;
  }
}

}  // namespace
}  // namespace peat::rpc

#include "rpc/envelope.h"

#include <gtest/gtest.h>

#include <string>

namespace peat::rpc {
namespace {

TEST(EnvelopeTest, AppendWritesFlagsAndBigEndianLength) {
  std::string out;
  AppendEnvelope(out, kEnvelopeCompressed, "abc");
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(out, std::string("\x01\x00\x00\x00\x03"
                             "abc",
                             8));
}

TEST(EnvelopeTest, AppendEncodesLargeLengthsMostSignificantByteFirst) {
  std::string payload(0x010203, 'x');
  std::string out;
  AppendEnvelope(out, kEnvelopeGrpcWebTrailers, payload);
  ASSERT_EQ(out.size(), kEnvelopeHeaderSize + payload.size());
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0x80);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 0x00);
  EXPECT_EQ(static_cast<unsigned char>(out[2]), 0x01);
  EXPECT_EQ(static_cast<unsigned char>(out[3]), 0x02);
  EXPECT_EQ(static_cast<unsigned char>(out[4]), 0x03);
}

TEST(EnvelopeTest, AppendAppendsToExistingContent) {
  std::string out = "prefix";
  AppendEnvelope(out, 0, "");
  EXPECT_EQ(out, std::string("prefix\x00\x00\x00\x00\x00", 11));
}

TEST(EnvelopeTest, ParseRoundTripsSeveralEnvelopes) {
  std::string body;
  AppendEnvelope(body, 0, "first");
  AppendEnvelope(body, kEnvelopeConnectEndStream, "");
  AppendEnvelope(body, kEnvelopeCompressed, std::string("\x00\x01\x02", 3));
  auto envs = ParseEnvelopes(body, 100);
  ASSERT_TRUE(envs.ok()) << envs.status().ToString();
  ASSERT_EQ(envs->size(), 3u);
  EXPECT_EQ((*envs)[0].flags, 0);
  EXPECT_EQ((*envs)[0].payload, "first");
  EXPECT_EQ((*envs)[1].flags, kEnvelopeConnectEndStream);
  EXPECT_EQ((*envs)[1].payload, "");
  EXPECT_EQ((*envs)[2].flags, kEnvelopeCompressed);
  EXPECT_EQ((*envs)[2].payload, std::string("\x00\x01\x02", 3));
}

TEST(EnvelopeTest, PayloadPointsIntoTheBody) {
  std::string body;
  AppendEnvelope(body, 0, "hello");
  auto envs = ParseEnvelopes(body, 100);
  ASSERT_TRUE(envs.ok());
  ASSERT_EQ(envs->size(), 1u);
  EXPECT_EQ((*envs)[0].payload.data(), body.data() + kEnvelopeHeaderSize);
}

TEST(EnvelopeTest, EmptyBodyHasNoEnvelopes) {
  auto envs = ParseEnvelopes("", 100);
  ASSERT_TRUE(envs.ok());
  EXPECT_TRUE(envs->empty());
}

TEST(EnvelopeTest, TruncatedPrefixIsInvalidArgument) {
  std::string body;
  AppendEnvelope(body, 0, "ok");
  body += std::string("\x00\x00\x00", 3);  // 3 of 5 prefix bytes
  auto envs = ParseEnvelopes(body, 100);
  ASSERT_FALSE(envs.ok());
  EXPECT_EQ(envs.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(envs.status().message().find("truncated"), std::string::npos);
}

TEST(EnvelopeTest, TruncatedPayloadIsInvalidArgument) {
  std::string body;
  AppendEnvelope(body, 0, "0123456789");
  body.pop_back();
  auto envs = ParseEnvelopes(body, 100);
  ASSERT_FALSE(envs.ok());
  EXPECT_EQ(envs.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(envs.status().message().find("declared 10 bytes, got 9"), std::string::npos)
      << envs.status().message();
}

TEST(EnvelopeTest, PayloadAtTheLimitIsAccepted) {
  std::string body;
  AppendEnvelope(body, 0, std::string(16, 'a'));
  auto envs = ParseEnvelopes(body, 16);
  ASSERT_TRUE(envs.ok());
  EXPECT_EQ((*envs)[0].payload.size(), 16u);
}

TEST(EnvelopeTest, PayloadOverTheLimitIsResourceExhausted) {
  std::string body;
  AppendEnvelope(body, 0, std::string(17, 'a'));
  auto envs = ParseEnvelopes(body, 16);
  ASSERT_FALSE(envs.ok());
  EXPECT_EQ(envs.status().code(), StatusCode::kResourceExhausted);
}

TEST(EnvelopeTest, DeclaredHugeLengthIsRefusedBeforeReadingThePayload) {
  // Only the prefix arrives, declaring 4 GiB - 1: the limit is checked first.
  std::string body("\x00\xff\xff\xff\xff", 5);
  auto envs = ParseEnvelopes(body, 4 << 20);
  ASSERT_FALSE(envs.ok());
  EXPECT_EQ(envs.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(envs.status().message().find("4294967295"), std::string::npos);
}

}  // namespace
}  // namespace peat::rpc

#include "mesh/frame_codec.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace peat::mesh {
namespace {

TEST(FrameCodecTest, EncodesBigEndianLengthPrefix) {
  EXPECT_EQ(EncodeFrame("abc"), std::string("\0\0\0\3abc", 7));
  EXPECT_EQ(EncodeFrame(""), std::string("\0\0\0\0", 4));
  std::string big(0x010203, 'x');
  std::string encoded = EncodeFrame(big);
  ASSERT_EQ(encoded.size(), big.size() + 4);
  EXPECT_EQ(encoded.substr(0, 4), std::string("\0\x01\x02\x03", 4));
}

TEST(FrameCodecTest, AppendFrameConcatenates) {
  std::string out;
  AppendFrame(out, "a");
  AppendFrame(out, "");
  AppendFrame(out, "bc");
  EXPECT_EQ(out, std::string("\0\0\0\1a\0\0\0\0\0\0\0\2bc", 15));
}

TEST(FrameCodecTest, RoundTripOneChunk) {
  std::vector<std::string> payloads = {"hello", "", std::string(1000, 'z'), "x"};
  std::string wire;
  for (const auto& p : payloads) AppendFrame(wire, p);
  FrameDecoder decoder(1 << 20);
  std::vector<std::string> frames;
  ASSERT_TRUE(decoder.Feed(wire, frames).ok());
  EXPECT_EQ(frames, payloads);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(FrameCodecTest, ZeroLengthFrames) {
  FrameDecoder decoder(16);
  std::vector<std::string> frames;
  ASSERT_TRUE(decoder.Feed(EncodeFrame("") + EncodeFrame(""), frames).ok());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_TRUE(frames[0].empty());
  EXPECT_TRUE(frames[1].empty());
}

TEST(FrameCodecTest, ByteByByte) {
  std::vector<std::string> payloads = {"first", "", "third frame", std::string(300, '\0')};
  std::string wire;
  for (const auto& p : payloads) AppendFrame(wire, p);
  FrameDecoder decoder(1024);
  std::vector<std::string> frames;
  for (char c : wire) {
    ASSERT_TRUE(decoder.Feed(std::string_view(&c, 1), frames).ok());
  }
  EXPECT_EQ(frames, payloads);
}

TEST(FrameCodecTest, RandomChunkingMatchesInput) {
  std::mt19937 rng(42);
  std::vector<std::string> payloads;
  std::string wire;
  for (int i = 0; i < 500; ++i) {
    std::string p(rng() % 2000, '\0');
    for (auto& c : p) c = static_cast<char>(rng());
    AppendFrame(wire, p);
    payloads.push_back(std::move(p));
  }
  for (int round = 0; round < 20; ++round) {
    FrameDecoder decoder(4096);
    std::vector<std::string> frames;
    size_t pos = 0;
    while (pos < wire.size()) {
      size_t n = std::min<size_t>(wire.size() - pos, 1 + rng() % 5000);
      ASSERT_TRUE(decoder.Feed(std::string_view(wire).substr(pos, n), frames).ok());
      pos += n;
    }
    ASSERT_EQ(frames, payloads) << "round " << round;
    EXPECT_EQ(decoder.buffered_bytes(), 0u);
  }
}

TEST(FrameCodecTest, SplitHeaderAndPayloadAreBuffered) {
  std::string wire = EncodeFrame("payload");
  FrameDecoder decoder(100);
  std::vector<std::string> frames;
  ASSERT_TRUE(decoder.Feed(wire.substr(0, 2), frames).ok());
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(decoder.buffered_bytes(), 2u);
  ASSERT_TRUE(decoder.Feed(wire.substr(2, 5), frames).ok());
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(decoder.buffered_bytes(), 7u);
  ASSERT_TRUE(decoder.Feed(wire.substr(7), frames).ok());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], "payload");
}

TEST(FrameCodecTest, FrameAtLimitIsAccepted) {
  FrameDecoder decoder(10);
  std::vector<std::string> frames;
  ASSERT_TRUE(decoder.Feed(EncodeFrame(std::string(10, 'a')), frames).ok());
  ASSERT_EQ(frames.size(), 1u);
}

TEST(FrameCodecTest, OversizeIsResourceExhaustedAndSticky) {
  FrameDecoder decoder(10);
  std::vector<std::string> frames;
  std::string wire = EncodeFrame("ok") + EncodeFrame(std::string(11, 'a')) + EncodeFrame("late");
  Status s = decoder.Feed(wire, frames);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("11"), std::string::npos) << s.message();
  // The frame before the bad header is still delivered; nothing after it.
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], "ok");
  EXPECT_TRUE(decoder.failed());
  frames.clear();
  EXPECT_EQ(decoder.Feed(EncodeFrame("x"), frames).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(frames.empty());
}

TEST(FrameCodecTest, HugeDeclaredLengthRejectedFromHeaderAlone) {
  FrameDecoder decoder(16 * 1024 * 1024);
  std::vector<std::string> frames;
  // 0xffffffff declared: refused before any payload arrives.
  EXPECT_EQ(decoder.Feed(std::string("\xff\xff\xff\xff", 4), frames).code(),
            StatusCode::kResourceExhausted);
}

TEST(FrameCodecTest, DeclaredLengthDoesNotPreallocateEverything) {
  FrameDecoder decoder(16 * 1024 * 1024);
  std::vector<std::string> frames;
  ASSERT_TRUE(decoder.Feed(std::string("\x00\xff\xff\xff", 4) + "abc", frames).ok());
  EXPECT_EQ(decoder.buffered_bytes(), 7u);
  EXPECT_TRUE(frames.empty());
}

}  // namespace
}  // namespace peat::mesh

#include "blob/manifest.h"

#include <gtest/gtest.h>

#include <string>

#include "blob/blob_hasher.h"
#include "blob/blob_test_util.h"

namespace peat::blob {
namespace {

using testing::Pattern;

struct Vector {
  const char* name;
  size_t size;  // bytes of Pattern(size); SIZE_MAX: "abc"
  const char* root;
  const char* file_sha256;
  size_t manifest_bytes;
};

// Computed independently (Python hashlib/struct) from the §15.1 definition.
const Vector kVectors[] = {
    {"empty", 0, "7cb92dac0a55b9a3df420803174f54cec03795f78f468d4b1de7bc315540d3dc",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 24},
    {"abc", SIZE_MAX, "89e235768a12b66fb3a135a3f4e69e840ececf194d0ba4ed81b6bc0729963bf5",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 56},
    {"one chunk", kChunkBytes, "c8695804caa5f326abe195e23d9aea24f662fe4bf79eddf394ee0a0440a958bf",
     "31a1f9dea0169551092d05e8bf4a446228c8c3eb4c9b713c66adcb7fd53c89be", 56},
    {"one chunk + 1", kChunkBytes + 1,
     "0a5ed4103cfa4980756b29b4b3ba8cdcde9d9fd9d1b9d4c9105c19029e04ac51",
     "6a102a35ef13d267bf487c1520d82b4ff541787bc8c288ccf98aeebe7686016a", 88},
};

TEST(BlobManifestTest, KnownAnswers) {
  for (const Vector& v : kVectors) {
    SCOPED_TRACE(v.name);
    const std::string data = v.size == SIZE_MAX ? std::string("abc") : Pattern(v.size);
    // Fed in odd pieces: the chunking must not depend on how the bytes arrive.
    BlobHasher hasher;
    for (size_t i = 0; i < data.size(); i += 100003) {
      const std::string_view piece = std::string_view(data).substr(i, 100003);
      hasher.Update({reinterpret_cast<const uint8_t*>(piece.data()), piece.size()});
    }
    auto d = hasher.Finish();
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(BlobToken(d->root), v.root);
    EXPECT_EQ(BlobToken(d->file_sha256), v.file_sha256);
    EXPECT_EQ(d->manifest_bytes.size(), v.manifest_bytes);
    EXPECT_EQ(d->size(), data.size());
    auto parsed = ParseManifestForRoot(d->manifest_bytes, d->root);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, d->manifest);
    EXPECT_EQ(parsed->Encode(), d->manifest_bytes);
  }
}

TEST(BlobManifestTest, ChunkGeometry) {
  BlobManifest m;
  m.size = 2 * kChunkBytes + 5;
  m.chunk_hashes.resize(3);
  EXPECT_EQ(m.ChunkLength(0), kChunkBytes);
  EXPECT_EQ(m.ChunkLength(2), 5u);
  EXPECT_EQ(m.ChunkOffset(2), 2ull * kChunkBytes);
  EXPECT_EQ(ChunkCountFor(0, kChunkBytes), 0u);
  EXPECT_EQ(ChunkCountFor(kChunkBytes, kChunkBytes), 1u);
  EXPECT_EQ(ChunkCountFor(kChunkBytes + 1, kChunkBytes), 2u);
}

std::string ValidManifest(uint64_t size) {
  BlobManifest m;
  m.size = size;
  m.chunk_hashes.resize(ChunkCountFor(size, kChunkBytes));
  for (size_t i = 0; i < m.chunk_hashes.size(); ++i) m.chunk_hashes[i].fill(uint8_t(i));
  return m.Encode();
}

void ExpectInvalid(const std::string& bytes, const std::string& fragment) {
  auto m = ParseManifest(bytes);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find(fragment), std::string::npos) << m.status().ToString();
}

TEST(BlobManifestTest, ParserRejectsMalformedInput) {
  const std::string good = ValidManifest(kChunkBytes + 1);
  ASSERT_TRUE(ParseManifest(good).ok());
  ExpectInvalid("", "shorter than its 24-byte header");
  ExpectInvalid(good.substr(0, 23), "shorter than");
  ExpectInvalid("peat-blob-v2" + good.substr(12), "does not start with");
  ExpectInvalid(good.substr(0, good.size() - 1), "not a multiple of 32");
  ExpectInvalid(good + "x", "not a multiple of 32");
  ExpectInvalid(good.substr(0, good.size() - 32), "1 chunk hashes, but size 262145 needs 2");
  ExpectInvalid(good + std::string(32, '\0'), "3 chunk hashes");
  ExpectInvalid(ValidManifest(0) + std::string(32, '\0'), "1 chunk hashes, but size 0 needs 0");
  // chunk_bytes: zero, not a power of two, too small, too large.
  for (uint32_t cb : {0u, 3000u * 1000u, 1024u, 32u * 1024u * 1024u}) {
    std::string bad = ValidManifest(0);
    for (int i = 0; i < 4; ++i) bad[20 + i] = char((cb >> (8 * (3 - i))) & 0xff);
    ExpectInvalid(bad, "chunk_bytes");
  }
  // A huge size with no hashes must not allocate anything.
  std::string huge = ValidManifest(0);
  for (int i = 12; i < 20; ++i) huge[i] = '\xff';
  ExpectInvalid(huge, "0 chunk hashes, but size 18446744073709551615 needs");
}

TEST(BlobManifestTest, RootMismatchIsDataLoss) {
  const std::string bytes = ValidManifest(10);
  BlobRoot other{};
  auto m = ParseManifestForRoot(bytes, other);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kDataLoss);
}

TEST(BlobManifestTest, Tokens) {
  BlobRoot r{};
  r[0] = 0xab;
  r[31] = 0x01;
  const std::string token = BlobToken(r);
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(token.substr(0, 2), "ab");
  EXPECT_EQ(*ParseBlobToken(token), r);
  EXPECT_FALSE(ParseBlobToken(token.substr(1)).ok());
  std::string upper = token;
  upper[0] = 'A';
  EXPECT_FALSE(ParseBlobToken(upper).ok());
  EXPECT_FALSE(ParseBlobToken(std::string(64, 'g')).ok());
}

}  // namespace
}  // namespace peat::blob

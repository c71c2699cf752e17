// Blob chunks at rest under an encryption key (ATTACHMENTS.md §20 decision 6).
#include <gtest/gtest.h>

#include <string>

#include "blob/blob_hasher.h"
#include "blob/blob_store.h"
#include "blob/blob_test_util.h"
#include "temp_dir.h"

namespace peat::blob {
namespace {

using testing::ReadFile;
using testing::WriteFile;

const std::string kKey(32, 'k');
const std::string kOtherKey(32, 'o');
constexpr std::string_view kCanary = "CANARY-plaintext-must-not-reach-the-disk";

// Three chunks full of the canary.
std::string CanaryContent() {
  std::string s;
  while (s.size() < 2 * kChunkBytes + 1000) s += kCanary;
  return s;
}

class BlobEncryptionTest : public ::testing::Test {
 protected:
  StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& key) {
    BlobStoreOptions o;
    o.root_dir = dir_.path() + "/blobs";
    if (!key.empty()) o.encryption_key = SecureBytes::FromString(key);
    return BlobStore::Open(std::move(o));
  }
  std::string Source(const std::string& bytes) {
    const std::string path = dir_.path() + "/src";
    WriteFile(path, bytes);
    return path;
  }
  static std::string ReadBack(BlobStore& store, const BlobRoot& root, const BlobManifest& m) {
    std::string out;
    for (uint64_t i = 0; i < m.chunk_count(); ++i) {
      auto piece = store.ReadChunk(root, i, 0, kChunkBytes);
      EXPECT_TRUE(piece.ok()) << piece.status().ToString();
      if (piece.ok()) out += *piece;
    }
    return out;
  }

  peat::testing::TempDir dir_{"peat-blob-enc"};
};

TEST_F(BlobEncryptionTest, IngestedChunksAreCiphertextAtRest) {
  const std::string content = CanaryContent();
  auto d = HashFile(Source(content));
  ASSERT_TRUE(d.ok());
  auto store = Open(kKey);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto r = (*store)->Ingest(Source(content));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The address is the plaintext's: encryption at rest changes nothing a peer sees.
  EXPECT_EQ(r->root, d->root);
  EXPECT_EQ(r->file_sha256, d->file_sha256);
  const std::string at_rest = ReadFile((*store)->CompletePath(r->root));
  EXPECT_EQ(at_rest.size(), content.size() + 3 * ChunkCipher::kOverheadBytes);
  EXPECT_EQ(at_rest.find(kCanary), std::string::npos);
  EXPECT_EQ(ReadBack(**store, r->root, d->manifest), content);
  EXPECT_EQ(*(*store)->ReadChunk(r->root, 2, 10, 20), content.substr(2 * kChunkBytes + 10, 20));
  // Idempotent without re-encrypting.
  auto again = (*store)->Ingest(Source(content));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_present);
  EXPECT_EQ(ReadFile((*store)->CompletePath(r->root)), at_rest);
}

TEST_F(BlobEncryptionTest, PartialChunksAreCiphertextAndResume) {
  const std::string content = CanaryContent();
  auto d = HashFile(Source(content));
  ASSERT_TRUE(d.ok());
  auto chunk = [&](uint64_t i) {
    return content.substr(i * kChunkBytes, d->manifest.ChunkLength(i));
  };
  BlobRoot root{};
  {
    auto store = Open(kKey);
    ASSERT_TRUE(store.ok());
    root = *(*store)->BeginPartial(d->manifest_bytes);
    ASSERT_TRUE((*store)->WriteChunk(root, 1, chunk(1)).ok());
    EXPECT_EQ(ReadFile((*store)->PartialPath(root)).find(kCanary), std::string::npos);
    EXPECT_EQ(*(*store)->ReadChunk(root, 1, 0, kChunkBytes), chunk(1));
  }
  auto store = Open(kKey);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*(*store)->MissingChunks(root), (std::vector<uint64_t>{0, 2}));
  ASSERT_TRUE((*store)->WriteChunk(root, 0, chunk(0)).ok());
  ASSERT_TRUE((*store)->WriteChunk(root, 2, chunk(2)).ok());
  ASSERT_TRUE((*store)->Complete(root, d->file_sha256).ok());
  EXPECT_EQ(ReadFile((*store)->CompletePath(root)).find(kCanary), std::string::npos);
  EXPECT_EQ(ReadBack(**store, root, d->manifest), content);
}

TEST_F(BlobEncryptionTest, WrongOrMissingKeyFailsClean) {
  {
    auto store = Open(kKey);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Ingest(Source(CanaryContent())).ok());
  }
  auto wrong = Open(kOtherKey);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(wrong.status().message().find("wrong encryption key"), std::string::npos);
  auto none = Open("");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Open(std::string(31, 'k')).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Open(kKey).ok());  // nothing was changed by the failed opens
}

TEST_F(BlobEncryptionTest, PlaintextStoreRefusesAKey) {
  ASSERT_TRUE(Open("").ok());
  auto keyed = Open(kKey);
  ASSERT_FALSE(keyed.ok());
  EXPECT_EQ(keyed.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(BlobEncryptionTest, ASwappedOrDamagedChunkDoesNotOpen) {
  const std::string content = CanaryContent();
  auto store = Open(kKey);
  ASSERT_TRUE(store.ok());
  auto r = (*store)->Ingest(Source(content));
  ASSERT_TRUE(r.ok());
  const std::string path = (*store)->CompletePath(r->root);
  std::string at_rest = ReadFile(path);
  const size_t stride = kChunkBytes + ChunkCipher::kOverheadBytes;
  // Chunk 0's sealed bytes copied over chunk 1: authentic ciphertext at the wrong index.
  at_rest.replace(stride, stride, at_rest.substr(0, stride));
  WriteFile(path, at_rest);
  EXPECT_EQ(*(*store)->ReadChunk(r->root, 0, 0, 10), content.substr(0, 10));
  EXPECT_EQ((*store)->ReadChunk(r->root, 1, 0, 10).status().code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace peat::blob

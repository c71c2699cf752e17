#include "blob/blob_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "blob/blob_hasher.h"
#include "blob/blob_test_util.h"
#include "temp_dir.h"

namespace peat::blob {
namespace {

using testing::Pattern;
using testing::RandomBytes;
using testing::ReadFile;
using testing::WriteFile;

constexpr size_t k600KiB = 600 * 1024;

class BlobStoreTest : public ::testing::Test {
 protected:
  std::string BlobsDir() const { return dir_.path() + "/blobs"; }

  std::unique_ptr<BlobStore> OpenStore(std::string key = "") {
    BlobStoreOptions o;
    o.root_dir = BlobsDir();
    if (!key.empty()) o.encryption_key = SecureBytes::FromString(key);
    auto s = BlobStore::Open(std::move(o));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  std::string Source(const std::string& bytes) {
    const std::string path = dir_.path() + "/src-" + std::to_string(sources_++);
    WriteFile(path, bytes);
    return path;
  }

  // Reads the whole blob back through ReadChunk in pieces of `piece` bytes.
  static std::string ReadAllChunks(BlobStore& store, const BlobRoot& root, size_t piece) {
    auto manifest_bytes = store.Manifest(root);
    EXPECT_TRUE(manifest_bytes.ok()) << manifest_bytes.status().ToString();
    auto m = ParseManifest(*manifest_bytes);
    std::string out;
    for (uint64_t i = 0; i < m->chunk_count(); ++i) {
      for (uint64_t off = 0; off < m->ChunkLength(i); off += piece) {
        auto bytes = store.ReadChunk(root, i, off, piece);
        EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
        out += *bytes;
      }
    }
    return out;
  }

  peat::testing::TempDir dir_{"peat-blob"};
  int sources_ = 0;
};

TEST_F(BlobStoreTest, IngestMultiChunkFileMatchesTheChunker) {
  auto store = OpenStore();
  const std::string content = RandomBytes(k600KiB, 1);
  const std::string src = Source(content);
  auto expected = HashFile(src);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  EXPECT_EQ(expected->manifest.chunk_count(), 3u);

  auto r = store->Ingest(src);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->root, expected->root);
  EXPECT_EQ(r->file_sha256, expected->file_sha256);
  EXPECT_EQ(r->size, content.size());
  EXPECT_FALSE(r->already_present);
  EXPECT_TRUE(store->Has(r->root));
  EXPECT_EQ(ReadFile(store->CompletePath(r->root)), content);
  EXPECT_EQ(ReadFile(store->CompletePath(r->root) + ".manifest"), expected->manifest_bytes);
  const std::string token = BlobToken(r->root);
  EXPECT_EQ(store->CompletePath(r->root), BlobsDir() + "/" + token.substr(0, 2) + "/" + token);
  EXPECT_EQ(ReadAllChunks(*store, r->root, 64 * 1024), content);
  EXPECT_EQ(store->Usage().complete_bytes, content.size() + expected->manifest_bytes.size());

  // A later edit of the source does not change the stored blob; ingesting again is idempotent.
  WriteFile(src, "changed");
  EXPECT_EQ(ReadFile(store->CompletePath(r->root)), content);
  const std::string again = Source(content);
  auto r2 = store->Ingest(again);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_TRUE(r2->already_present);
  EXPECT_EQ(r2->root, r->root);
  EXPECT_TRUE(std::filesystem::is_empty(BlobsDir() + "/tmp"));
}

TEST_F(BlobStoreTest, IngestEmptyFileAndErrors) {
  auto store = OpenStore();
  auto r = store->Ingest(Source(""));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(BlobToken(r->root), "7cb92dac0a55b9a3df420803174f54cec03795f78f468d4b1de7bc315540d3dc");
  EXPECT_TRUE(store->Has(r->root));
  EXPECT_EQ(*store->MissingChunks(r->root), std::vector<uint64_t>{});

  EXPECT_EQ(store->Ingest(dir_.path() + "/nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Ingest(dir_.path()).status().code(), StatusCode::kInvalidArgument);
}

// Ingest from an fd the caller opened (the sender's confined open, ATTACHMENTS.md §12): the whole
// file from offset 0, whatever the fd's position, in both at-rest modes.
TEST_F(BlobStoreTest, IngestFdReadsTheWholeOpenedFile) {
  for (const std::string& key : {std::string(), std::string(32, 'k')}) {
    auto store = OpenStore(key);
    const std::string content = RandomBytes(k600KiB, 7);
    const std::string src = Source(content);
    auto expected = HashFile(src);
    ASSERT_TRUE(expected.ok());
    auto fd = OpenFile(src, O_RDONLY);
    ASSERT_TRUE(fd.ok());
    struct stat st {};
    ASSERT_EQ(::fstat(fd->get(), &st), 0);
    char skip[100];
    ASSERT_EQ(::read(fd->get(), skip, sizeof(skip)), 100);
    auto r = store->IngestFd(fd->get(), "docs/src", st);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->root, expected->root);
    EXPECT_EQ(r->file_sha256, expected->file_sha256);
    EXPECT_EQ(ReadAllChunks(*store, r->root, 100000), content);
    store.reset();
    std::filesystem::remove_all(BlobsDir());
  }
}

// §16 row 27: a file whose size or mtime differ from what was seen at open is refused, in both
// at-rest modes, and nothing is left in the store.
TEST_F(BlobStoreTest, IngestFdRefusesAFileThatChanged) {
  for (const std::string& key : {std::string(), std::string(32, 'k')}) {
    auto store = OpenStore(key);
    for (const bool grow : {true, false}) {
      const std::string src = Source(RandomBytes(k600KiB, 8));
      auto fd = OpenFile(src, O_RDWR);
      ASSERT_TRUE(fd.ok());
      struct stat opened {};
      ASSERT_EQ(::fstat(fd->get(), &opened), 0);
      if (grow) {
        ASSERT_TRUE(PwriteAll(fd->get(), k600KiB, "more", src).ok());
      } else {  // same size, new content and a new mtime
        ASSERT_TRUE(PwriteAll(fd->get(), 0, "new!", src).ok());
        struct timespec times[2] = {opened.st_atim, opened.st_mtim};
        times[1].tv_sec += 5;
        ASSERT_EQ(::futimens(fd->get(), times), 0);
      }
      auto r = store->IngestFd(fd->get(), "docs/changing.bin", opened);
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
      EXPECT_NE(r.status().message().find("docs/changing.bin: file changed during ingest"),
                std::string::npos)
          << r.status().message();
      EXPECT_TRUE(std::filesystem::is_empty(BlobsDir() + "/tmp"));
      EXPECT_EQ(store->Usage().complete_bytes, 0u);
    }
    // A directory's fstat is refused before any read.
    struct stat dir_st {};
    ASSERT_EQ(::stat(dir_.path().c_str(), &dir_st), 0);
    EXPECT_EQ(store->IngestFd(-1, "dir", dir_st).status().code(), StatusCode::kInvalidArgument);
    store.reset();
    std::filesystem::remove_all(BlobsDir());
  }
}

TEST_F(BlobStoreTest, PartialFilledInRandomOrderRejectsABadChunk) {
  auto store = OpenStore();
  const std::string content = RandomBytes(k600KiB, 2);
  auto d = HashFile(Source(content));
  ASSERT_TRUE(d.ok());
  auto root = store->BeginPartial(d->manifest_bytes);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(*root, d->root);
  EXPECT_FALSE(store->Has(*root));
  EXPECT_EQ(*store->MissingChunks(*root), (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(std::filesystem::file_size(store->PartialPath(*root)), content.size());
  EXPECT_EQ(store->Usage().partial_bytes, content.size());

  auto chunk = [&](uint64_t i) {
    return content.substr(i * kChunkBytes, d->manifest.ChunkLength(i));
  };
  // A corrupted chunk: DATA_LOSS, and nothing recorded.
  std::string bad = chunk(1);
  bad[100] ^= 1;
  EXPECT_EQ(store->WriteChunk(*root, 1, bad).code(), StatusCode::kDataLoss);
  EXPECT_EQ(store->WriteChunk(*root, 1, chunk(1).substr(1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->WriteChunk(*root, 3, "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->MissingChunks(*root)->size(), 3u);
  // Unverified chunks are not served.
  EXPECT_EQ(store->ReadChunk(*root, 1, 0, 10).status().code(), StatusCode::kNotFound);

  std::vector<uint64_t> order{2, 0, 1};
  for (uint64_t i : order) {
    ASSERT_TRUE(store->WriteChunk(*root, i, chunk(i)).ok());
    // Verified chunks of a partial are served.
    EXPECT_EQ(*store->ReadChunk(*root, i, 5, 100), chunk(i).substr(5, 100));
    if (i == 2) {
      EXPECT_EQ(*store->MissingChunks(*root), (std::vector<uint64_t>{0, 1}));
      // Complete before every chunk is there.
      EXPECT_EQ(store->Complete(*root, std::nullopt).code(), StatusCode::kFailedPrecondition);
    }
  }
  EXPECT_TRUE(store->WriteChunk(*root, 0, chunk(0)).ok());  // a duplicate is harmless
  EXPECT_TRUE(store->MissingChunks(*root)->empty());

  // The wrong whole-file hash: DATA_LOSS, the partial stays.
  Sha256Digest wrong = d->file_sha256;
  wrong[0] ^= 1;
  EXPECT_EQ(store->Complete(*root, wrong).code(), StatusCode::kDataLoss);
  EXPECT_FALSE(store->Has(*root));
  ASSERT_TRUE(store->Complete(*root, d->file_sha256).ok());
  EXPECT_TRUE(store->Has(*root));
  EXPECT_FALSE(std::filesystem::exists(store->PartialPath(*root)));
  EXPECT_EQ(ReadFile(store->CompletePath(*root)), content);
  EXPECT_EQ(store->Usage().partial_bytes, 0u);
  EXPECT_EQ(*store->Manifest(*root), d->manifest_bytes);

  // The completed blob survives a restart; its partial row is gone.
  store.reset();
  store = OpenStore();
  EXPECT_TRUE(store->Has(*root));
  EXPECT_TRUE(store->MissingChunks(*root)->empty());
  EXPECT_EQ(ReadAllChunks(*store, *root, 1000 * 1000), content);
}

TEST_F(BlobStoreTest, BitmapSurvivesARestartMidFetch) {
  const std::string content = RandomBytes(5 * kChunkBytes + 17, 3);
  auto d = HashFile(Source(content));
  ASSERT_TRUE(d.ok());
  BlobRoot root{};
  {
    auto store = OpenStore();
    root = *store->BeginPartial(d->manifest_bytes);
    for (uint64_t i : {4, 1, 5}) {
      ASSERT_TRUE(
          store->WriteChunk(root, i, content.substr(i * kChunkBytes, d->manifest.ChunkLength(i)))
              .ok());
    }
    // The "crash": the store goes away without any shutdown step beyond closing its handles.
  }
  auto store = OpenStore();
  EXPECT_EQ(*store->MissingChunks(root), (std::vector<uint64_t>{0, 2, 3}));
  EXPECT_EQ(*store->ReadChunk(root, 5, 0, 100), content.substr(5 * kChunkBytes));
  EXPECT_EQ(*store->BeginPartial(d->manifest_bytes), root);  // resumes, does not reset
  EXPECT_EQ(store->MissingChunks(root)->size(), 3u);
  for (uint64_t i : {0, 2, 3}) {
    ASSERT_TRUE(
        store->WriteChunk(root, i, content.substr(i * kChunkBytes, d->manifest.ChunkLength(i)))
            .ok());
  }
  ASSERT_TRUE(store->Complete(root, d->file_sha256).ok());
  EXPECT_EQ(ReadFile(store->CompletePath(root)), content);
}

TEST_F(BlobStoreTest, OpenCleansWhatACrashCanLeave) {
  const std::string content = Pattern(1000);
  auto d = HashFile(Source(content));
  BlobRoot root{};
  {
    auto store = OpenStore();
    root = *store->BeginPartial(d->manifest_bytes);
  }
  // A temporary of an interrupted ingest and a partial file whose row was never committed.
  WriteFile(BlobsDir() + "/tmp/ingest-1-0", "half");
  BlobRoot orphan{};
  orphan.fill(0x42);
  WriteFile(BlobsDir() + "/partial/" + BlobToken(orphan), "x");
  auto store = OpenStore();
  EXPECT_TRUE(std::filesystem::is_empty(BlobsDir() + "/tmp"));
  EXPECT_FALSE(std::filesystem::exists(BlobsDir() + "/partial/" + BlobToken(orphan)));
  EXPECT_EQ(*store->MissingChunks(root), std::vector<uint64_t>{0});
}

TEST_F(BlobStoreTest, RemoveCompleteAndPartial) {
  auto store = OpenStore();
  auto complete = store->Ingest(Source(RandomBytes(300000, 4)));
  ASSERT_TRUE(complete.ok());
  auto d = HashFile(Source(RandomBytes(1000, 5)));
  auto partial = store->BeginPartial(d->manifest_bytes);
  ASSERT_TRUE(partial.ok());

  ASSERT_TRUE(store->Remove(complete->root).ok());
  EXPECT_FALSE(store->Has(complete->root));
  EXPECT_FALSE(std::filesystem::exists(store->CompletePath(complete->root) + ".manifest"));
  EXPECT_EQ(store->ReadChunk(complete->root, 0, 0, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Usage().complete_bytes, 0u);

  ASSERT_TRUE(store->Remove(*partial).ok());
  EXPECT_EQ(store->MissingChunks(*partial).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(store->PartialPath(*partial)));
  EXPECT_EQ(store->Usage().partial_bytes, 0u);
  EXPECT_TRUE(store->Remove(*partial).ok());  // idempotent

  store.reset();
  store = OpenStore();
  EXPECT_EQ(store->MissingChunks(*partial).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Usage().complete_bytes, 0u);
}

TEST_F(BlobStoreTest, ReadChunkBounds) {
  auto store = OpenStore();
  auto r = store->Ingest(Source(Pattern(kChunkBytes + 10)));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*store->ReadChunk(r->root, 1, 0, 1000), Pattern(kChunkBytes + 10).substr(kChunkBytes));
  EXPECT_EQ(store->ReadChunk(r->root, 1, 10, 5)->size(), 0u);
  EXPECT_EQ(store->ReadChunk(r->root, 1, 11, 5).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(store->ReadChunk(r->root, 2, 0, 5).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(store->BeginPartial("garbage").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace peat::blob

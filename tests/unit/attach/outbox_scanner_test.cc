#include "attach/outbox_scanner.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "attach/attach_test_util.h"

namespace peat::attach {
namespace {

namespace fs = std::filesystem;
using testing::Inode;
using testing::RootFixture;
using testing::Symlink;
using testing::WriteFile;

std::vector<std::string> Paths(const std::vector<OutboxFile>& files) {
  std::vector<std::string> out;
  for (const OutboxFile& f : files) out.push_back(f.root_name + ":" + f.relative_path);
  return out;
}

class OutboxScannerTest : public RootFixture {
 protected:
  std::vector<OutboxFile> Poll() { return scanner_.Poll(roots_); }
  OutboxScanner scanner_;
};

TEST_F(OutboxScannerTest, AFileIsStableAfterOnePollUnchanged) {
  WriteFile(InRoot("a.txt"), "hello");
  WriteFile(InRoot("sub/deep/b.txt"), "bee");
  EXPECT_TRUE(Poll().empty());  // first sight: not stable yet
  const std::vector<OutboxFile> stable = Poll();
  EXPECT_EQ(Paths(stable), (std::vector<std::string>{"docs:a.txt", "docs:sub/deep/b.txt"}));
  const OutboxFile& a = stable[0];
  struct stat st {};
  ASSERT_EQ(::stat(InRoot("a.txt").c_str(), &st), 0);
  EXPECT_EQ(a.size, 5u);
  EXPECT_EQ(a.inode, Inode(InRoot("a.txt")));
  EXPECT_EQ(a.mtime_ns, int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec);
  EXPECT_EQ(Poll(), stable);  // still stable: the ledger decides about resending
}

TEST_F(OutboxScannerTest, AChangedFileWaitsOneMorePoll) {
  WriteFile(InRoot("a.txt"), "hello");
  WriteFile(InRoot("b.txt"), "bee");
  Poll();
  ASSERT_EQ(Poll().size(), 2u);
  WriteFile(InRoot("a.txt"), "hello, longer");  // size (and mtime) change
  EXPECT_EQ(Paths(Poll()), (std::vector<std::string>{"docs:b.txt"}));
  EXPECT_EQ(Paths(Poll()), (std::vector<std::string>{"docs:a.txt", "docs:b.txt"}));

  // Same size and mtime, but another inode (replaced by a rename): a new version.
  struct stat st {};
  ASSERT_EQ(::stat(InRoot("b.txt").c_str(), &st), 0);
  WriteFile(InRoot("b.new"), "BEE");
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, InRoot("b.new").c_str(), times, 0), 0);
  fs::rename(InRoot("b.new"), InRoot("b.txt"));
  EXPECT_EQ(Paths(Poll()), (std::vector<std::string>{"docs:a.txt"}));

  // A file that disappears is forgotten: when it comes back it starts over.
  fs::remove(InRoot("a.txt"));
  EXPECT_EQ(Paths(Poll()), (std::vector<std::string>{"docs:b.txt"}));
  WriteFile(InRoot("a.txt"), "hello, longer");
  EXPECT_EQ(Paths(Poll()), (std::vector<std::string>{"docs:b.txt"}));
}

TEST_F(OutboxScannerTest, SkipsDotNamesSymlinksAndSpecialFiles) {
  WriteFile(InRoot("a.txt"), "hello");
  WriteFile(InRoot(".hidden"), "h");
  WriteFile(InRoot(".dotdir/c.txt"), "c");
  WriteFile(InRoot("sub/.d.txt.x.partial"), "p");
  WriteFile(Outside() + "/o.txt", "outside");
  Symlink("a.txt", InRoot("link"));
  Symlink(Outside(), InRoot("dirlink"));
  ASSERT_EQ(::mkfifo(InRoot("fifo").c_str(), 0600), 0);
  Poll();
  EXPECT_EQ(Paths(Poll()), (std::vector<std::string>{"docs:a.txt"}));
}

TEST_F(OutboxScannerTest, EveryRootInNameOrder) {
  fs::create_directories(dir_.path() + "/second");
  auto second = OpenAttachmentRoot("alpha", dir_.path() + "/second");
  ASSERT_TRUE(second.ok());
  roots_.emplace("alpha", std::move(*second));
  WriteFile(dir_.path() + "/second/z.txt", "z");
  WriteFile(InRoot("a.txt"), "a");
  Poll();
  EXPECT_EQ(Paths(Poll()), (std::vector<std::string>{"alpha:z.txt", "docs:a.txt"}));
  // A root that vanished yields nothing; the others still do.
  fs::remove_all(dir_.path() + "/second");
  EXPECT_EQ(Paths(Poll()), (std::vector<std::string>{"docs:a.txt"}));
}

TEST(OutboxBundleIdTest, KnownAnswers) {
  std::string sha(32, '\0');
  for (int i = 0; i < 32; ++i) sha[i] = static_cast<char>(i);
  // python3: hashlib.sha256(b'docs/sub/a.txt\0' + bytes(range(32))).hexdigest()[:32]
  EXPECT_EQ(*OutboxBundleId("docs", "sub/a.txt", sha), "outbox-ab3c98b7f4b98b4e0d2e9bcffa15f52a");
  EXPECT_EQ(*OutboxBundleId("docs", "sub/b.txt", sha), "outbox-20124ddfca2b8efd9c0f24bdcea3c407");
  for (int i = 0; i < 32; ++i) sha[i] = static_cast<char>(i + 1);
  EXPECT_EQ(*OutboxBundleId("docs", "sub/a.txt", sha), "outbox-5568688d8a6c83aec1e2161fe926984c");
  // Root names hold no '/', so (root, rel) maps to one hashed text; another root, another id.
  EXPECT_NE(*OutboxBundleId("alpha", "sub/a.txt", sha), *OutboxBundleId("docs", "sub/a.txt", sha));
}

}  // namespace
}  // namespace peat::attach

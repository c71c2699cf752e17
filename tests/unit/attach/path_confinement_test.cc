#include "attach/path_confinement.h"

#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>
#include <thread>

#include "attach/attach_test_util.h"

namespace peat::attach {
namespace {

using testing::ExpectAsUnprivileged;
using testing::Inode;
using testing::RootFixture;
using testing::Symlink;
using testing::WriteFile;

TEST(AttachmentRootTest, NamesFollowTheOriginalCharset) {
  EXPECT_TRUE(IsValidRootName("docs"));
  EXPECT_TRUE(IsValidRootName("A-z_09"));
  EXPECT_FALSE(IsValidRootName(""));
  EXPECT_FALSE(IsValidRootName("a.b"));  // decision 3: no '.'
  EXPECT_FALSE(IsValidRootName("a/b"));
  EXPECT_FALSE(IsValidRootName("a b"));
  EXPECT_FALSE(IsValidRootName("\xc3\xa9"));
}

TEST(AttachmentRootTest, OpenCanonicalizesAndRequiresADirectory) {
  peat::testing::TempDir dir("peat-attach-root");
  std::filesystem::create_directories(dir.path() + "/real/x");
  Symlink(dir.path() + "/real", dir.path() + "/alias");
  WriteFile(dir.path() + "/file", "x");

  auto root = OpenAttachmentRoot("r", dir.path() + "/alias/x/../x/");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->name, "r");
  EXPECT_EQ(root->path, std::filesystem::canonical(dir.path() + "/real/x").string());
  EXPECT_GE(root->dir.get(), 0);

  for (const std::string& bad : {dir.path() + "/missing", dir.path() + "/file", std::string()}) {
    auto r = OpenAttachmentRoot("r", bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(OpenAttachmentRoot("a.b", dir.path()).status().code(), StatusCode::kInvalidArgument);

  auto all = OpenAttachmentRoots({{"one", dir.path() + "/real"}, {"two", dir.path() + "/real/x"}});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at("two").path, root->path);
  auto bad = OpenAttachmentRoots({{"one", dir.path() + "/real"}, {"two", dir.path() + "/file"}});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("`two`"), std::string::npos) << bad.status().message();
}

TEST(AttachmentRootTest, RootContainingFindsTheInboxInsideARoot) {
  peat::testing::TempDir dir("peat-attach-root");
  std::filesystem::create_directories(dir.path() + "/roots/docs/inbox");
  std::filesystem::create_directories(dir.path() + "/roots/docs2");
  std::filesystem::create_directories(dir.path() + "/data/inbox");
  Symlink(dir.path() + "/roots/docs/inbox", dir.path() + "/alias");
  auto roots = OpenAttachmentRoots({{"docs", dir.path() + "/roots/docs"}});
  ASSERT_TRUE(roots.ok());
  EXPECT_EQ(*RootContaining(dir.path() + "/roots/docs/inbox", *roots), "docs");
  EXPECT_EQ(*RootContaining(dir.path() + "/roots/docs", *roots), "docs");
  EXPECT_EQ(*RootContaining(dir.path() + "/alias", *roots), "docs");              // canonicalized
  EXPECT_EQ(*RootContaining(dir.path() + "/roots/docs2", *roots), std::nullopt);  // not a prefix
  EXPECT_EQ(*RootContaining(dir.path() + "/data/inbox", *roots), std::nullopt);
  EXPECT_EQ(RootContaining(dir.path() + "/missing", *roots).status().code(),
            StatusCode::kInvalidArgument);
}

// §16 row 15 and 17 (NUL), without I/O.
TEST(RelativePathSyntaxTest, RejectsEmptyAbsoluteDotDotAndNul) {
  for (const std::string& rel :
       {std::string(""), std::string("/etc/passwd"), std::string("../x"), std::string("a/../b"),
        std::string("a/.."), std::string(".."), std::string("a.txt\0x", 7)}) {
    Status s = CheckRelativePathSyntax(rel, "files[3].relative_path");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << rel;
    EXPECT_TRUE(s.message().starts_with("files[3].relative_path: ")) << s.message();
  }
  // Row 16 and names that only look like `..`.
  for (const char* rel : {"./a.txt", "a//b.txt", "a/./b", "...", "..a", "a..", ".hidden", "a/"}) {
    EXPECT_TRUE(CheckRelativePathSyntax(rel, "f").ok()) << rel;
  }
}

// Both implementations must give the same answers: every test runs with each ("openat2": the
// production entry point; "walk": the fallback called directly).
class OpenBeneathTest : public RootFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    RootFixture::SetUp();
    WriteFile(InRoot("a.txt"), "hello");
    WriteFile(InRoot("sub/b.txt"), "bee");
    WriteFile(Outside() + "/secret.txt", "secret");
  }

  StatusOr<OpenedFile> Open(std::string_view rel) {
    return GetParam() == "walk" ? OpenBeneathByWalk(DocsRoot(), rel, "files[2]")
                                : OpenBeneath(DocsRoot(), rel, "files[2]");
  }

  // The answer must be INVALID_ARGUMENT with a message that starts with `prefix`.
  void ExpectInvalid(std::string_view rel, std::string_view prefix, std::string_view reason = "") {
    auto r = Open(rel);
    ASSERT_FALSE(r.ok()) << rel;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    EXPECT_TRUE(r.status().message().starts_with(prefix)) << r.status().message();
    EXPECT_NE(r.status().message().find(reason), std::string::npos) << r.status().message();
  }

  void ExpectOpens(std::string_view rel, const std::string& same_as) {
    auto r = Open(rel);
    ASSERT_TRUE(r.ok()) << rel << ": " << r.status().ToString();
    EXPECT_EQ(r->st.st_ino, Inode(same_as)) << rel;
    EXPECT_TRUE(S_ISREG(r->st.st_mode));
    char c = 0;
    EXPECT_EQ(::read(r->fd.get(), &c, 1), 1);  // readable, blocking mode restored
    EXPECT_EQ(::fcntl(r->fd.get(), F_GETFL) & O_NONBLOCK, 0);
  }
};

constexpr std::string_view kPathField = "files[2].relative_path: ";

TEST_P(OpenBeneathTest, Row15SyntaxErrorsNameTheRelativePath) {
  for (const char* rel : {"", "/etc/passwd", "../x", "a/../b", "a/.."}) {
    ExpectInvalid(rel, kPathField);
  }
}

TEST_P(OpenBeneathTest, Row16DotAndDoubleSlashAreAccepted) {
  ExpectOpens("./a.txt", InRoot("a.txt"));
  ExpectOpens("sub//b.txt", InRoot("sub/b.txt"));
  ExpectOpens("./sub/./b.txt", InRoot("sub/b.txt"));
}

TEST_P(OpenBeneathTest, Row17MissingTrailingSlashAndNul) {
  ExpectInvalid("nope.txt", kPathField, "cannot be resolved");
  ExpectInvalid("sub/nope/b.txt", kPathField, "cannot be resolved");
  ExpectInvalid("a.txt/", kPathField, "cannot be resolved");
  ExpectInvalid("a.txt/x", kPathField, "cannot be resolved");
  ExpectInvalid("sub/", kPathField, "not a regular file");
  ExpectInvalid(std::string("a.txt\0b", 7), kPathField);
  ExpectInvalid(std::string(5000, 'x'), kPathField, "cannot be resolved");
}

TEST_P(OpenBeneathTest, Row18SymlinksOutOfTheRootEscape) {
  Symlink("/etc/passwd", InRoot("passwd"));
  Symlink("../outside/secret.txt", InRoot("rel_out"));
  Symlink("../../outside", InRoot("sub/out_dir"));
  Symlink(Root() + "/a.txt", InRoot("abs_in"));  // absolute targets are refused even in the root
  ExpectInvalid("passwd", kPathField, "escapes the attachment root");
  ExpectInvalid("rel_out", kPathField, "escapes the attachment root");
  ExpectInvalid("sub/out_dir/secret.txt", kPathField, "escapes the attachment root");
  ExpectInvalid("abs_in", kPathField, "escapes the attachment root");
}

TEST_P(OpenBeneathTest, Row19SymlinksInsideTheRootAreFollowed) {
  Symlink("a.txt", InRoot("link"));
  Symlink("sub", InRoot("dir_link"));
  Symlink("../a.txt", InRoot("sub/up"));
  Symlink("up", InRoot("sub/chain"));
  Symlink("sub/../sub/b.txt", InRoot("dotdot_in"));
  ExpectOpens("link", InRoot("a.txt"));
  ExpectOpens("dir_link/b.txt", InRoot("sub/b.txt"));
  ExpectOpens("sub/up", InRoot("a.txt"));
  ExpectOpens("dir_link/chain", InRoot("a.txt"));
  ExpectOpens("dotdot_in", InRoot("sub/b.txt"));
}

TEST_P(OpenBeneathTest, SymlinkLoopsCannotBeResolved) {
  Symlink("loop2", InRoot("loop1"));
  Symlink("loop1", InRoot("loop2"));
  ExpectInvalid("loop1", kPathField, "cannot be resolved");
}

TEST_P(OpenBeneathTest, Row20OnlyRegularFiles) {
  ASSERT_EQ(::mkfifo(InRoot("fifo").c_str(), 0600), 0);
  ExpectInvalid("sub", kPathField, "not a regular file");
  ExpectInvalid(".", kPathField, "not a regular file");
  ExpectInvalid("fifo", kPathField, "not a regular file");  // and the open did not block

  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock_path = InRoot("sock");
  ASSERT_LT(sock_path.size(), sizeof(addr.sun_path));
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path.c_str());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ExpectInvalid("sock", kPathField, "not a regular file");
  ::close(sock);

  // A device node needs CAP_MKNOD; where it can be made it must be refused too.
  if (::mknod(InRoot("null").c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0) {
    ExpectInvalid("null", kPathField, "not a regular file");
  }
}

// §16 row 24 (EACCES on the file: field `files[i]`, step 7) and step 4d (EACCES on a directory:
// the path cannot be resolved), checked as an unprivileged user.
TEST_P(OpenBeneathTest, Row24UnreadableFileAndUnsearchableDirectory) {
  WriteFile(InRoot("locked/f.txt"), "f");
  ASSERT_EQ(::chmod(InRoot("a.txt").c_str(), 0), 0);
  ASSERT_EQ(::chmod(InRoot("locked").c_str(), 0), 0);
  MakeTraversable();
  ExpectAsUnprivileged([&]() -> std::string {
    auto file = Open("a.txt");
    if (file.status().code() != StatusCode::kInvalidArgument ||
        !file.status().message().starts_with("files[2]: cannot be opened for reading")) {
      return "a.txt: " + file.status().ToString();
    }
    auto dir = Open("locked/f.txt");
    if (dir.status().code() != StatusCode::kInvalidArgument ||
        !dir.status().message().starts_with("files[2].relative_path: cannot be resolved")) {
      return "locked/f.txt: " + dir.status().ToString();
    }
    return "";
  });
  ::chmod(InRoot("locked").c_str(), 0755);  // so that the scratch tree can be removed
}

// §16 row 26, §18: a thread swaps `d` (a directory in the root) with a symlink to a directory
// outside the root 10,000 times while this thread opens `d/f.txt` through it: every open that
// succeeds yields the file inside the root, never the one outside.
TEST_P(OpenBeneathTest, Row26DirectorySwappedForASymlinkNeverLeavesTheRoot) {
  WriteFile(InRoot("d/f.txt"), "inside");
  WriteFile(Outside() + "/f.txt", "outside");
  Symlink("../outside", InRoot("alt"));
  const ino_t inside = Inode(InRoot("d/f.txt"));
  const ino_t outside = Inode(Outside() + "/f.txt");

  std::atomic<bool> done{false};
  std::atomic<int> swap_errors{0};
  std::thread flipper([&] {
    const std::string d = InRoot("d"), alt = InRoot("alt");
    for (int i = 0; i < 10000; ++i) {
      if (::renameat2(AT_FDCWD, d.c_str(), AT_FDCWD, alt.c_str(), RENAME_EXCHANGE) != 0) {
        swap_errors.fetch_add(1);
      }
    }
    done.store(true);
  });
  int opened = 0, refused = 0, outside_opens = 0, wrong_inode = 0;
  while (!done.load()) {
    auto r = Open("d/f.txt");
    if (!r.ok()) {
      ++refused;
      continue;
    }
    ++opened;
    if (r->st.st_ino == outside) ++outside_opens;
    if (r->st.st_ino != inside) ++wrong_inode;
  }
  flipper.join();
  EXPECT_EQ(swap_errors.load(), 0);
  EXPECT_EQ(outside_opens, 0);
  EXPECT_EQ(wrong_inode, 0);
  EXPECT_GT(opened + refused, 0);
}

// Without openat2 (a seccomp filter answers ENOSYS, or EPERM as older container profiles do),
// OpenBeneath itself falls back to the walk and gives the same answers. Runs in a forked child:
// the filter cannot be removed once installed.
class OpenBeneathFallbackTest : public RootFixture, public ::testing::WithParamInterface<int> {};

// 0 when the answers were right, else the number of the first wrong one.
int OpenWithoutOpenat2(const AttachmentRoot& root, const std::string& inside, int err) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K,
               SECCOMP_RET_ERRNO | (static_cast<uint32_t>(err) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(std::size(filter)), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 1;
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) return 2;
  if (::syscall(SYS_openat2, AT_FDCWD, ".", nullptr, 0) != -1 || errno != err) return 3;
  for (int round = 0; round < 2; ++round) {  // the second time after ENOSYS was remembered
    auto ok = OpenBeneath(root, "link", "files[0]");
    if (!ok.ok() || ok->st.st_ino != Inode(inside)) return 4;
    auto escape = OpenBeneath(root, "passwd", "files[0]");
    if (escape.status().message() != "files[0].relative_path: escapes the attachment root")
      return 5;
    auto missing = OpenBeneath(root, "nope", "files[0]");
    if (missing.status().code() != StatusCode::kInvalidArgument) return 6;
  }
  return 0;
}

TEST_P(OpenBeneathFallbackTest, WalksWhenOpenat2IsBlocked) {
  WriteFile(InRoot("a.txt"), "hello");
  Symlink("a.txt", InRoot("link"));
  Symlink("/etc/passwd", InRoot("passwd"));
  EXPECT_EXIT(std::exit(OpenWithoutOpenat2(DocsRoot(), InRoot("a.txt"), GetParam())),
              ::testing::ExitedWithCode(0), "");
}

INSTANTIATE_TEST_SUITE_P(Errno, OpenBeneathFallbackTest, ::testing::Values(ENOSYS, EPERM),
                         [](const auto& info) {
                           return info.param == ENOSYS ? "ENOSYS" : "EPERM";
                         });

INSTANTIATE_TEST_SUITE_P(Both, OpenBeneathTest, ::testing::Values("openat2", "walk"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace peat::attach

#include "attach/inbox_writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "attach/attach_test_util.h"
#include "temp_dir.h"

namespace peat::attach {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::Symlink;
using testing::WriteFile;

constexpr std::string_view kId = "0f0e0d0c-0b0a-4908-8706-050403020100";

TEST(InboxRelativeNameTest, Table) {
  const std::string fallback = std::string(kId) + ".bin";
  const std::string c255(255, 'c');
  std::string total4096;  // 17 components of 240 bytes and 16 separators
  for (int i = 0; i < 17; ++i) total4096 += (i ? "/" : "") + std::string(240, 'c');
  ASSERT_EQ(total4096.size(), 4096u);

  const struct {
    std::string name;
    std::string want;
  } rows[] = {
      {"report.pdf", "report.pdf"},
      {"sub/dir/file.txt", "sub/dir/file.txt"},
      {"./a//b/./c", "a/b/c"},
      {"/abs/path.txt", "abs/path.txt"},  // the empty first component is dropped
      {"trailing/", "trailing"},
      {".hidden", ".hidden"},
      {"...", "..."},
      {"x.partial", "x.partial"},
      {".partial", ".partial"},
      {"caf\xc3\xa9/\xc3\xbc.txt", "caf\xc3\xa9/\xc3\xbc.txt"},
      {c255, c255},
      {total4096, total4096},
      {"", fallback},
      {"/", fallback},
      {"./.", fallback},
      {"..", fallback},
      {"../x", fallback},
      {"a/../b", fallback},
      {"a/..", fallback},
      {std::string("a\0b", 3), fallback},
      {"line\nbreak", fallback},
      {"tab\t", fallback},
      {"del\x7f", fallback},
      {"c1\xc2\x9b", fallback},
      {c255 + "c", fallback},
      {total4096 + "z", fallback},
      {".x.partial", fallback},  // would look like our own temporary
      {"sub/.y.z.partial", fallback},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(InboxRelativeName(row.name, kId), row.want) << "name: " << row.name;
  }
}

class InboxWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(Outside());
    auto w = InboxWriter::Open(Inbox());
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    writer_.emplace(std::move(*w));
  }
  std::string Inbox() const { return dir_.path() + "/data/inbox"; }
  std::string Outside() const { return dir_.path() + "/outside"; }
  std::string InInbox(const std::string& rel) const { return Inbox() + "/" + rel; }

  static Sha256Digest Sha(const std::string& s) { return *Sha256Of(s); }
  static InboxWriter::Reader From(const std::string& s) {
    return [&s](uint64_t offset, size_t max_len) -> StatusOr<std::string> {
      return s.substr(offset, max_len);
    };
  }
  StatusOr<std::string> Deliver(const std::string& rel, const std::string& content) {
    return writer_->Deliver(rel, kId, content.size(), Sha(content), From(content));
  }
  // Every file name under the inbox, recursively (symlinks not followed).
  std::vector<std::string> Listing() const {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(Inbox())) {
      out.push_back(e.path().lexically_relative(Inbox()).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  peat::testing::TempDir dir_{"peat-inbox"};
  std::optional<InboxWriter> writer_;
};

TEST_F(InboxWriterTest, DeliversThroughATemporaryAndRenamesIntoPlace) {
  std::string content;
  while (content.size() < (5u << 19)) content += "chunk of a payload ";  // several reads
  const std::string temp = InInbox("a/b/." + std::string("f.bin.") + std::string(kId) + ".partial");
  int reads = 0;
  auto r = writer_->Deliver("a/b/f.bin", kId, content.size(), Sha(content),
                            [&](uint64_t offset, size_t max_len) -> StatusOr<std::string> {
                              ++reads;
                              // While writing: only the temporary exists.
                              EXPECT_TRUE(fs::is_regular_file(temp));
                              EXPECT_FALSE(fs::exists(InInbox("a/b/f.bin")));
                              return content.substr(offset, max_len);
                            });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "a/b/f.bin");
  EXPECT_GE(reads, 3);
  EXPECT_EQ(ReadFile(InInbox("a/b/f.bin")), content);
  EXPECT_EQ(fs::status(InInbox("a/b/f.bin")).permissions() & fs::perms::group_write,
            fs::perms::none);
  EXPECT_EQ(Listing(), (std::vector<std::string>{"a", "a/b", "a/b/f.bin"}));

  // A newer delivery replaces the file.
  ASSERT_TRUE(Deliver("a/b/f.bin", "v2").ok());
  EXPECT_EQ(ReadFile(InInbox("a/b/f.bin")), "v2");
  // Empty files too.
  ASSERT_TRUE(Deliver("empty", "").ok());
  EXPECT_TRUE(fs::is_regular_file(InInbox("empty")));
  EXPECT_EQ(fs::file_size(InInbox("empty")), 0u);
}

TEST_F(InboxWriterTest, AlreadyDeliveredNeedsSameSizeAndSha) {
  EXPECT_FALSE(*writer_->AlreadyDelivered("d/x.txt", 5, Sha("hello")));
  ASSERT_TRUE(Deliver("d/x.txt", "hello").ok());
  EXPECT_TRUE(*writer_->AlreadyDelivered("d/x.txt", 5, Sha("hello")));
  EXPECT_FALSE(*writer_->AlreadyDelivered("d/x.txt", 5, Sha("jello")));  // same size, new version
  EXPECT_FALSE(*writer_->AlreadyDelivered("d/x.txt", 6, Sha("hello")));
  EXPECT_FALSE(*writer_->AlreadyDelivered("d", 0, Sha("")));  // a directory
  // A symlink to an identical file is not a delivery.
  WriteFile(Outside() + "/same.txt", "hello");
  Symlink(Outside() + "/same.txt", InInbox("d/link.txt"));
  EXPECT_FALSE(*writer_->AlreadyDelivered("d/link.txt", 5, Sha("hello")));
  EXPECT_EQ(writer_->AlreadyDelivered("../x", 1, Sha("x")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(InboxWriterTest, APlantedSymlinkDirectoryIsNeverWrittenThrough) {
  Symlink(Outside(), InInbox("sub"));
  auto r = Deliver("sub/x.txt", "payload");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_TRUE(fs::is_empty(Outside()));
  // Deeper too, and AlreadyDelivered does not look through it either.
  WriteFile(Outside() + "/x.txt", "payload");
  EXPECT_FALSE(*writer_->AlreadyDelivered("sub/x.txt", 7, Sha("payload")));
  EXPECT_EQ(Deliver("sub/deeper/y.txt", "p").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(fs::exists(Outside() + "/deeper"));
  // A regular file where a directory should be is permanent as well.
  WriteFile(InInbox("file"), "f");
  EXPECT_EQ(Deliver("file/y.txt", "p").status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(InboxWriterTest, APlantedSymlinkAtTheTargetIsReplacedNotFollowed) {
  WriteFile(Outside() + "/victim.txt", "victim");
  Symlink(Outside() + "/victim.txt", InInbox("t.txt"));
  ASSERT_TRUE(Deliver("t.txt", "delivered").ok());
  EXPECT_EQ(ReadFile(Outside() + "/victim.txt"), "victim");
  EXPECT_FALSE(fs::is_symlink(InInbox("t.txt")));
  EXPECT_EQ(ReadFile(InInbox("t.txt")), "delivered");
}

TEST_F(InboxWriterTest, ADirectoryAtTheTargetIsPermanent) {
  fs::create_directories(InInbox("t.txt/inner"));
  auto r = Deliver("t.txt", "x");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_EQ(Listing(), (std::vector<std::string>{"t.txt", "t.txt/inner"}));
}

TEST_F(InboxWriterTest, TheTemporaryIsCreatedExclusively) {
  const std::string temp = InInbox(".t.txt." + std::string(kId) + ".partial");
  // Our own stale temporary (a kill -9): removed, then the delivery proceeds.
  WriteFile(temp, "stale half");
  ASSERT_TRUE(Deliver("t.txt", "fresh").ok());
  EXPECT_EQ(ReadFile(InInbox("t.txt")), "fresh");
  EXPECT_FALSE(fs::exists(temp));
  // A symlink planted at the temporary's name is removed, never written through.
  WriteFile(Outside() + "/victim.txt", "victim");
  Symlink(Outside() + "/victim.txt", temp);
  ASSERT_TRUE(Deliver("t.txt", "again").ok());
  EXPECT_EQ(ReadFile(Outside() + "/victim.txt"), "victim");
  // A directory there is not ours: refused.
  fs::create_directories(temp);
  EXPECT_EQ(Deliver("t.txt", "third").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadFile(InInbox("t.txt")), "again");
}

TEST_F(InboxWriterTest, AShaMismatchLeavesNothingVisible) {
  ASSERT_TRUE(Deliver("t.txt", "old version").ok());
  const std::string content = "new version";
  auto r = writer_->Deliver("t.txt", kId, content.size(), Sha("something else"), From(content));
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  EXPECT_EQ(ReadFile(InInbox("t.txt")), "old version");
  r = writer_->Deliver("new.txt", kId, content.size(), Sha("something else"), From(content));
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Listing(), (std::vector<std::string>{"t.txt"}));
}

TEST_F(InboxWriterTest, ReaderErrorsAndShortReads) {
  const std::string content = "0123456789";
  auto failing = [](uint64_t, size_t) -> StatusOr<std::string> {
    return UnavailableError("no source");
  };
  auto r = writer_->Deliver("t.txt", kId, content.size(), Sha(content), failing);
  EXPECT_EQ(r.status(), UnavailableError("no source"));
  auto empty = [](uint64_t, size_t) -> StatusOr<std::string> { return std::string(); };
  r = writer_->Deliver("t.txt", kId, content.size(), Sha(content), empty);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  auto too_much = [&](uint64_t, size_t) -> StatusOr<std::string> { return content + "!"; };
  r = writer_->Deliver("t.txt", kId, content.size(), Sha(content), too_much);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  // Pieces smaller than asked are fine.
  auto dribble = [&](uint64_t offset, size_t) -> StatusOr<std::string> {
    return content.substr(offset, 3);
  };
  ASSERT_TRUE(writer_->Deliver("t.txt", kId, content.size(), Sha(content), dribble).ok());
  EXPECT_EQ(Listing(), (std::vector<std::string>{"t.txt"}));
}

TEST_F(InboxWriterTest, NotEnoughFreeSpaceIsTransientAndReadsNothing) {
  bool read = false;
  auto r = writer_->Deliver("huge.bin", kId, uint64_t{1} << 62, Sha(""),
                            [&](uint64_t, size_t) -> StatusOr<std::string> {
                              read = true;
                              return std::string("x");
                            });
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status().ToString();
  EXPECT_FALSE(read);
  EXPECT_TRUE(Listing().empty());
}

TEST_F(InboxWriterTest, RefusesNamesAndIdsItWouldNotProduce) {
  for (const char* bad : {"", "../x", "a/../b", "./a", "a//b", "/abs", ".x.partial"}) {
    EXPECT_EQ(Deliver(bad, "x").status().code(), StatusCode::kInvalidArgument) << bad;
  }
  for (const std::string& id : {std::string(), std::string("a/b"), std::string(".."),
                                std::string(129, 'i'), std::string("a\nb")}) {
    auto r = writer_->Deliver("t.txt", id, 1, Sha("x"), From("x"));
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << id;
  }
  EXPECT_TRUE(Listing().empty());
}

TEST_F(InboxWriterTest, ALongNameGetsAShortenedTemporary) {
  const std::string name(255, 'n');
  ASSERT_TRUE(Deliver(name, "long").ok());
  EXPECT_EQ(ReadFile(InInbox(name)), "long");
}

TEST_F(InboxWriterTest, RemoveStalePartialsDeletesOnlyOurTemporaries) {
  WriteFile(InInbox(".a.txt.d1.partial"), "x");
  WriteFile(InInbox("sub/deep/.b.d2.partial"), "x");
  WriteFile(InInbox("keep.partial"), "x");
  WriteFile(InInbox(".partial"), "x");
  WriteFile(InInbox("sub/.dir.partial/.c.d3.partial"), "x");  // a directory with the pattern
  WriteFile(Outside() + "/.o.d4.partial", "x");
  Symlink(Outside(), InInbox("link"));
  Symlink(Outside() + "/.o.d4.partial", InInbox(".s.d5.partial"));
  auto removed = writer_->RemoveStalePartials();
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 3u);
  EXPECT_EQ(Listing(), (std::vector<std::string>{".partial", ".s.d5.partial", "keep.partial",
                                                 "link", "sub", "sub/.dir.partial", "sub/deep"}));
  EXPECT_TRUE(fs::exists(Outside() + "/.o.d4.partial"));
}

TEST(InboxWriterOpenTest, CreatesTheInboxAndRequiresADirectory) {
  peat::testing::TempDir dir("peat-inbox-open");
  auto w = InboxWriter::Open(dir.path() + "/x/y/inbox");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->path(), dir.path() + "/x/y/inbox");
  EXPECT_TRUE(fs::is_directory(dir.path() + "/x/y/inbox"));
  WriteFile(dir.path() + "/file", "f");
  EXPECT_FALSE(InboxWriter::Open(dir.path() + "/file").ok());
}

}  // namespace
}  // namespace peat::attach

#include "node/data_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "store/store_test_util.h"

namespace peat {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

class DataDirTest : public ::testing::Test {
 protected:
  static mode_t ModeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  static void WriteFile(const std::string& path, mode_t mode) {
    std::ofstream(path) << "x";
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }

  store::testing::TempDir tmp_;
  const std::string root_ = tmp_.path();
};

TEST_F(DataDirTest, ErrorMessagesNameTheFlagAndSayWhenItWasTheDefault) {
  Status d = DataDirError("/data/peat-node", true, "cannot create: Permission denied");
  EXPECT_EQ(d.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(d.message(),
            "--data-dir /data/peat-node (the default): cannot create: Permission denied; pass "
            "--data-dir DIR");
  Status e = DataDirError("/srv/x", false, "cannot create: Not a directory");
  EXPECT_EQ(e.message(), "--data-dir /srv/x: cannot create: Not a directory");
}

TEST_F(DataDirTest, CreatesTheDirectoryPrivateWithParents) {
  const std::string dir = root_ + "/a/b/data";
  ASSERT_TRUE(CreateDataDir(dir, false).ok());
  EXPECT_EQ(ModeOf(dir) & 077, 0u);
  EXPECT_EQ(ModeOf(dir) & 0700, 0700u);
  ASSERT_TRUE(CreateDataDir(dir, false).ok()) << "an existing directory is fine";
}

TEST_F(DataDirTest, ADirectoryThatCannotBeCreatedIsAnErrorNamingTheFlag) {
  const std::string file = root_ + "/file";
  WriteFile(file, 0644);
  Status below = CreateDataDir(file + "/data", false);
  EXPECT_EQ(below.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(below.message(), "--data-dir " + file + "/data: cannot create: Not a directory");
  Status is_file = CreateDataDir(file, true);
  EXPECT_EQ(is_file.message(), "--data-dir " + file +
                                   " (the default): exists and is not a directory; pass "
                                   "--data-dir DIR");
  // Deeper: a missing parent below the regular file.
  Status deeper = CreateDataDir(file + "/x/y", true);
  EXPECT_THAT(deeper.message(),
              HasSubstr("--data-dir " + file + "/x/y (the default): cannot create:"));
  EXPECT_THAT(deeper.message(), HasSubstr("; pass --data-dir DIR"));
}

TEST_F(DataDirTest, TightenRemovesGroupAndOtherBitsAndReportsThem) {
  const std::string dir = root_ + "/data";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  WriteFile(dir + "/peat.db", 0644);
  WriteFile(dir + "/peat.db-wal", 0664);
  WriteFile(dir + "/node-id", 0600);  // already private: untouched, not reported
  WriteFile(dir + "/odd", 0404);      // group/other stripped, the owner's bits kept as they were
  ASSERT_EQ(::mkdir((dir + "/sub").c_str(), 0777), 0);
  ASSERT_EQ(::chmod((dir + "/sub").c_str(), 0777), 0);
  WriteFile(dir + "/sub/file", 0666);
  // A symlink is not followed: its target outside the data dir keeps its mode.
  const std::string outside = root_ + "/outside";
  WriteFile(outside, 0644);
  ASSERT_EQ(::symlink(outside.c_str(), (dir + "/link").c_str()), 0);

  TightenReport r = TightenDataDir(dir);
  EXPECT_THAT(r.problems, IsEmpty());
  EXPECT_THAT(r.changed, UnorderedElementsAre("directory 0755→0700", "peat.db 0644→0600",
                                              "peat.db-wal 0664→0600", "odd 0404→0400",
                                              "sub 0777→0700", "sub/file 0666→0600"));
  EXPECT_EQ(ModeOf(dir), 0700u);
  EXPECT_EQ(ModeOf(dir + "/peat.db"), 0600u);
  EXPECT_EQ(ModeOf(dir + "/peat.db-wal"), 0600u);
  EXPECT_EQ(ModeOf(dir + "/node-id"), 0600u);
  EXPECT_EQ(ModeOf(dir + "/odd"), 0400u);
  EXPECT_EQ(ModeOf(dir + "/sub"), 0700u);
  EXPECT_EQ(ModeOf(dir + "/sub/file"), 0600u);
  EXPECT_EQ(ModeOf(outside), 0644u);

  // Nothing left to do the second time.
  TightenReport again = TightenDataDir(dir);
  EXPECT_THAT(again.changed, IsEmpty());
  EXPECT_THAT(again.problems, IsEmpty());
}

TEST_F(DataDirTest, TightenOfAMissingDirectoryIsAProblemNotACrash) {
  TightenReport r = TightenDataDir(root_ + "/missing");
  EXPECT_THAT(r.changed, IsEmpty());
  EXPECT_THAT(r.problems, ElementsAre(Not(IsEmpty())));
}

}  // namespace
}  // namespace peat

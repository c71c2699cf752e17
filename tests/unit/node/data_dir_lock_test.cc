#include "node/data_dir_lock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "store/store_test_util.h"

namespace peat {
namespace {

using ::testing::HasSubstr;

class DataDirLockTest : public ::testing::Test {
 protected:
  std::string LockFileText() const {
    std::ifstream in(dir_ + "/LOCK");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  store::testing::TempDir tmp_;
  const std::string dir_ = tmp_.path();
};

TEST_F(DataDirLockTest, HoldsThePidAndRefusesASecondHolder) {
  auto first = DataDirLock::Acquire(dir_, false);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const std::string pid = std::to_string(::getpid());
  EXPECT_EQ(LockFileText(), pid + "\n");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/LOCK").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u) << "the lock file is private";

  // flock belongs to the open file, so a second Acquire fails even in this process.
  auto second = DataDirLock::Acquire(dir_, false);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(),
              HasSubstr("data dir " + dir_ + " is in use by pid " + pid + " "));
  EXPECT_EQ(LockFileText(), pid + "\n") << "a refused Acquire must not touch the pid";

  // Released with the object: the next Acquire succeeds; the file stays.
  { DataDirLock released = std::move(*first); }
  auto third = DataDirLock::Acquire(dir_, false);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
}

TEST_F(DataDirLockTest, MoveKeepsTheLock) {
  auto a = DataDirLock::Acquire(dir_, false);
  ASSERT_TRUE(a.ok());
  DataDirLock moved = std::move(*a);
  DataDirLock assigned = std::move(moved);
  EXPECT_FALSE(DataDirLock::Acquire(dir_, false).ok());
}

TEST_F(DataDirLockTest, ALockFileLeftByADeadProcessDoesNotBlock) {
  // A child takes the lock and dies without cleaning up (like kill -9): the kernel drops the
  // flock, the file with the child's pid stays.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = DataDirLock::Acquire(dir_, false);
    ::_exit(lock.ok() ? 0 : 1);  // no destructors run
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(LockFileText(), std::to_string(child) + "\n");

  auto lock = DataDirLock::Acquire(dir_, false);
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  EXPECT_EQ(LockFileText(), std::to_string(::getpid()) + "\n");
}

TEST_F(DataDirLockTest, GarbageInTheLockFileIsOverwrittenAndNeverQuoted) {
  std::ofstream(dir_ + "/LOCK") << "not a pid at all, and longer than any pid\n";
  auto a = DataDirLock::Acquire(dir_, false);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(LockFileText(), std::to_string(::getpid()) + "\n");
  std::ofstream(dir_ + "/LOCK") << "garbage";  // as if the holder had not written its pid yet
  auto b = DataDirLock::Acquire(dir_, false);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("is in use by another process"));
}

TEST_F(DataDirLockTest, AnUnwritableDirectoryNamesTheFlag) {
  auto missing = DataDirLock::Acquire(dir_ + "/missing", true);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(missing.status().message(), "--data-dir " + dir_ +
                                            "/missing (the default): cannot write: No such file "
                                            "or directory; pass --data-dir DIR");
}

}  // namespace
}  // namespace peat

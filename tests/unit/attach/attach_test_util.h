// Helpers shared by the attach unit tests: a scratch tree with an attachment root beside an
// "outside" directory, and small file-system helpers that abort the test on failure.
#pragma once

#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include "attach/path_confinement.h"
#include "temp_dir.h"

namespace peat::attach::testing {

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void Symlink(const std::string& target, const std::string& link) {
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0) << link;
}

inline ino_t Inode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

// Runs `body` — which returns "" when all went as expected, else what did not — as an unprivileged
// user, so that mode bits apply: directly when the test runs as non-root; as root, in a forked
// child that first drops to nobody (65534). Everything `body` touches must be reachable by others.
inline void ExpectAsUnprivileged(const std::function<std::string()>& body) {
  if (::geteuid() != 0) {
    EXPECT_EQ(body(), "");
    return;
  }
  EXPECT_EXIT(
      {
        if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
          std::_Exit(90);
        }
        const std::string what = body();
        if (!what.empty()) std::fprintf(stderr, "%s\n", what.c_str());
        std::_Exit(what.empty() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// <tmp>/root (the attachment root "docs") and <tmp>/outside.
class RootFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(Root());
    std::filesystem::create_directories(Outside());
    auto root = OpenAttachmentRoot("docs", Root());
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    roots_.emplace("docs", std::move(*root));
  }
  // Lets other users reach the root (mkdtemp made the scratch directory 0700).
  void MakeTraversable() const {
    namespace fs = std::filesystem;
    for (const std::string& d : {dir_.path(), Root()}) {
      fs::permissions(d, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
    }
  }
  std::string Root() const { return dir_.path() + "/root"; }
  std::string Outside() const { return dir_.path() + "/outside"; }
  std::string InRoot(const std::string& rel) const { return Root() + "/" + rel; }
  const AttachmentRoot& DocsRoot() const { return roots_.at("docs"); }

  peat::testing::TempDir dir_{"peat-attach"};
  std::map<std::string, AttachmentRoot> roots_;
};

}  // namespace peat::attach::testing

// Helpers shared by the attach unit tests: a scratch tree with an attachment root beside an
// "outside" directory, and small file-system helpers that abort the test on failure.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
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
  std::string Root() const { return dir_.path() + "/root"; }
  std::string Outside() const { return dir_.path() + "/outside"; }
  std::string InRoot(const std::string& rel) const { return Root() + "/" + rel; }
  const AttachmentRoot& DocsRoot() const { return roots_.at("docs"); }

  peat::testing::TempDir dir_{"peat-attach"};
  std::map<std::string, AttachmentRoot> roots_;
};

}  // namespace peat::attach::testing

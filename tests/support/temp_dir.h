// TempDir: a fresh directory under the system temp dir (mkdtemp), removed with everything in it
// when the object is destroyed. For tests and benchmarks only; aborts if the directory cannot be
// created (nothing meaningful can run without it). Not thread-safe (one owner).
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace peat::testing {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "peat-test") {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace peat::testing

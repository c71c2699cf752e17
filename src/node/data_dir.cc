#include "node/data_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/file_mode.h"

namespace peat {
namespace {

// Strips group/other bits of `full` (already lstat'ed as `st`) and records it as `shown`.
void Tighten(const std::string& full, const std::string& shown, const struct stat& st,
             TightenReport& report) {
  const mode_t mode = st.st_mode & 07777;
  if ((mode & 077) == 0) return;
  const mode_t tight = mode & ~static_cast<mode_t>(077);
  if (::chmod(full.c_str(), tight) != 0) {
    report.problems.push_back(shown + ": " + std::strerror(errno));
    return;
  }
  report.changed.push_back(shown + " " + FormatFileMode(mode) + "→" + FormatFileMode(tight));
}

}  // namespace

Status DataDirError(const std::string& path, bool is_default, std::string_view problem) {
  std::string m = "--data-dir " + path;
  if (is_default) m += " (the default)";
  m += ": ";
  m += problem;
  if (is_default) m += "; pass --data-dir DIR";
  return FailedPreconditionError(std::move(m));
}

Status CreateDataDir(const std::string& path, bool is_default) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      return DataDirError(path, is_default, "exists and is not a directory");
    return Status::Ok();
  }
  const std::filesystem::path p(path);
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return DataDirError(path, is_default, "cannot create: " + ec.message());
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return DataDirError(path, is_default, std::string("cannot create: ") + std::strerror(errno));
  }
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return DataDirError(path, is_default, "exists and is not a directory");
  }
  return Status::Ok();
}

TightenReport TightenDataDir(const std::string& path) {
  TightenReport report;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    report.problems.push_back(".: " + std::string(std::strerror(errno)));
    return report;
  }
  Tighten(path, "directory", st, report);
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(path, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string full = it->path().string();
    if (::lstat(full.c_str(), &st) != 0) continue;  // vanished meanwhile
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) continue;
    Tighten(full, std::filesystem::relative(it->path(), path).string(), st, report);
  }
  if (ec) report.problems.push_back("cannot list: " + ec.message());
  return report;
}

}  // namespace peat

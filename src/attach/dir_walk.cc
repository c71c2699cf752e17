#include "attach/dir_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "blob/posix_file.h"

namespace peat::attach {
namespace {

Status WalkIn(int dir_fd, const std::string& prefix, const std::string& where,
              const TreeVisitor& visit, int depth) {
  const int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return UnavailableError("open " + where + ": " + std::strerror(errno));
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    const int err = errno;
    ::close(fd);
    return UnavailableError("opendir " + where + ": " + std::strerror(err));
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  for (const std::string& name : names) {
    struct stat st {};
    if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const std::string rel = prefix.empty() ? name : prefix + "/" + name;
    const bool descend = visit(::dirfd(d), rel, name, st);
    if (!S_ISDIR(st.st_mode) || !descend || depth + 1 >= kMaxTreeDepth) continue;
    blob::UniqueFd child(
        ::openat(::dirfd(d), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (child.get() < 0) continue;  // gone, unreadable or replaced by a symlink: not followed
    (void)WalkIn(child.get(), rel, where + "/" + name, visit, depth + 1);
  }
  ::closedir(d);
  return Status::Ok();
}

}  // namespace

Status WalkTree(int dir_fd, const std::string& where, const TreeVisitor& visit) {
  return WalkIn(dir_fd, "", where, visit, 0);
}

}  // namespace peat::attach

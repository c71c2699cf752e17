#include "node/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "node/data_dir.h"

namespace peat {
namespace {

// The pid recorded in the lock file, or "" when there is none (the holder may not have written it
// yet, or an old node left garbage).
std::string RecordedPid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string_view text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.empty() || text.size() > 10) return "";
  for (char c : text) {
    if (c < '0' || c > '9') return "";
  }
  return std::string(text);
}

}  // namespace

StatusOr<DataDirLock> DataDirLock::Acquire(const std::string& dir, bool dir_is_default) {
  const std::string path = dir + "/" + kFileName;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return DataDirError(dir, dir_is_default, std::string("cannot write: ") + std::strerror(errno));
  }
  DataDirLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      const std::string pid = RecordedPid(fd);
      return FailedPreconditionError("data dir " + dir + " is in use by " +
                                     (pid.empty() ? "another process" : "pid " + pid) +
                                     " (another peat-node? each node needs its own --data-dir)");
    }
    return DataDirError(dir, dir_is_default, std::string("cannot lock: ") + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return DataDirError(dir, dir_is_default, std::string("cannot write: ") + std::strerror(errno));
  }
  return lock;
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace peat

#include "blob/posix_file.h"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace peat::blob {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

Status ErrnoStatus(int err, std::string_view what, const std::string& path) {
  std::string msg = std::string(what) + " " + path + ": " + std::strerror(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return ResourceExhaustedError("disk full: " + msg);
    case ENOENT:
      return NotFoundError(std::move(msg));
    case EACCES:
    case EPERM:
      return PermissionDeniedError(std::move(msg));
    default:
      return UnavailableError(std::move(msg));
  }
}

StatusOr<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus(errno, "open", path);
  return UniqueFd(fd);
}

Status ReadAll(int fd, const std::string& path,
               const std::function<Status(std::span<const uint8_t>)>& sink) {
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read", path);
    }
    if (n == 0) return Status::Ok();
    PEAT_RETURN_IF_ERROR(sink(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n))));
  }
}

StatusOr<std::string> PreadExact(int fd, uint64_t offset, size_t len, const std::string& path) {
  std::string out(len, '\0');
  size_t done = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, out.data() + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read", path);
    }
    if (n == 0) {
      return Status(StatusCode::kDataLoss, "read " + path + ": file ends at " +
                                               std::to_string(offset + done) + ", expected " +
                                               std::to_string(offset + len) + " bytes");
    }
    done += static_cast<size_t>(n);
  }
  return out;
}

Status PwriteAll(int fd, uint64_t offset, std::string_view bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write", path);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteAllAppend(int fd, std::span<const uint8_t> bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write", path);
    }
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status Fsync(int fd, const std::string& path) {
  if (::fsync(fd) != 0) return ErrnoStatus(errno, "fsync", path);
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  PEAT_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
  return Fsync(fd.get(), dir);
}

Status MakeDirs(const std::string& dir, mode_t mode) {
  // Each missing component is created with `mode` (std::filesystem would use 0777 & ~umask).
  std::string prefix;
  for (const auto& part : std::filesystem::path(dir)) {
    prefix = prefix.empty() ? part.string() : (std::filesystem::path(prefix) / part).string();
    if (part == "/" || part.empty()) continue;
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "mkdir", prefix);
    }
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", dir);
  if (!S_ISDIR(st.st_mode)) return ErrnoStatus(ENOTDIR, "mkdir", dir);
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& tmp, const std::string& path, std::string_view bytes) {
  {
    PEAT_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_EXCL));
    PEAT_RETURN_IF_ERROR(PwriteAll(fd.get(), 0, bytes, tmp));
    PEAT_RETURN_IF_ERROR(Fsync(fd.get(), tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, "rename to", path);
  }
  return FsyncDir(std::filesystem::path(path).parent_path().string());
}

Status CheckFreeSpace(const std::string& dir, uint64_t needed) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return ErrnoStatus(errno, "statvfs", dir);
  const uint64_t available = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  if (available < needed) {
    return ResourceExhaustedError("not enough disk space in " + dir + ": " +
                                  std::to_string(needed) + " bytes needed, " +
                                  std::to_string(available) + " available");
  }
  return Status::Ok();
}

bool TryReflink(int src_fd, int dst_fd) { return ::ioctl(dst_fd, FICLONE, src_fd) == 0; }

Status Preallocate(int fd, uint64_t len, const std::string& path) {
  if (len == 0) return Status::Ok();
  if (::fallocate(fd, 0, 0, static_cast<off_t>(len)) == 0) return Status::Ok();
  const int err = errno;
  if (err != EOPNOTSUPP && err != ENOSYS) return ErrnoStatus(err, "fallocate", path);
  if (::ftruncate(fd, static_cast<off_t>(len)) != 0) return ErrnoStatus(errno, "ftruncate", path);
  return Status::Ok();
}

}  // namespace peat::blob

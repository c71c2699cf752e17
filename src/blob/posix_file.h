// The POSIX file operations the blob store is made of: an owning fd, whole reads/writes at
// offsets, fsync of files and directories, atomic small-file replacement, the free-space check and
// the reflink attempt — each turning errno into a Status.
//
// errno → Status: ENOSPC/EDQUOT → RESOURCE_EXHAUSTED ("disk full: ..."), ENOENT → NOT_FOUND,
// EACCES/EPERM → PERMISSION_DENIED, anything else → UNAVAILABLE; messages name the operation and
// the path. Stateless free functions; thread-safe (an fd is used by one thread at a time).
#pragma once

#include <fcntl.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace peat::blob {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

Status ErrnoStatus(int err, std::string_view what, const std::string& path);

// open(2) with O_CLOEXEC added; `mode` applies when O_CREAT is given.
StatusOr<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode = 0600);
// Calls `sink` with successive pieces of the file from the current position to EOF.
Status ReadAll(int fd, const std::string& path,
               const std::function<Status(std::span<const uint8_t>)>& sink);
// Exactly `len` bytes at `offset`; DATA_LOSS if the file ends first.
StatusOr<std::string> PreadExact(int fd, uint64_t offset, size_t len, const std::string& path);
Status PwriteAll(int fd, uint64_t offset, std::string_view bytes, const std::string& path);
Status WriteAllAppend(int fd, std::span<const uint8_t> bytes, const std::string& path);
Status Fsync(int fd, const std::string& path);
Status FsyncDir(const std::string& dir);
// mkdir -p with mode 0700 for the directories it creates.
Status MakeDirs(const std::string& dir, mode_t mode = 0700);
// Writes `bytes` to `tmp` (created exclusively, 0600), fsyncs it, renames it onto `path` and
// fsyncs the directory of `path`: readers see the old file or the new one, never a mix.
Status WriteFileAtomic(const std::string& tmp, const std::string& path, std::string_view bytes);
// RESOURCE_EXHAUSTED unless the filesystem of `dir` has `needed` bytes available to us.
Status CheckFreeSpace(const std::string& dir, uint64_t needed);
// FICLONE (a copy-on-write reflink of the whole file); false when the filesystem cannot.
bool TryReflink(int src_fd, int dst_fd);
// Reserves `len` bytes (fallocate; sparse ftruncate where fallocate is unsupported).
Status Preallocate(int fd, uint64_t len, const std::string& path);

}  // namespace peat::blob

// DataDirLock: one node per data dir. Two nodes on one directory would share an identity and
// fight over the store, so the node holds an exclusive flock(2) on <data-dir>/LOCK for its whole
// life, taken before anything else in the directory is opened or created.
//
//   auto lock = DataDirLock::Acquire(dir, /*dir_is_default=*/false);
//   if (!lock.ok()) return lock.status();  // "data dir /x is in use by pid 4242 ..."
//
// The file holds the holder's pid (decimal, newline) so the refusal can name it. The kernel drops
// the lock when the process dies, however it dies, so a LOCK file left by a kill -9'd node never
// blocks a restart; the file itself stays (that is fine). flock locks belong to the open file:
// a second Acquire on the same directory fails even within one process.
//
// Errors are FAILED_PRECONDITION (exit code 2): the directory is busy, or it cannot be written
// (then the message names --data-dir, see data_dir.h). The directory must already exist.
// Move-only; the lock is released when the object is destroyed.
#pragma once

#include <string>

#include "common/status.h"

namespace peat {

class DataDirLock {
 public:
  static constexpr char kFileName[] = "LOCK";

  static StatusOr<DataDirLock> Acquire(const std::string& dir, bool dir_is_default);

  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace peat

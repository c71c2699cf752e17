// The node's data directory (--data-dir) is private to the node's user.
//
// CreateDataDir makes the directory if it is missing (parents with the usual mode, the directory
// itself 0700). TightenDataDir then removes group and other permission bits from the directory,
// every regular file and every subdirectory below it (symlinks are not followed; other file types
// are left alone), and reports what it changed so the caller can log it in one line. Files the
// node creates there are created 0600 by their owners (identity, lock file, store); SQLite gives
// its -wal and -shm files the mode of peat.db.
//
// Errors about the directory itself name the flag and whether the path was the default, so a new
// user knows what to pass:
//   --data-dir /data/peat-node (the default): cannot create: Permission denied; pass --data-dir DIR
// They are FAILED_PRECONDITION: the configuration or the machine must change (exit code 2).
//
// Not thread-safe with respect to other processes changing the directory at the same time; the
// node calls these once at startup (TightenDataDir after taking the DataDirLock).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace peat {

// "--data-dir PATH[ (the default)]: PROBLEM[; pass --data-dir DIR]" as FAILED_PRECONDITION; the
// hint is added for the default path only (an explicit path is already the user's choice).
Status DataDirError(const std::string& path, bool is_default, std::string_view problem);

// Creates `path` (0700) and missing parents. An existing directory (or symlink to one) is fine.
Status CreateDataDir(const std::string& path, bool is_default);

struct TightenReport {
  std::vector<std::string>
      changed;  // "peat.db 0644→0600" (the directory itself: "directory 0755→0700")
  std::vector<std::string> problems;  // "node-id: Operation not permitted" (left as it was)
};

// Removes group/other permission bits below `path` (see the file comment).
TightenReport TightenDataDir(const std::string& path);

}  // namespace peat

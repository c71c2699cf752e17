// The outbox scan (docs/spec/ATTACHMENTS.md §14 "R"): which files under the attachment roots are
// stable enough to send, and the idempotent bundle id of one file version. The persisted ledger
// (what was sent at which version) and the sending are the caller's.
//
// Poll walks every root from its directory fd (dir_walk.h: no symlink is ever followed), skipping
// names that start with '.' (files and directories), symlinks and everything that is not a
// regular file, and returns the files whose (size, mtime_ns, inode) are the same as at the
// previous Poll — "stable": unchanged for one poll interval. A file seen for the first time, or
// changed since, is remembered and returned by the next Poll if it stays as it is. Files that
// disappear are forgotten.
//
// Errors: a root or subdirectory that cannot be read is skipped (its files are not returned).
// OutboxBundleId: INTERNAL only if OpenSSL fails. Thread-compatible: one thread polls.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attach/path_confinement.h"
#include "common/status.h"

namespace peat::attach {

struct OutboxFile {
  std::string root_name;
  std::string relative_path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  friend bool operator==(const OutboxFile&, const OutboxFile&) = default;
};

class OutboxScanner {
 public:
  // The stable files, sorted by (root_name, relative_path).
  std::vector<OutboxFile> Poll(const std::map<std::string, AttachmentRoot>& roots);

 private:
  struct Version {
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    uint64_t inode = 0;
    friend bool operator==(const Version&, const Version&) = default;
  };
  std::map<std::pair<std::string, std::string>, Version> seen_;  // (root, rel) → last Poll
};

// `outbox-` + the first 32 hex digits of SHA-256(root "/" rel "\0" sha256_raw): the same file
// version always maps to the same bundle id, so restarts and retries are idempotent.
StatusOr<std::string> OutboxBundleId(std::string_view root, std::string_view rel,
                                     std::string_view sha256_raw);

}  // namespace peat::attach

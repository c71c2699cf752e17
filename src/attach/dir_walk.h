// A depth-first walk of a directory tree from a directory fd that never follows a symlink: each
// entry is fstatat'ed with AT_SYMLINK_NOFOLLOW, and a subdirectory is entered with
// openat(O_DIRECTORY | O_NOFOLLOW) from its parent's fd, so a directory swapped for a symlink is
// skipped, never followed. Used by the inbox (stale temporaries, §13) and the outbox scan (§14).
//
// Errors: the start directory cannot be opened or read → UNAVAILABLE; a subdirectory that cannot
// be opened (removed, replaced, unreadable) is skipped. Entries within a directory come in
// readdir order; the tree may change while it is walked. Thread-compatible (no shared state).
#pragma once

#include <sys/stat.h>

#include <functional>
#include <string>

#include "common/status.h"

namespace peat::attach {

// Called for every entry below the start: `dir_fd` is the directory holding it (valid during the
// call), `rel` its path relative to the start, `name` its last component, `st` its lstat. For a
// directory, the return value says whether to descend into it (ignored for other entries).
using TreeVisitor = std::function<bool(int dir_fd, const std::string& rel, const std::string& name,
                                       const struct stat& st)>;

// Walks below `dir_fd` (an O_PATH or O_RDONLY directory fd; `where` names it in errors), at most
// kMaxTreeDepth levels deep.
inline constexpr int kMaxTreeDepth = 256;
Status WalkTree(int dir_fd, const std::string& where, const TreeVisitor& visit);

}  // namespace peat::attach

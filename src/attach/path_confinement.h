// Path confinement of the sender (docs/spec/ATTACHMENTS.md §1 "Roots", §2 steps 4c–4f and 7, §12):
// attachment roots held as directory fds, the string check of a relative path, and the one
// race-free open of `root/rel` that can never yield a file outside the root.
//
// OpenBeneath resolves `rel` with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) from the root's
// fd. Decision (tell the lead; documented here): no O_NOFOLLOW on the final component. §16 row 19
// requires an in-root symlink to an in-root file to be accepted, and RESOLVE_BENEATH alone already
// makes an escape impossible: every symlink, the final one included, is resolved beneath the root,
// and anything that would leave it (a relative `..` above the root, an absolute target) fails with
// EXDEV, "escapes the attachment root" (row 18). Absolute symlink targets are refused even when
// they name a place inside the root (openat2 refuses them; the fallback walk does the same, so
// both implementations answer alike). The file is first opened O_PATH (no read, so a FIFO or
// device is never opened for reading), must be a regular file, and is then opened
// O_RDONLY|O_NONBLOCK the same way; the two opens must name the same inode (st_dev, st_ino), else
// the file was swapped.
// On ENOSYS (a seccomp profile without openat2; also on EPERM, which older container profiles
// answer for calls they do not know) OpenBeneath falls back to OpenBeneathByWalk, which walks the
// components with openat(O_NOFOLLOW) from directory fds and resolves in-root symlinks by hand (at
// most 40, never above the root).
//
// Errors (every message starts with the request's field path, then ": "; `field` is `files[i]`):
//   INVALID_ARGUMENT `<field>.relative_path`: cannot be resolved (ENOENT, ENOTDIR, ELOOP, EACCES
//     on a directory, ENAMETOOLONG, a trailing '/' after a file), escapes the attachment root,
//     not a regular file (directory, FIFO, socket, device);
//   INVALID_ARGUMENT `<field>`: the final O_RDONLY open fails (EACCES on the file) or the file was
//     swapped between the two opens (§2 step 7);
//   UNAVAILABLE for errors of the machine rather than the request (EMFILE, ENOMEM, EIO).
// OpenAttachmentRoot(s): INVALID_ARGUMENT for a bad name, a path that does not canonicalize or is
// not a directory. Thread-safe: the functions share no state (a process-wide flag remembers
// ENOSYS).
#pragma once

#include <sys/stat.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blob/posix_file.h"
#include "common/status.h"

namespace peat::attach {

using blob::UniqueFd;

struct AttachmentRoot {
  std::string name;
  std::string path;  // canonical (realpath)
  UniqueFd dir;      // O_PATH | O_DIRECTORY | O_CLOEXEC
};

// `[A-Za-z0-9_-]+` (§20 decision 3: no '.').
bool IsValidRootName(std::string_view name);

// Canonicalizes `path`, requires a directory and holds it as an O_PATH fd.
StatusOr<AttachmentRoot> OpenAttachmentRoot(std::string name, const std::string& path);
// Every `name → path` of --attachment-root (node startup).
StatusOr<std::map<std::string, AttachmentRoot>> OpenAttachmentRoots(
    const std::map<std::string, std::string>& roots);

// The name of the root that holds `path` (canonicalized; the root itself counts), if any: the
// inbox must not lie inside a root when outbox-watch is on (§1 "Inbox", the echo loop of §14).
// INVALID_ARGUMENT if `path` cannot be canonicalized.
StatusOr<std::optional<std::string>> RootContaining(
    const std::string& path, const std::map<std::string, AttachmentRoot>& roots);

// The '/'-separated components of `path`, empty ones dropped ("a//b/" → "a", "b"); "." is kept.
std::vector<std::string_view> PathComponents(std::string_view path);

// §2 step 4c, no I/O: INVALID_ARGUMENT "<field>: …" for an empty path, a leading '/', a `..`
// component or a NUL byte. `./a.txt` and `a//b.txt` pass.
Status CheckRelativePathSyntax(std::string_view rel, std::string_view field);

struct OpenedFile {
  UniqueFd fd;        // O_RDONLY, at offset 0
  struct stat st {};  // fstat right after the open (a regular file)
};

// The race-free open of `rel` beneath `root` (see the top of this file).
StatusOr<OpenedFile> OpenBeneath(const AttachmentRoot& root, std::string_view rel,
                                 std::string_view field);
// The fallback, callable on its own (tests): the same answers without openat2.
StatusOr<OpenedFile> OpenBeneathByWalk(const AttachmentRoot& root, std::string_view rel,
                                       std::string_view field);

}  // namespace peat::attach

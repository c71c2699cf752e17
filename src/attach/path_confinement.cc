#include "attach/path_confinement.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <vector>

namespace peat::attach {
namespace {

constexpr int kMaxSymlinks = 40;  // the kernel's MAXSYMLINKS
constexpr int kOpenat2Retries = 8;

// Set once openat2 answered ENOSYS: every later open walks.
std::atomic<bool> g_openat2_missing{false};

std::string PathField(std::string_view field) { return std::string(field) + ".relative_path"; }

std::string Errno(int err) { return std::strerror(err); }

// A failure while resolving `rel` (§2 steps 4d–4f).
Status ResolveError(int err, std::string_view field) {
  const std::string f = PathField(field);
  switch (err) {
    case EXDEV:
      return InvalidArgumentError(f + ": escapes the attachment root");
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case EACCES:
    case EPERM:
    case ENAMETOOLONG:
      return InvalidArgumentError(f + ": cannot be resolved: " + Errno(err));
    default:
      return UnavailableError(f + ": " + Errno(err));
  }
}

// A failure of the final O_RDONLY open of a file that resolved to a regular file (§2 step 7).
Status ReadOpenError(int err, std::string_view field) {
  const std::string f(field);
  switch (err) {
    case EACCES:
    case EPERM:
      return InvalidArgumentError(f + ": cannot be opened for reading: " + Errno(err));
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case EXDEV:
      return InvalidArgumentError(f + ": was replaced while it was opened: " + Errno(err));
    default:
      return UnavailableError(f + ": cannot be opened for reading: " + Errno(err));
  }
}

int Openat2(int dirfd, const std::string& rel, uint64_t flags) {
  struct open_how how {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    const long fd = ::syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof(how));
    if (fd >= 0) return static_cast<int>(fd);
    // EAGAIN: a concurrent rename raced a `..` step; the kernel asks us to retry.
    if ((errno != EAGAIN && errno != EINTR) || attempt == kOpenat2Retries) return -1;
  }
}

// The common tail of both implementations. `path_fd` is the O_PATH fd of the resolved object (or
// -1 with `path_err`); `reopen(flags)` opens the same name again the same confined way.
StatusOr<OpenedFile> OpenRegular(UniqueFd path_fd, int path_err,
                                 const std::function<int(int)>& reopen, std::string_view field) {
  if (path_fd.get() < 0) return ResolveError(path_err, field);
  struct stat first {};
  if (::fstat(path_fd.get(), &first) != 0) return ResolveError(errno, field);
  if (!S_ISREG(first.st_mode)) {
    return InvalidArgumentError(PathField(field) + ": not a regular file");
  }
  // O_NONBLOCK: if a FIFO is swapped in between, the open must not wait for a writer.
  UniqueFd fd(reopen(O_RDONLY | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) return ReadOpenError(errno, field);
  OpenedFile out;
  if (::fstat(fd.get(), &out.st) != 0) return ReadOpenError(errno, field);
  if (out.st.st_dev != first.st_dev || out.st.st_ino != first.st_ino || !S_ISREG(out.st.st_mode)) {
    return InvalidArgumentError(std::string(field) + ": was replaced while it was opened");
  }
  const int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl < 0 || ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0) {
    return UnavailableError(std::string(field) + ": fcntl: " + Errno(errno));
  }
  out.fd = std::move(fd);
  return out;
}

// Components of a path for the walk: empty ones dropped, "." kept (a no-op step), and a trailing
// '/' turned into a final "." so that the component before it must be a directory.
std::deque<std::string> WalkComponents(std::string_view path) {
  std::deque<std::string> out;
  for (std::string_view c : PathComponents(path)) out.emplace_back(c);
  if (!path.empty() && path.back() == '/') out.emplace_back(".");
  return out;
}

// What the walk found: the O_PATH fd of the final object; for a non-directory also the directory
// it was found in and its name there (the reopen uses them with O_NOFOLLOW).
struct Walked {
  UniqueFd target;
  UniqueFd parent;
  std::string name;
};

// Resolves `rel` beneath `root_fd` one component at a time, never following a symlink the kernel
// would resolve for us: each is read and expanded by hand. Returns 0 or an errno (EXDEV for an
// escape).
int WalkBeneath(int root_fd, std::string_view rel, Walked* out) {
  std::vector<UniqueFd> dirs;  // dirs[0] is the root; the back is the current directory
  dirs.emplace_back(::openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dirs.back().get() < 0) return errno;
  std::deque<std::string> todo = WalkComponents(rel);
  int links = 0;
  while (!todo.empty()) {
    const std::string c = std::move(todo.front());
    todo.pop_front();
    const bool last = todo.empty();
    if (c == ".") continue;
    if (c == "..") {
      if (dirs.size() == 1) return EXDEV;
      dirs.pop_back();
      continue;
    }
    UniqueFd fd(::openat(dirs.back().get(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) return errno;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno;
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) return ELOOP;
      char buf[PATH_MAX];
      const ssize_t n = ::readlinkat(fd.get(), "", buf, sizeof(buf));
      if (n < 0) return errno;
      if (n == 0) return ENOENT;
      if (static_cast<size_t>(n) == sizeof(buf)) return ENAMETOOLONG;
      const std::string_view target(buf, static_cast<size_t>(n));
      if (target.front() == '/') return EXDEV;  // as RESOLVE_BENEATH: absolute targets escape
      std::deque<std::string> expanded = WalkComponents(target);
      todo.insert(todo.begin(), expanded.begin(), expanded.end());
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      dirs.push_back(std::move(fd));
      continue;
    }
    if (!last) return ENOTDIR;
    out->target = std::move(fd);
    out->parent = std::move(dirs.back());
    out->name = c;
    return 0;
  }
  out->target = std::move(dirs.back());  // ended on a directory
  return 0;
}

// realpath(3); INVALID_ARGUMENT "<path> cannot be resolved: …".
StatusOr<std::string> Canonical(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr) return InvalidArgumentError(path + " cannot be resolved: " + Errno(errno));
  std::string out(real);
  std::free(real);
  return out;
}

}  // namespace

bool IsValidRootName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

StatusOr<AttachmentRoot> OpenAttachmentRoot(std::string name, const std::string& path) {
  const std::string what = "attachment root `" + name + "`";
  if (!IsValidRootName(name)) {
    return InvalidArgumentError(what + ": the name may contain only letters, digits, '-' and '_'");
  }
  auto canonical = Canonical(path);
  if (!canonical.ok()) return InvalidArgumentError(what + ": " + canonical.status().message());
  AttachmentRoot root{std::move(name), std::move(*canonical), UniqueFd()};
  root.dir = UniqueFd(::open(root.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root.dir.get() < 0) {
    return InvalidArgumentError(what + ": " + root.path +
                                " is not a usable directory: " + Errno(errno));
  }
  return root;
}

StatusOr<std::map<std::string, AttachmentRoot>> OpenAttachmentRoots(
    const std::map<std::string, std::string>& roots) {
  std::map<std::string, AttachmentRoot> out;
  for (const auto& [name, path] : roots) {
    PEAT_ASSIGN_OR_RETURN(AttachmentRoot root, OpenAttachmentRoot(name, path));
    out.emplace(name, std::move(root));
  }
  return out;
}

StatusOr<std::optional<std::string>> RootContaining(
    const std::string& path, const std::map<std::string, AttachmentRoot>& roots) {
  PEAT_ASSIGN_OR_RETURN(const std::string canonical, Canonical(path));
  for (const auto& [name, root] : roots) {
    if (canonical == root.path || canonical.starts_with(root.path + "/") || root.path == "/") {
      return std::optional<std::string>(name);
    }
  }
  return std::optional<std::string>();
}

std::vector<std::string_view> PathComponents(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Status CheckRelativePathSyntax(std::string_view rel, std::string_view field) {
  const std::string f(field);
  if (rel.empty()) return InvalidArgumentError(f + ": must not be empty");
  if (rel.find('\0') != std::string_view::npos) {
    return InvalidArgumentError(f + ": contains a NUL byte");
  }
  if (rel.front() == '/') return InvalidArgumentError(f + ": must be relative (starts with '/')");
  for (std::string_view c : PathComponents(rel)) {
    if (c == "..") return InvalidArgumentError(f + ": contains a `..` component");
  }
  return Status::Ok();
}

StatusOr<OpenedFile> OpenBeneath(const AttachmentRoot& root, std::string_view rel,
                                 std::string_view field) {
  PEAT_RETURN_IF_ERROR(CheckRelativePathSyntax(rel, PathField(field)));
  if (!g_openat2_missing.load(std::memory_order_relaxed)) {
    const std::string path(rel);
    UniqueFd first(Openat2(root.dir.get(), path, O_PATH));
    const int err = errno;
    // EPERM: container seccomp profiles older than openat2 deny unknown calls with EPERM rather
    // than ENOSYS. The walk is as safe, and a genuine EPERM shows up there again.
    if (first.get() >= 0 || (err != ENOSYS && err != EPERM)) {
      return OpenRegular(
          std::move(first), err,
          [&](int flags) { return Openat2(root.dir.get(), path, static_cast<uint64_t>(flags)); },
          field);
    }
    if (err == ENOSYS) g_openat2_missing.store(true, std::memory_order_relaxed);
  }
  return OpenBeneathByWalk(root, rel, field);
}

StatusOr<OpenedFile> OpenBeneathByWalk(const AttachmentRoot& root, std::string_view rel,
                                       std::string_view field) {
  PEAT_RETURN_IF_ERROR(CheckRelativePathSyntax(rel, PathField(field)));
  Walked w;
  const int err = WalkBeneath(root.dir.get(), rel, &w);
  if (err != 0) return ResolveError(err, field);
  return OpenRegular(
      std::move(w.target), 0,
      [&](int flags) {
        return ::openat(w.parent.get(), w.name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
      },
      field);
}

}  // namespace peat::attach

#include "attach/inbox_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "attach/dir_walk.h"
#include "attach/path_confinement.h"
#include "attach/send_validation.h"

namespace peat::attach {
namespace {

using blob::UniqueFd;

constexpr size_t kMaxComponentBytes = 255;
constexpr size_t kMaxNameBytes = 4096;
constexpr size_t kMaxDistributionIdBytes = 128;
constexpr size_t kWriteChunkBytes = 1 << 20;
constexpr uint64_t kFreeSpaceMarginBytes = uint64_t{64} << 20;  // §13: free < size + 64 MiB
constexpr std::string_view kPartialSuffix = ".partial";

// The components of `path` split on '/', empty ones and "." dropped.
std::vector<std::string_view> Components(std::string_view path) {
  std::vector<std::string_view> out = PathComponents(path);
  std::erase(out, ".");
  return out;
}

// `.*.partial`: one of our temporaries.
bool IsPartialName(std::string_view name) {
  return name.size() > kPartialSuffix.size() && name.front() == '.' &&
         name.ends_with(kPartialSuffix);
}

// Our temporary for `file`: `.<file>.<distribution_id>.partial`, the file part shortened when the
// whole would pass NAME_MAX.
std::string TempName(std::string_view file, std::string_view distribution_id) {
  const size_t fixed = 2 + distribution_id.size() + kPartialSuffix.size();
  const size_t keep = std::min(file.size(), kMaxComponentBytes - fixed);
  return "." + std::string(file.substr(0, keep)) + "." + std::string(distribution_id) +
         std::string(kPartialSuffix);
}

Status CheckInboxName(std::string_view rel) {
  if (rel.empty() || InboxRelativeName(rel, "") != rel) {
    return InvalidArgumentError("`" + std::string(rel) + "` is not an inbox-relative name");
  }
  return Status::Ok();
}

Status CheckDistributionId(std::string_view id) {
  PEAT_RETURN_IF_ERROR(CheckIdSyntax(id, "distribution_id", false));
  if (id.size() > kMaxDistributionIdBytes || id.find('/') != std::string_view::npos || id == "." ||
      id == "..") {
    return InvalidArgumentError("distribution_id: `" + std::string(id) +
                                "` cannot be part of a file name");
  }
  return Status::Ok();
}

// I/O errors as the header promises: ENOSPC/EDQUOT → RESOURCE_EXHAUSTED, else UNAVAILABLE.
Status Transient(Status s) {
  if (s.ok() || s.code() == StatusCode::kResourceExhausted) return s;
  return UnavailableError(s.message());
}

Status IoError(int err, std::string_view what, const std::string& path) {
  return Transient(blob::ErrnoStatus(err, what, path));
}

Status NotADirectory(const std::string& path) {
  return FailedPreconditionError("inbox: " + path +
                                 " is a symlink or not a directory; it is never followed");
}

// The directory that holds `rel`'s last component, reached from `inbox_fd` one component at a
// time with O_NOFOLLOW (created 0750 when `create`), and that component.
struct Parent {
  UniqueFd dir;
  std::string file;
  std::string path;  // inbox path + rel, for messages
};

StatusOr<Parent> OpenParent(int inbox_fd, const std::string& inbox, std::string_view rel,
                            bool create) {
  const std::vector<std::string_view> comps = Components(rel);
  Parent p;
  p.path = inbox + "/" + std::string(rel);
  p.dir = UniqueFd(::openat(inbox_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (p.dir.get() < 0) return IoError(errno, "open", inbox);
  std::string at = inbox;
  for (size_t i = 0; i + 1 < comps.size(); ++i) {
    const std::string c(comps[i]);
    at += "/" + c;
    bool created = false;
    if (create) {
      if (::mkdirat(p.dir.get(), c.c_str(), 0750) == 0) {
        created = true;
      } else if (errno != EEXIST) {
        return IoError(errno, "mkdir", at);
      }
    }
    UniqueFd next(
        ::openat(p.dir.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      if (errno == ELOOP || errno == ENOTDIR) return NotADirectory(at);
      if (errno == ENOENT && !create) return NotFoundError("inbox: " + at + " does not exist");
      return IoError(errno, "open", at);
    }
    // A new directory entry is durable once its parent is fsynced.
    if (created) PEAT_RETURN_IF_ERROR(Transient(blob::Fsync(p.dir.get(), at)));
    p.dir = std::move(next);
  }
  p.file = std::string(comps.back());
  return p;
}

StatusOr<UniqueFd> CreateTemp(int dir, const std::string& temp, const std::string& path) {
  for (int attempt = 0;; ++attempt) {
    const int fd =
        ::openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != EEXIST || attempt > 0) return IoError(errno, "create", path);
    // A stale temporary of this very delivery (kill -9): remove it, never follow it.
    struct stat st {};
    if (::fstatat(dir, temp.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
      return FailedPreconditionError("inbox: " + path + " exists and is not our temporary");
    }
    if (::unlinkat(dir, temp.c_str(), 0) != 0 && errno != ENOENT) {
      return IoError(errno, "unlink", path);
    }
  }
}

}  // namespace

std::string InboxRelativeName(std::string_view name, std::string_view distribution_id) {
  const std::string fallback = std::string(distribution_id) + ".bin";
  std::string out;
  for (std::string_view c : Components(name)) {
    if (c == ".." || c.size() > kMaxComponentBytes || HasControlCharacter(c) || IsPartialName(c)) {
      return fallback;
    }
    if (!out.empty()) out += '/';
    out += c;
  }
  if (out.empty() || out.size() > kMaxNameBytes) return fallback;
  return out;
}

StatusOr<InboxWriter> InboxWriter::Open(const std::string& path) {
  PEAT_RETURN_IF_ERROR(blob::MakeDirs(path));
  PEAT_ASSIGN_OR_RETURN(UniqueFd dir, blob::OpenFile(path, O_RDONLY | O_DIRECTORY));
  return InboxWriter(path, std::move(dir));
}

StatusOr<size_t> InboxWriter::RemoveStalePartials() {
  size_t removed = 0;
  Status status;
  PEAT_RETURN_IF_ERROR(WalkTree(
      dir_.get(), path_,
      [&](int dir, const std::string& rel, const std::string& name, const struct stat& st) {
        if (S_ISREG(st.st_mode) && IsPartialName(name)) {
          if (::unlinkat(dir, name.c_str(), 0) == 0) {
            ++removed;
          } else if (errno != ENOENT) {
            status = IoError(errno, "unlink", path_ + "/" + rel);
          }
        }
        return true;
      }));
  PEAT_RETURN_IF_ERROR(status);
  return removed;
}

StatusOr<bool> InboxWriter::AlreadyDelivered(std::string_view rel, uint64_t size,
                                             const Sha256Digest& sha256) {
  PEAT_RETURN_IF_ERROR(CheckInboxName(rel));
  auto parent = OpenParent(dir_.get(), path_, rel, false);
  if (!parent.ok()) {
    const StatusCode code = parent.status().code();
    if (code == StatusCode::kNotFound || code == StatusCode::kFailedPrecondition) return false;
    return parent.status();
  }
  UniqueFd fd(::openat(parent->dir.get(), parent->file.c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR || errno == ENXIO) return false;
    return IoError(errno, "open", parent->path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return IoError(errno, "stat", parent->path);
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != size) return false;
  Sha256 hash;
  PEAT_RETURN_IF_ERROR(Transient(blob::ReadAll(fd.get(), parent->path, [&](auto bytes) {
    hash.Update(bytes);
    return Status::Ok();
  })));
  PEAT_ASSIGN_OR_RETURN(const Sha256Digest actual, hash.Finish());
  return actual == sha256;
}

StatusOr<std::string> InboxWriter::Deliver(std::string_view rel, std::string_view distribution_id,
                                           uint64_t size, const Sha256Digest& expected_sha256,
                                           const Reader& reader) {
  PEAT_RETURN_IF_ERROR(CheckInboxName(rel));
  PEAT_RETURN_IF_ERROR(CheckDistributionId(distribution_id));
  PEAT_ASSIGN_OR_RETURN(Parent p, OpenParent(dir_.get(), path_, rel, true));
  const int dir = p.dir.get();
  struct stat target {};
  if (::fstatat(dir, p.file.c_str(), &target, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISDIR(target.st_mode)) {
    return FailedPreconditionError("inbox: " + p.path + " is a directory");
  }

  PEAT_RETURN_IF_ERROR(blob::CheckFreeSpace(path_, size + kFreeSpaceMarginBytes));
  const std::string temp = TempName(p.file, distribution_id);
  const std::string temp_path = p.path.substr(0, p.path.size() - p.file.size()) + temp;
  PEAT_ASSIGN_OR_RETURN(UniqueFd out, CreateTemp(dir, temp, temp_path));
  struct TempGuard {
    int dir;
    const std::string& name;
    bool armed = true;
    ~TempGuard() {
      if (armed) ::unlinkat(dir, name.c_str(), 0);
    }
  } guard{dir, temp};

  Sha256 hash;
  for (uint64_t offset = 0; offset < size;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(size - offset, kWriteChunkBytes));
    PEAT_ASSIGN_OR_RETURN(const std::string bytes, reader(offset, want));
    if (bytes.empty() || bytes.size() > want) {
      return Status(StatusCode::kDataLoss, "inbox: " + p.path + ": the blob gave " +
                                               std::to_string(bytes.size()) + " bytes at offset " +
                                               std::to_string(offset) + " (asked up to " +
                                               std::to_string(want) + ")");
    }
    hash.Update(bytes);
    PEAT_RETURN_IF_ERROR(Transient(blob::PwriteAll(out.get(), offset, bytes, temp_path)));
    offset += bytes.size();
  }
  PEAT_ASSIGN_OR_RETURN(const Sha256Digest actual, hash.Finish());
  if (actual != expected_sha256) {
    return Status(StatusCode::kDataLoss,
                  "inbox: " + p.path + ": the written bytes do not match the expected SHA-256");
  }
  PEAT_RETURN_IF_ERROR(Transient(blob::Fsync(out.get(), temp_path)));
  out = UniqueFd();
  if (::renameat(dir, temp.c_str(), dir, p.file.c_str()) != 0) {
    if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST) {
      return FailedPreconditionError("inbox: " + p.path + " is a directory");
    }
    return IoError(errno, "rename to", p.path);
  }
  guard.armed = false;
  PEAT_RETURN_IF_ERROR(Transient(blob::Fsync(dir, p.path)));
  return std::string(rel);
}

}  // namespace peat::attach

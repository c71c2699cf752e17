#include "node/identity_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "crypto/random.h"

namespace peat {
namespace {

Status ErrnoError(const std::string& what, const std::string& path, int err) {
  return UnavailableError(what + " " + path + ": " + std::strerror(err));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  int get() const { return fd_; }
  int Close() {
    int rc = 0;
    if (fd_ >= 0) rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Status FsyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError("cannot open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoError("cannot fsync directory", dir, errno);
  return Status::Ok();
}

class PosixFiles final : public IdentityFiles {
 public:
  explicit PosixFiles(std::string dir) : dir_(std::move(dir)) {}

  std::string PathOf(std::string_view name) const override {
    return dir_ + "/" + std::string(name);
  }

  Status Prepare() override {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) return UnavailableError("cannot create data dir " + dir_ + ": " + ec.message());
    return Status::Ok();
  }

  StatusOr<std::optional<Contents>> Read(std::string_view name, size_t max_bytes) override {
    const std::string path = PathOf(name);
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      if (errno == ENOENT) return std::optional<Contents>();
      return ErrnoError("cannot open", path, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return ErrnoError("cannot stat", path, errno);
    SecureBytes buf(max_bytes + 1);
    size_t n = 0;
    while (n < buf.size()) {
      const ssize_t r = ::read(fd.get(), buf.data() + n, buf.size() - n);
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("cannot read", path, errno);
      }
      if (r == 0) break;
      n += static_cast<size_t>(r);
    }
    return std::optional<Contents>(
        Contents{SecureBytes(buf.span().first(n)), static_cast<uint32_t>(st.st_mode & 07777)});
  }

  Status CreateExclusive(std::string_view name, std::span<const uint8_t> content) override {
    PEAT_ASSIGN_OR_RETURN(const std::string unique, RandomUuidV4());
    const std::string final_path = PathOf(name);
    const std::string tmp_path =
        dir_ + "/." + std::string(name) + ".tmp-" + std::to_string(::getpid()) + "-" + unique;

    Fd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) return ErrnoError("cannot create", tmp_path, errno);
    auto fail = [&](const std::string& what, int err) {
      fd.Close();
      ::unlink(tmp_path.c_str());
      return ErrnoError(what, tmp_path, err);
    };
    if (::fchmod(fd.get(), 0600) != 0) return fail("cannot chmod", errno);
    size_t done = 0;
    while (done < content.size()) {
      const ssize_t w = ::write(fd.get(), content.data() + done, content.size() - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        return fail("cannot write", errno);
      }
      done += static_cast<size_t>(w);
    }
    if (::fsync(fd.get()) != 0) return fail("cannot fsync", errno);
    if (fd.Close() != 0) return fail("cannot close", errno);

    if (::link(tmp_path.c_str(), final_path.c_str()) != 0) {
      const int err = errno;
      if (err == EEXIST) {
        ::unlink(tmp_path.c_str());
        return Status(StatusCode::kAlreadyExists, final_path + " already exists");
      }
      if (err != EPERM && err != ENOTSUP && err != EOPNOTSUPP && err != ENOSYS) {
        ::unlink(tmp_path.c_str());
        return ErrnoError("cannot link into place", final_path, err);
      }
      // A filesystem without hard links: fall back to rename (which would replace a file created
      // concurrently; acceptable, only the link path guards that race).
      if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
        const int rerr = errno;
        ::unlink(tmp_path.c_str());
        return ErrnoError("cannot rename into place", final_path, rerr);
      }
    } else {
      ::unlink(tmp_path.c_str());
    }
    return FsyncDir(dir_);
  }

 private:
  const std::string dir_;
};

}  // namespace

std::unique_ptr<IdentityFiles> PosixIdentityFiles(std::string dir) {
  return std::make_unique<PosixFiles>(std::move(dir));
}

}  // namespace peat

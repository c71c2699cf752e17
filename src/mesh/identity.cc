#include "mesh/identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include <spdlog/spdlog.h>

#include "common/hex.h"
#include "crypto/base64.h"
#include "crypto/hkdf.h"
#include "crypto/random.h"

namespace peat {
namespace {

constexpr char kIdentityKeyFile[] = "identity.key";
constexpr char kNodeIdFile[] = "node-id";
constexpr size_t kMaxNodeIdBytes = 1024;

Status ErrnoError(const std::string& what, const std::string& path, int err) {
  return UnavailableError(what + " " + path + ": " + std::strerror(err));
}

Status DataLossError(std::string m) { return Status(StatusCode::kDataLoss, std::move(m)); }

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

Status EnsureDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return UnavailableError("cannot create data dir " + dir + ": " + ec.message());
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError("cannot open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoError("cannot fsync directory", dir, errno);
  return Status::Ok();
}

// nullopt if the file does not exist. Reads at most `max_bytes` + 1 bytes (so the caller can
// tell an oversized file). `mode` receives the file's permission bits.
StatusOr<std::optional<SecureBytes>> ReadSmallFile(const std::string& path, size_t max_bytes,
                                                   mode_t* mode) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<SecureBytes>();
    return ErrnoError("cannot open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("cannot stat", path, errno);
  if (mode != nullptr) *mode = st.st_mode & 07777;
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
  return std::optional<SecureBytes>(SecureBytes(buf.span().first(n)));
}

// Creates dir/name with `content` and mode 0600, atomically: written to a temporary file,
// fsynced, then hard-linked into place (so an existing file is never replaced) and the directory
// fsynced. ALREADY_EXISTS if dir/name already exists (another process won the race).
Status CreateFileAtomically(const std::string& dir, const std::string& name,
                            std::span<const uint8_t> content) {
  std::array<uint8_t, 8> rnd{};
  PEAT_RETURN_IF_ERROR(RandomBytes(rnd));
  const std::string final_path = dir + "/" + name;
  const std::string tmp_path =
      dir + "/." + name + ".tmp-" + std::to_string(::getpid()) + "-" + HexEncode(rnd);

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
  return FsyncDir(dir);
}

void WarnIfLoosePermissions(const std::string& path, mode_t mode) {
  if ((mode & 077) != 0) {
    spdlog::warn("{} is accessible by other users (mode {:04o}); it should be 0600", path,
                 static_cast<unsigned>(mode));
  }
}

StatusOr<std::string> LoadOrCreateNodeId(const std::string& dir) {
  const std::string path = dir + "/" + kNodeIdFile;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto existing = ReadSmallFile(path, kMaxNodeIdBytes + 1, nullptr);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) {
      const SecureBytes& b = **existing;
      std::string id(reinterpret_cast<const char*>(b.data()), b.size());
      while (!id.empty() &&
             (id.back() == '\n' || id.back() == '\r' || id.back() == ' ' || id.back() == '\t')) {
        id.pop_back();
      }
      Status valid = ValidateNodeId(id);
      if (!valid.ok()) {
        return DataLossError(path + " is corrupt (" + valid.message() +
                             "); fix or delete it, or pass --node-id");
      }
      return id;
    }
    auto generated = RandomUuidV4();
    if (!generated.ok()) return generated.status();
    const std::string content = *generated + "\n";
    Status created = CreateFileAtomically(dir, kNodeIdFile, AsBytes(content));
    if (created.ok()) return *generated;
    if (created.code() != StatusCode::kAlreadyExists) return created;
    // Lost a race with another process: read what it wrote.
  }
  return UnavailableError("cannot create " + path);
}

StatusOr<Ed25519Key> LoadOrCreateKey(const std::string& dir) {
  const std::string path = dir + "/" + kIdentityKeyFile;
  for (int attempt = 0; attempt < 2; ++attempt) {
    mode_t mode = 0;
    auto existing = ReadSmallFile(path, Ed25519Key::kSeedSize, &mode);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) {
      const SecureBytes& seed = **existing;
      if (seed.size() != Ed25519Key::kSeedSize) {
        return DataLossError(path + " is corrupt: expected 32 bytes, found " +
                             (seed.size() > Ed25519Key::kSeedSize ? std::string("more")
                                                                  : std::to_string(seed.size())) +
                             "; restore it from a backup, or delete it to create a new "
                             "identity (the node's endpoint id will change)");
      }
      WarnIfLoosePermissions(path, mode);
      return Ed25519Key::FromSeed(seed.span());
    }
    auto key = Ed25519Key::Generate();
    if (!key.ok()) return key.status();
    Status created = CreateFileAtomically(dir, kIdentityKeyFile, key->Seed().span());
    if (created.ok()) return key;
    if (created.code() != StatusCode::kAlreadyExists) return created;
  }
  return UnavailableError("cannot create " + path);
}

}  // namespace

std::string NodeIdentity::EndpointId() const { return HexEncode(key.PublicKey()); }

std::string NodeIdentity::ShortId() const { return ShortEndpointId(EndpointId()); }

std::string ShortEndpointId(std::string_view endpoint_id) {
  return std::string(endpoint_id.substr(0, 10));
}

Status ValidateNodeId(std::string_view node_id) {
  if (node_id.empty()) return InvalidArgumentError("--node-id: must not be empty");
  if (node_id.size() > kMaxNodeIdBytes) {
    return InvalidArgumentError("--node-id: must be at most 1024 bytes");
  }
  for (char c : node_id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidArgumentError("--node-id: must not contain control characters");
    }
  }
  return Status::Ok();
}

bool IsValidEndpointId(std::string_view id) { return id.size() == 64 && IsLowerHex(id); }

StatusOr<NodeIdentity> DeriveIdentity(std::string_view shared_key_b64, std::string_view node_id) {
  PEAT_RETURN_IF_ERROR(ValidateNodeId(node_id));
  auto ikm = DecodeBase64Key32(shared_key_b64);
  if (!ikm.ok()) return InvalidArgumentError("--shared-key: " + ikm.status().message());
  const std::string info = "iroh:" + std::string(node_id);
  auto seed = HkdfSha256(ikm->span(), {}, AsBytes(info), Ed25519Key::kSeedSize);
  if (!seed.ok()) return seed.status();
  auto key = Ed25519Key::FromSeed(seed->span());
  if (!key.ok()) return key.status();
  return NodeIdentity{std::string(node_id), std::move(*key)};
}

StatusOr<NodeIdentity> LoadOrCreateIdentity(const std::string& data_dir, std::string node_id,
                                            const std::string& shared_key_b64) {
  if (data_dir.empty()) return InvalidArgumentError("--data-dir: must not be empty");
  PEAT_RETURN_IF_ERROR(EnsureDir(data_dir));
  if (node_id.empty()) {
    auto loaded = LoadOrCreateNodeId(data_dir);
    if (!loaded.ok()) return loaded.status();
    node_id = std::move(*loaded);
  }
  if (!shared_key_b64.empty()) return DeriveIdentity(shared_key_b64, node_id);
  PEAT_RETURN_IF_ERROR(ValidateNodeId(node_id));
  auto key = LoadOrCreateKey(data_dir);
  if (!key.ok()) return key.status();
  return NodeIdentity{std::move(node_id), std::move(*key)};
}

}  // namespace peat

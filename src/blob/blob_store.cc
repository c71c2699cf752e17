#include "blob/blob_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "common/hex.h"

namespace peat::blob {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kAtRestMeta = "at_rest";
constexpr std::string_view kPlaintextMode = "plaintext";
constexpr std::string_view kEncryptedPrefix = "aes-256-gcm:";
constexpr size_t kManifestCacheLimit = 256;

Status DataLoss(std::string m) { return Status(StatusCode::kDataLoss, std::move(m)); }

uint64_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Removes `path`; OK if it did not exist.
Status Unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "unlink", path);
  return Status::Ok();
}

Status Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus(errno, "rename to", to);
  return Status::Ok();
}

Status FileChanged(const std::string& name) {
  return InvalidArgumentError("ingest " + name + ": file changed during ingest");
}

// INVALID_ARGUMENT unless the file behind `fd` still has the size and mtime it had at `opened`.
Status CheckUnchanged(int fd, const std::string& name, const struct stat& opened) {
  struct stat now {};
  if (::fstat(fd, &now) != 0) return ErrnoStatus(errno, "stat", name);
  if (now.st_size != opened.st_size || now.st_mtim.tv_sec != opened.st_mtim.tv_sec ||
      now.st_mtim.tv_nsec != opened.st_mtim.tv_nsec) {
    return FileChanged(name);
  }
  return Status::Ok();
}

std::string ChunkName(const BlobRoot& root, uint64_t index) {
  return "chunk " + std::to_string(index) + " of blob " + BlobToken(root);
}

}  // namespace

BlobStore::BlobStore(std::string root_dir, ChunkIndex index, std::optional<ChunkCipher> cipher)
    : root_dir_(std::move(root_dir)), cipher_(std::move(cipher)), index_(std::move(index)) {}

StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(BlobStoreOptions options) {
  std::optional<ChunkCipher> cipher;
  if (!options.encryption_key.empty()) {
    PEAT_ASSIGN_OR_RETURN(cipher, ChunkCipher::Create(std::move(options.encryption_key)));
  }
  const std::string dir = options.root_dir;
  PEAT_RETURN_IF_ERROR(MakeDirs(dir + "/partial"));
  PEAT_RETURN_IF_ERROR(MakeDirs(dir + "/tmp"));
  PEAT_ASSIGN_OR_RETURN(ChunkIndex index, ChunkIndex::Open(dir + "/index.db"));
  std::unique_ptr<BlobStore> store(new BlobStore(dir, std::move(index), std::move(cipher)));
  PEAT_RETURN_IF_ERROR(store->CheckAtRestMode());
  PEAT_RETURN_IF_ERROR(store->Reconcile());
  return store;
}

Status BlobStore::CheckAtRestMode() {
  PEAT_ASSIGN_OR_RETURN(std::optional<std::string> mode, index_.GetMeta(kAtRestMeta));
  if (!mode) {
    std::string value(kPlaintextMode);
    if (cipher_) {
      PEAT_ASSIGN_OR_RETURN(std::string check, cipher_->MakeKeyCheck());
      value = std::string(kEncryptedPrefix) + check;
    }
    return index_.PutMeta(kAtRestMeta, value);
  }
  const bool encrypted = mode->starts_with(kEncryptedPrefix);
  if (!encrypted && *mode != kPlaintextMode) {
    return DataLoss("blob store " + root_dir_ + ": unknown at-rest mode in index.db");
  }
  if (encrypted && !cipher_) {
    return FailedPreconditionError("blob store " + root_dir_ +
                                   " is encrypted: start the node with its --encryption-key");
  }
  if (!encrypted && cipher_) {
    return FailedPreconditionError("blob store " + root_dir_ +
                                   " was created without --encryption-key and holds plaintext "
                                   "blobs; it cannot be opened with a key");
  }
  if (encrypted) return cipher_->VerifyKeyCheck(mode->substr(kEncryptedPrefix.size()));
  return Status::Ok();
}

Status BlobStore::Reconcile() {
  std::lock_guard lock(mu_);
  // Temporaries of an ingest or completion that never finished.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_dir_ + "/tmp", ec)) {
    PEAT_RETURN_IF_ERROR(Unlink(e.path().string()));
  }
  PEAT_ASSIGN_OR_RETURN(std::vector<PartialRow> rows, index_.LoadPartials());
  for (PartialRow& row : rows) {
    auto manifest = ParseManifestForRoot(row.manifest_bytes, row.root);
    const std::string path = PartialPath(row.root);
    std::optional<ChunkBitmap> bitmap;
    if (manifest.ok()) {
      auto b = ChunkBitmap::FromBytes(manifest->chunk_count(), row.bitmap_bytes);
      if (b.ok()) bitmap = std::move(*b);
    }
    // Completed before the row was deleted, lost its file, or damaged: forget the row.
    if (!bitmap || Has(row.root) || !Exists(path)) {
      PEAT_RETURN_IF_ERROR(index_.DeletePartial(row.root));
      PEAT_RETURN_IF_ERROR(Unlink(path));
      continue;
    }
    partials_.emplace(
        row.root, Partial{std::move(*manifest), std::move(row.manifest_bytes), std::move(*bitmap)});
  }
  // Partial files whose row was never committed.
  for (const auto& e : fs::directory_iterator(root_dir_ + "/partial", ec)) {
    auto root = ParseBlobToken(e.path().filename().string());
    if (!root.ok() || !partials_.contains(*root)) {
      PEAT_RETURN_IF_ERROR(Unlink(e.path().string()));
    } else {
      usage_.partial_bytes += FileSize(e.path().string());
    }
  }
  for (const auto& shard : fs::directory_iterator(root_dir_, ec)) {
    const std::string name = shard.path().filename().string();
    if (name.size() != 2 || !IsLowerHex(name) || !shard.is_directory()) continue;
    for (const auto& e : fs::directory_iterator(shard.path(), ec)) {
      usage_.complete_bytes += FileSize(e.path().string());
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<BlobStore::StoredBlob>> BlobStore::ListComplete() const {
  std::vector<StoredBlob> out;
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(root_dir_, ec)) {
    const std::string name = shard.path().filename().string();
    if (name.size() != 2 || !IsLowerHex(name) || !shard.is_directory()) continue;
    for (const auto& e : fs::directory_iterator(shard.path(), ec)) {
      auto root = ParseBlobToken(e.path().filename().string());  // skips the .manifest files
      if (!root.ok()) continue;
      struct stat st {};
      if (::stat(e.path().c_str(), &st) != 0) continue;  // removed meanwhile
      out.push_back(
          {*root, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000});
    }
  }
  if (ec) return ErrnoStatus(ec.value(), "list", root_dir_);
  return out;
}

uint64_t BlobStore::StoredSize(const BlobManifest& m) const {
  return m.size + (cipher_ ? m.chunk_count() * ChunkCipher::kOverheadBytes : 0);
}

uint64_t BlobStore::StoredOffset(const BlobManifest& m, uint64_t index) const {
  return index *
         (static_cast<uint64_t>(m.chunk_bytes) + (cipher_ ? ChunkCipher::kOverheadBytes : 0));
}

std::string BlobStore::CompletePath(const BlobRoot& root) const {
  const std::string token = BlobToken(root);
  return root_dir_ + "/" + token.substr(0, 2) + "/" + token;
}

std::string BlobStore::ManifestPath(const BlobRoot& root) const {
  return CompletePath(root) + ".manifest";
}

std::string BlobStore::PartialPath(const BlobRoot& root) const {
  return root_dir_ + "/partial/" + BlobToken(root);
}

std::string BlobStore::NewTempPath(std::string_view what) {
  return root_dir_ + "/tmp/" + std::string(what) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(temp_counter_.fetch_add(1));
}

bool BlobStore::Has(const BlobRoot& root) const { return Exists(CompletePath(root)); }

Status BlobStore::InstallLocked(const BlobRoot& root, std::string_view manifest_bytes,
                                const std::string& data_tmp) {
  const std::string data = CompletePath(root);
  const std::string shard = fs::path(data).parent_path().string();
  PEAT_RETURN_IF_ERROR(MakeDirs(shard));
  PEAT_RETURN_IF_ERROR(
      WriteFileAtomic(NewTempPath("manifest"), ManifestPath(root), manifest_bytes));
  PEAT_RETURN_IF_ERROR(Rename(data_tmp, data));
  PEAT_RETURN_IF_ERROR(FsyncDir(shard));
  usage_.complete_bytes += FileSize(data) + manifest_bytes.size();
  return Status::Ok();
}

Status BlobStore::WriteSealedCopy(int src_fd, const std::string& src, const BlobDigest& digest,
                                  int dst_fd, const std::string& dst) const {
  PEAT_ASSIGN_OR_RETURN(Aes256GcmKey key, cipher_->BlobKey(digest.root));
  const BlobManifest& m = digest.manifest;
  for (uint64_t i = 0; i < m.chunk_count(); ++i) {
    PEAT_ASSIGN_OR_RETURN(std::string plain,
                          PreadExact(src_fd, m.ChunkOffset(i), m.ChunkLength(i), src));
    PEAT_ASSIGN_OR_RETURN(Sha256Digest h, Sha256Of(plain));
    if (h != m.chunk_hashes[i]) {
      return FileChanged(src);
    }
    PEAT_ASSIGN_OR_RETURN(std::string sealed, ChunkCipher::Seal(key, i, plain));
    PEAT_RETURN_IF_ERROR(PwriteAll(dst_fd, StoredOffset(m, i), sealed, dst));
  }
  return Status::Ok();
}

StatusOr<IngestResult> BlobStore::Ingest(const std::string& path) {
  PEAT_ASSIGN_OR_RETURN(UniqueFd src, OpenFile(path, O_RDONLY));
  struct stat st {};
  if (::fstat(src.get(), &st) != 0) return ErrnoStatus(errno, "stat", path);
  return IngestFd(src.get(), path, st);
}

StatusOr<IngestResult> BlobStore::IngestFd(int fd, const std::string& name_for_errors,
                                           const struct stat& opened) {
  const std::string& name = name_for_errors;
  if (!S_ISREG(opened.st_mode))
    return InvalidArgumentError("ingest " + name + ": not a regular file");
  PEAT_RETURN_IF_ERROR(CheckUnchanged(fd, name, opened));
  const uint64_t size = static_cast<uint64_t>(opened.st_size);
  const uint64_t overhead =
      ChunkCountFor(size, kChunkBytes) * (kHashBytes + (cipher_ ? ChunkCipher::kOverheadBytes : 0));
  PEAT_RETURN_IF_ERROR(CheckFreeSpace(root_dir_, size + overhead + kManifestHeaderBytes));
  if (::lseek(fd, 0, SEEK_SET) < 0) return ErrnoStatus(errno, "seek", name);

  const std::string tmp = NewTempPath("ingest");
  PEAT_ASSIGN_OR_RETURN(UniqueFd dst, OpenFile(tmp, O_RDWR | O_CREAT | O_EXCL));
  struct TempGuard {
    const std::string& p;
    ~TempGuard() { ::unlink(p.c_str()); }  // after a successful rename: ENOENT, harmless
  } guard{tmp};

  std::optional<BlobDigest> digest;
  if (cipher_) {
    PEAT_ASSIGN_OR_RETURN(digest, HashFd(fd, name));
    if (digest->size() != size) return FileChanged(name);
    PEAT_RETURN_IF_ERROR(CheckUnchanged(fd, name, opened));
    if (Has(digest->root))
      return IngestResult{digest->root, digest->size(), digest->file_sha256, true};
    PEAT_RETURN_IF_ERROR(WriteSealedCopy(fd, name, *digest, dst.get(), tmp));
  } else if (TryReflink(fd, dst.get())) {
    // Hash the copy, not the source: the store holds exactly what was hashed.
    PEAT_ASSIGN_OR_RETURN(digest, HashFd(dst.get(), tmp));
  } else {
    BlobHasher hasher;
    uint64_t copied = 0;
    PEAT_RETURN_IF_ERROR(ReadAll(fd, name, [&](std::span<const uint8_t> bytes) {
      copied += bytes.size();
      if (copied > size) return FileChanged(name);
      PEAT_RETURN_IF_ERROR(CheckUnchanged(fd, name, opened));
      hasher.Update(bytes);
      return WriteAllAppend(dst.get(), bytes, tmp);
    }));
    PEAT_ASSIGN_OR_RETURN(digest, hasher.Finish());
  }
  // What was stored must be the version that was opened: same size, same mtime, after the copy.
  if (digest->size() != size) return FileChanged(name);
  PEAT_RETURN_IF_ERROR(CheckUnchanged(fd, name, opened));
  IngestResult result{digest->root, digest->size(), digest->file_sha256, false};
  PEAT_RETURN_IF_ERROR(Fsync(dst.get(), tmp));

  std::lock_guard lock(mu_);
  if (Has(result.root)) {
    result.already_present = true;
    return result;
  }
  PEAT_RETURN_IF_ERROR(InstallLocked(result.root, digest->manifest_bytes, tmp));
  return result;
}

StatusOr<BlobRoot> BlobStore::BeginPartial(std::string_view manifest_bytes) {
  PEAT_ASSIGN_OR_RETURN(BlobManifest manifest, ParseManifest(manifest_bytes));
  PEAT_ASSIGN_OR_RETURN(const BlobRoot root, RootOf(manifest_bytes));
  std::lock_guard lock(mu_);
  if (Has(root) || partials_.contains(root)) return root;
  const uint64_t stored = StoredSize(manifest);
  PEAT_RETURN_IF_ERROR(CheckFreeSpace(root_dir_, stored));
  const std::string path = PartialPath(root);
  {
    PEAT_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC));
    Status s = Preallocate(fd.get(), stored, path);
    if (s.ok()) s = Fsync(fd.get(), path);
    if (!s.ok()) {
      ::unlink(path.c_str());
      return s;
    }
  }
  PEAT_RETURN_IF_ERROR(FsyncDir(root_dir_ + "/partial"));
  ChunkBitmap bitmap(manifest.chunk_count());
  Status s = index_.InsertPartial({root, std::string(manifest_bytes), bitmap.bytes()});
  if (!s.ok()) {
    ::unlink(path.c_str());
    return s;
  }
  partials_.emplace(root, Partial{std::move(manifest), std::string(manifest_bytes), bitmap});
  usage_.partial_bytes += stored;
  return root;
}

Status BlobStore::WriteChunk(const BlobRoot& root, uint64_t index, std::string_view bytes) {
  Sha256Digest expected{};
  uint32_t length = 0;
  uint64_t offset = 0;
  {
    std::lock_guard lock(mu_);
    auto it = partials_.find(root);
    if (it == partials_.end()) {
      if (Has(root)) return Status::Ok();
      return NotFoundError("no partial blob " + BlobToken(root));
    }
    const Partial& p = it->second;
    if (index >= p.manifest.chunk_count()) {
      return InvalidArgumentError(ChunkName(root, index) + ": the blob has " +
                                  std::to_string(p.manifest.chunk_count()) + " chunks");
    }
    if (p.bitmap.Test(index)) return Status::Ok();
    expected = p.manifest.chunk_hashes[index];
    length = p.manifest.ChunkLength(index);
    offset = StoredOffset(p.manifest, index);
  }
  if (bytes.size() != length) {
    return InvalidArgumentError(ChunkName(root, index) + ": " + std::to_string(bytes.size()) +
                                " bytes, expected " + std::to_string(length));
  }
  PEAT_ASSIGN_OR_RETURN(const Sha256Digest actual, Sha256Of(bytes));
  if (actual != expected) {
    return DataLoss(ChunkName(root, index) + ": SHA-256 does not match the manifest");
  }
  std::string sealed;
  if (cipher_) {
    PEAT_ASSIGN_OR_RETURN(Aes256GcmKey key, cipher_->BlobKey(root));
    PEAT_ASSIGN_OR_RETURN(sealed, ChunkCipher::Seal(key, index, bytes));
    bytes = sealed;
  }
  const std::string path = PartialPath(root);
  {
    PEAT_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY));
    PEAT_RETURN_IF_ERROR(PwriteAll(fd.get(), offset, bytes, path));
    if (::fdatasync(fd.get()) != 0) return ErrnoStatus(errno, "fdatasync", path);
  }
  std::lock_guard lock(mu_);
  auto it = partials_.find(root);
  if (it == partials_.end())
    return NotFoundError("partial blob " + BlobToken(root) + " was removed");
  ChunkBitmap next = it->second.bitmap;
  next.Set(index);
  PEAT_RETURN_IF_ERROR(index_.UpdateBitmap(root, next.bytes()));
  it->second.bitmap = std::move(next);
  return Status::Ok();
}

StatusOr<std::vector<uint64_t>> BlobStore::MissingChunks(const BlobRoot& root) {
  std::lock_guard lock(mu_);
  auto it = partials_.find(root);
  if (it != partials_.end()) return it->second.bitmap.Missing();
  if (Has(root)) return std::vector<uint64_t>();
  return NotFoundError("no blob or partial " + BlobToken(root));
}

Status BlobStore::Complete(const BlobRoot& root, const std::optional<Sha256Digest>& file_sha256) {
  if (file_sha256) {
    PEAT_ASSIGN_OR_RETURN(const std::vector<uint64_t> missing, MissingChunks(root));
    if (!missing.empty()) {
      return FailedPreconditionError("blob " + BlobToken(root) + ": " +
                                     std::to_string(missing.size()) +
                                     " chunks are not verified yet");
    }
    PEAT_ASSIGN_OR_RETURN(ChunkSource src, OpenChunkSource(root, std::nullopt));
    if (!src.path.empty() && src.path == PartialPath(root)) {
      Sha256 whole;
      for (uint64_t i = 0; i < src.manifest.chunk_count(); ++i) {
        PEAT_ASSIGN_OR_RETURN(std::string plain,
                              ReadStoredChunk(src, root, i, 0, src.manifest.ChunkLength(i)));
        whole.Update(plain);
      }
      PEAT_ASSIGN_OR_RETURN(const Sha256Digest actual, whole.Finish());
      if (actual != *file_sha256) {
        return DataLoss("blob " + BlobToken(root) +
                        ": the whole-file SHA-256 does not match the expected one");
      }
    }
  }
  std::lock_guard lock(mu_);
  auto it = partials_.find(root);
  if (it == partials_.end()) {
    if (Has(root)) return Status::Ok();
    return NotFoundError("no partial blob " + BlobToken(root));
  }
  const uint64_t missing = it->second.manifest.chunk_count() - it->second.bitmap.CountSet();
  if (missing != 0) {
    return FailedPreconditionError("blob " + BlobToken(root) + ": " + std::to_string(missing) +
                                   " chunks are not verified yet");
  }
  const std::string path = PartialPath(root);
  const uint64_t partial_size = FileSize(path);
  {
    PEAT_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
    PEAT_RETURN_IF_ERROR(Fsync(fd.get(), path));
  }
  PEAT_RETURN_IF_ERROR(InstallLocked(root, it->second.manifest_bytes, path));
  PEAT_RETURN_IF_ERROR(FsyncDir(root_dir_ + "/partial"));
  // A crash here leaves the row; Reconcile drops it because the complete blob exists.
  PEAT_RETURN_IF_ERROR(index_.DeletePartial(root));
  partials_.erase(it);
  usage_.partial_bytes -= std::min(usage_.partial_bytes, partial_size);
  return Status::Ok();
}

StatusOr<BlobManifest> BlobStore::LoadCompleteManifestLocked(const BlobRoot& root) {
  if (auto it = complete_manifests_.find(root); it != complete_manifests_.end()) return it->second;
  const std::string path = ManifestPath(root);
  PEAT_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  std::string bytes;
  PEAT_RETURN_IF_ERROR(ReadAll(fd.get(), path, [&](std::span<const uint8_t> b) {
    bytes.append(reinterpret_cast<const char*>(b.data()), b.size());
    return Status::Ok();
  }));
  auto manifest = ParseManifestForRoot(bytes, root);
  if (!manifest.ok()) return DataLoss(path + ": " + std::string(manifest.status().message()));
  if (complete_manifests_.size() >= kManifestCacheLimit) complete_manifests_.clear();
  complete_manifests_.emplace(root, *manifest);
  return manifest;
}

StatusOr<BlobStore::ChunkSource> BlobStore::OpenChunkSource(const BlobRoot& root,
                                                            std::optional<uint64_t> index) {
  std::lock_guard lock(mu_);
  ChunkSource src;
  if (auto it = partials_.find(root); it != partials_.end()) {
    if (index && *index < it->second.manifest.chunk_count() && !it->second.bitmap.Test(*index)) {
      return NotFoundError(ChunkName(root, *index) + " is not verified yet");
    }
    src.path = PartialPath(root);
    src.manifest = it->second.manifest;
  } else if (Has(root)) {
    PEAT_ASSIGN_OR_RETURN(src.manifest, LoadCompleteManifestLocked(root));
    src.path = CompletePath(root);
  } else {
    return NotFoundError("no blob or partial " + BlobToken(root));
  }
  // The fd keeps the inode: a concurrent Complete (rename) or Remove does not disturb the read.
  PEAT_ASSIGN_OR_RETURN(src.fd, OpenFile(src.path, O_RDONLY));
  return src;
}

StatusOr<std::string> BlobStore::ReadStoredChunk(const ChunkSource& src, const BlobRoot& root,
                                                 uint64_t index, uint64_t offset,
                                                 size_t len) const {
  const uint64_t at = StoredOffset(src.manifest, index);
  if (!cipher_) return PreadExact(src.fd.get(), at + offset, len, src.path);
  PEAT_ASSIGN_OR_RETURN(
      std::string stored,
      PreadExact(src.fd.get(), at, src.manifest.ChunkLength(index) + ChunkCipher::kOverheadBytes,
                 src.path));
  PEAT_ASSIGN_OR_RETURN(Aes256GcmKey key, cipher_->BlobKey(root));
  PEAT_ASSIGN_OR_RETURN(std::string plain, ChunkCipher::Open(key, index, stored));
  return plain.substr(offset, len);
}

StatusOr<std::string> BlobStore::ReadChunk(const BlobRoot& root, uint64_t index, uint64_t offset,
                                           size_t max_len) {
  PEAT_ASSIGN_OR_RETURN(ChunkSource src, OpenChunkSource(root, index));
  if (index >= src.manifest.chunk_count()) {
    return Status(StatusCode::kOutOfRange, ChunkName(root, index) + ": the blob has " +
                                               std::to_string(src.manifest.chunk_count()) +
                                               " chunks");
  }
  const uint32_t length = src.manifest.ChunkLength(index);
  if (offset > length) {
    return Status(StatusCode::kOutOfRange, ChunkName(root, index) + ": offset " +
                                               std::to_string(offset) + " is past its " +
                                               std::to_string(length) + " bytes");
  }
  const size_t len = static_cast<size_t>(std::min<uint64_t>(max_len, length - offset));
  return ReadStoredChunk(src, root, index, offset, len);
}

StatusOr<std::string> BlobStore::Manifest(const BlobRoot& root) {
  std::lock_guard lock(mu_);
  if (auto it = partials_.find(root); it != partials_.end()) return it->second.manifest_bytes;
  if (!Has(root)) return NotFoundError("no blob or partial " + BlobToken(root));
  PEAT_ASSIGN_OR_RETURN(BlobManifest m, LoadCompleteManifestLocked(root));
  return m.Encode();
}

Status BlobStore::Remove(const BlobRoot& root) {
  std::lock_guard lock(mu_);
  if (auto it = partials_.find(root); it != partials_.end()) {
    const std::string path = PartialPath(root);
    const uint64_t size = FileSize(path);
    PEAT_RETURN_IF_ERROR(index_.DeletePartial(root));
    partials_.erase(it);
    PEAT_RETURN_IF_ERROR(Unlink(path));
    usage_.partial_bytes -= std::min(usage_.partial_bytes, size);
  }
  complete_manifests_.erase(root);
  for (const std::string& path : {CompletePath(root), ManifestPath(root)}) {
    const uint64_t size = FileSize(path);
    if (!Exists(path)) continue;
    PEAT_RETURN_IF_ERROR(Unlink(path));
    usage_.complete_bytes -= std::min(usage_.complete_bytes, size);
  }
  return Status::Ok();
}

BlobUsage BlobStore::Usage() const {
  std::lock_guard lock(mu_);
  return usage_;
}

}  // namespace peat::blob

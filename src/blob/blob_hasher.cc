#include "blob/blob_hasher.h"

#include "blob/posix_file.h"

namespace peat::blob {

Status BlobHasher::CloseChunk() {
  PEAT_ASSIGN_OR_RETURN(Sha256Digest h, chunk_.Finish());
  manifest_.chunk_hashes.push_back(h);
  in_chunk_ = 0;
  return Status::Ok();
}

void BlobHasher::Update(std::span<const uint8_t> bytes) {
  file_.Update(bytes);
  manifest_.size += bytes.size();
  while (!bytes.empty() && status_.ok()) {
    const size_t take =
        static_cast<size_t>(std::min<uint64_t>(bytes.size(), manifest_.chunk_bytes - in_chunk_));
    chunk_.Update(bytes.first(take));
    in_chunk_ += take;
    bytes = bytes.subspan(take);
    if (in_chunk_ == manifest_.chunk_bytes) status_ = CloseChunk();
  }
}

StatusOr<BlobDigest> BlobHasher::Finish() {
  PEAT_RETURN_IF_ERROR(status_);
  if (in_chunk_ > 0) PEAT_RETURN_IF_ERROR(CloseChunk());
  BlobDigest d;
  PEAT_ASSIGN_OR_RETURN(d.file_sha256, file_.Finish());
  d.manifest = std::move(manifest_);
  d.manifest_bytes = d.manifest.Encode();
  PEAT_ASSIGN_OR_RETURN(d.root, RootOf(d.manifest_bytes));
  return d;
}

StatusOr<BlobDigest> HashFile(const std::string& path) {
  PEAT_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  return HashFd(fd.get(), path);
}

StatusOr<BlobDigest> HashFd(int fd, const std::string& path) {
  BlobHasher hasher;
  PEAT_RETURN_IF_ERROR(ReadAll(fd, path, [&](std::span<const uint8_t> bytes) {
    hasher.Update(bytes);
    return Status::Ok();
  }));
  return hasher.Finish();
}

}  // namespace peat::blob

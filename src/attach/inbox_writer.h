// The receiver's inbox (docs/spec/ATTACHMENTS.md §13 "R name" and "R write"): the inbox-relative
// name of a delivered file, and the writer that puts a verified blob there without ever following
// a symlink, without ever showing a partial file under its final name, durably.
//
// Every path step is an openat/mkdirat from the inbox's directory fd with O_NOFOLLOW: a symlink
// planted in the inbox (`inbox/sub → /etc`) is never written through (FAILED_PRECONDITION), and a
// symlink at the target name is replaced by the rename, not followed. The bytes go to a temporary
// `.<file>.<distribution_id>.partial` (O_CREAT|O_EXCL|O_NOFOLLOW, 0640) in the target's directory,
// are hashed while written, compared with the expected SHA-256, fsynced, renamed over the target
// and the directory is fsynced. A kill -9 leaves at most a `.partial`, which RemoveStalePartials
// (at start) deletes. Which of two deliveries of one name wins (§20 decision 7) is the caller's.
//
// Errors (the caller's transient/permanent split of §13):
//   INVALID_ARGUMENT     a name or distribution id this module would not have produced (a bug);
//   FAILED_PRECONDITION  permanent: a directory at the target name, a symlink or non-directory
//                        where a parent directory should be;
//   DATA_LOSS            the written bytes do not match `expected_sha256` (nothing is left
//                        visible), or the reader returned more or fewer bytes than asked;
//   RESOURCE_EXHAUSTED   less than size + 64 MiB free in the inbox's filesystem (checked before
//                        writing), ENOSPC / EDQUOT (transient);
//   UNAVAILABLE          any other I/O error (transient);
//   the reader's own error, unchanged.
// Thread-safety: after Open, every method may run concurrently for different names; two Delivers
// of one (name, distribution id) at once are the caller's bug.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "blob/posix_file.h"
#include "common/status.h"
#include "crypto/sha256.h"

namespace peat::attach {

// The inbox-relative path for a distribution's `name` (display_name or relative_path): split on
// '/', empty and "." components dropped. Any `..`, NUL or control character, a component over 255
// bytes, a total over 4,096 bytes, nothing left — or a component that looks like one of our
// temporaries (`.*.partial`, which RemoveStalePartials would delete) — gives
// `<distribution_id>.bin`.
std::string InboxRelativeName(std::string_view name, std::string_view distribution_id);

class InboxWriter {
 public:
  // Plaintext bytes of the blob: at most `max_len` from `offset` (BlobStore::ReadChunk adapted).
  using Reader = std::function<StatusOr<std::string>(uint64_t offset, size_t max_len)>;

  // mkdir -p `path`, then holds it as a directory fd.
  static StatusOr<InboxWriter> Open(const std::string& path);

  // Deletes every regular file named `.*.partial` anywhere below the inbox (never following a
  // symlink); returns how many it removed.
  StatusOr<size_t> RemoveStalePartials();

  // True iff a regular file (not a symlink) is at `rel` with this size and SHA-256.
  StatusOr<bool> AlreadyDelivered(std::string_view rel, uint64_t size, const Sha256Digest& sha256);

  // Writes the `size` bytes `reader` gives to `rel` (creating its parent directories, 0750) as
  // described above; returns `rel`.
  StatusOr<std::string> Deliver(std::string_view rel, std::string_view distribution_id,
                                uint64_t size, const Sha256Digest& expected_sha256,
                                const Reader& reader);

  const std::string& path() const { return path_; }

 private:
  InboxWriter(std::string path, blob::UniqueFd dir)
      : path_(std::move(path)), dir_(std::move(dir)) {}

  std::string path_;
  blob::UniqueFd dir_;  // O_RDONLY | O_DIRECTORY
};

}  // namespace peat::attach

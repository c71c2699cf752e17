// IdentityFiles: the seam between the node's identity (node_identity.h) and the small files that
// keep it in the data dir (identity.key, node-id). LoadOrCreateIdentity decides what to read,
// generate and keep; an IdentityFiles only reads a file or creates one that does not exist yet.
// PosixIdentityFiles is the real one; unit tests use an in-memory fake
// (tests/unit/node/node_identity_test.cc) to cover first boot, restart, corrupt files, a lost
// creation race and I/O errors without a disk.
//
// Errors: UNAVAILABLE for I/O failures (the message names the path and the reason);
// ALREADY_EXISTS from CreateExclusive when the file exists.
// Threading: PosixIdentityFiles is stateless beyond its directory and may be used from several
// threads and processes at once (creation is atomic: one creator wins).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "crypto/secure_bytes.h"

namespace peat {

class IdentityFiles {
 public:
  struct Contents {
    SecureBytes bytes;  // at most the `max_bytes` + 1 first bytes of the file
    uint32_t mode = 0;  // permission bits (07777)
  };

  virtual ~IdentityFiles() = default;

  // The full path of file `name`, for messages and logs.
  virtual std::string PathOf(std::string_view name) const = 0;
  // Makes sure the directory exists (creating parents). UNAVAILABLE if it cannot.
  virtual Status Prepare() = 0;
  // File `name`: nullopt if it does not exist. Reads at most `max_bytes` + 1 bytes, so the
  // caller can tell a file that is too long.
  virtual StatusOr<std::optional<Contents>> Read(std::string_view name, size_t max_bytes) = 0;
  // Creates file `name` holding `content` (mode 0600) atomically and durably: either the whole
  // file is there, or none. Never replaces an existing file: ALREADY_EXISTS if `name` exists
  // (another creator won the race; read theirs).
  virtual Status CreateExclusive(std::string_view name, std::span<const uint8_t> content) = 0;
};

// The files in directory `dir`. CreateExclusive writes a temporary file (mode 0600), fsyncs it,
// hard-links it into place (which fails if the name exists) and fsyncs the directory; on a
// filesystem without hard links it falls back to rename (which cannot detect a concurrent
// creator).
std::unique_ptr<IdentityFiles> PosixIdentityFiles(std::string dir);

}  // namespace peat

#include "attach/outbox_scanner.h"

#include "attach/dir_walk.h"
#include "common/hex.h"
#include "crypto/sha256.h"

namespace peat::attach {

std::vector<OutboxFile> OutboxScanner::Poll(const std::map<std::string, AttachmentRoot>& roots) {
  std::map<std::pair<std::string, std::string>, Version> now;
  for (const auto& [root_name, root] : roots) {
    const std::string& name = root_name;  // lambdas cannot capture structured bindings (clang)
    // An unreadable root yields no files this poll; the next poll tries again.
    (void)WalkTree(
        root.dir.get(), root.path,
        [&](int, const std::string& rel, const std::string& entry, const struct stat& st) {
          if (entry.front() == '.') return false;
          if (S_ISREG(st.st_mode)) {
            now[{name, rel}] =
                Version{static_cast<uint64_t>(st.st_size),
                        int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
                        static_cast<uint64_t>(st.st_ino)};
          }
          return true;
        });
  }
  std::vector<OutboxFile> stable;
  for (const auto& [key, version] : now) {
    auto it = seen_.find(key);
    if (it == seen_.end() || !(it->second == version)) continue;
    stable.push_back(
        OutboxFile{key.first, key.second, version.size, version.mtime_ns, version.inode});
  }
  seen_ = std::move(now);
  return stable;
}

StatusOr<std::string> OutboxBundleId(std::string_view root, std::string_view rel,
                                     std::string_view sha256_raw) {
  Sha256 hash;
  hash.Update(root);
  hash.Update(std::string_view("/"));
  hash.Update(rel);
  hash.Update(std::string_view("\0", 1));
  hash.Update(sha256_raw);
  PEAT_ASSIGN_OR_RETURN(const Sha256Digest digest, hash.Finish());
  return "outbox-" + HexEncode(digest).substr(0, 32);
}

}  // namespace peat::attach

#include "node/node_identity.h"

#include <spdlog/spdlog.h>

#include <optional>

#include "common/endpoint_id.h"
#include "common/hex.h"
#include "crypto/base64.h"
#include "crypto/hkdf.h"
#include "crypto/random.h"

namespace peat {
namespace {

constexpr char kIdentityKeyFile[] = "identity.key";
constexpr char kNodeIdFile[] = "node-id";
constexpr size_t kMaxNodeIdBytes = 1024;

Status DataLossError(std::string m) { return Status(StatusCode::kDataLoss, std::move(m)); }

void WarnIfLoosePermissions(const std::string& path, uint32_t mode) {
  if ((mode & 077) != 0) {
    spdlog::warn("{} is accessible by other users (mode {:04o}); it should be 0600", path, mode);
  }
}

StatusOr<std::string> LoadOrCreateNodeId(IdentityFiles& files) {
  const std::string path = files.PathOf(kNodeIdFile);
  for (int attempt = 0; attempt < 2; ++attempt) {
    PEAT_ASSIGN_OR_RETURN(auto existing, files.Read(kNodeIdFile, kMaxNodeIdBytes + 1));
    if (existing.has_value()) {
      const SecureBytes& b = existing->bytes;
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
    PEAT_ASSIGN_OR_RETURN(std::string generated, RandomUuidV4());
    const std::string content = generated + "\n";
    Status created = files.CreateExclusive(kNodeIdFile, AsBytes(content));
    if (created.ok()) return generated;
    if (created.code() != StatusCode::kAlreadyExists) return created;
    // Lost a race with another process: read what it wrote.
  }
  return UnavailableError("cannot create " + path);
}

StatusOr<Ed25519Key> LoadOrCreateKey(IdentityFiles& files) {
  const std::string path = files.PathOf(kIdentityKeyFile);
  for (int attempt = 0; attempt < 2; ++attempt) {
    PEAT_ASSIGN_OR_RETURN(auto existing, files.Read(kIdentityKeyFile, Ed25519Key::kSeedSize));
    if (existing.has_value()) {
      const SecureBytes& seed = existing->bytes;
      if (seed.size() != Ed25519Key::kSeedSize) {
        return DataLossError(path + " is corrupt: expected 32 bytes, found " +
                             (seed.size() > Ed25519Key::kSeedSize ? std::string("more")
                                                                  : std::to_string(seed.size())) +
                             "; restore it from a backup, or delete it to create a new "
                             "identity (the node's endpoint id will change)");
      }
      WarnIfLoosePermissions(path, existing->mode);
      return Ed25519Key::FromSeed(seed.span());
    }
    PEAT_ASSIGN_OR_RETURN(Ed25519Key key, Ed25519Key::Generate());
    Status created = files.CreateExclusive(kIdentityKeyFile, key.Seed().span());
    if (created.ok()) return key;
    if (created.code() != StatusCode::kAlreadyExists) return created;
    // Lost a race with another process: read what it wrote.
  }
  return UnavailableError("cannot create " + path);
}

}  // namespace

std::string NodeIdentity::EndpointId() const { return HexEncode(key.PublicKey()); }

std::string NodeIdentity::ShortId() const { return ShortEndpointId(EndpointId()); }

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

StatusOr<NodeIdentity> DeriveIdentity(std::string_view shared_key_b64, std::string_view node_id) {
  PEAT_RETURN_IF_ERROR(ValidateNodeId(node_id));
  auto ikm = DecodeBase64Key32(shared_key_b64);
  if (!ikm.ok()) return InvalidArgumentError("--shared-key: " + ikm.status().message());
  const std::string info = "iroh:" + std::string(node_id);
  PEAT_ASSIGN_OR_RETURN(SecureBytes seed,
                        HkdfSha256(ikm->span(), {}, AsBytes(info), Ed25519Key::kSeedSize));
  PEAT_ASSIGN_OR_RETURN(Ed25519Key key, Ed25519Key::FromSeed(seed.span()));
  return NodeIdentity{std::string(node_id), std::move(key)};
}

StatusOr<NodeIdentity> LoadOrCreateIdentity(IdentityFiles& files, std::string node_id,
                                            const std::string& shared_key_b64) {
  PEAT_RETURN_IF_ERROR(files.Prepare());
  if (node_id.empty()) {
    PEAT_ASSIGN_OR_RETURN(node_id, LoadOrCreateNodeId(files));
  }
  if (!shared_key_b64.empty()) return DeriveIdentity(shared_key_b64, node_id);
  PEAT_RETURN_IF_ERROR(ValidateNodeId(node_id));
  PEAT_ASSIGN_OR_RETURN(Ed25519Key key, LoadOrCreateKey(files));
  return NodeIdentity{std::move(node_id), std::move(key)};
}

StatusOr<NodeIdentity> LoadOrCreateIdentity(const std::string& data_dir, std::string node_id,
                                            const std::string& shared_key_b64) {
  if (data_dir.empty()) return InvalidArgumentError("--data-dir: must not be empty");
  auto files = PosixIdentityFiles(data_dir);
  return LoadOrCreateIdentity(*files, std::move(node_id), shared_key_b64);
}

}  // namespace peat

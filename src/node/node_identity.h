// NodeIdentity: who this node is on the mesh — its name (node id) and its Ed25519 key, whose
// public half, as 64 lowercase hex chars, is the endpoint id peers dial and pin
// (common/endpoint_id.h has the string helpers for endpoint ids).
//
// Two ways to get one (CONTRACT.md "Identity"):
//  * deterministic: with a formation shared key, seed = HKDF-SHA256(salt = none,
//    IKM = base64decode(shared_key) (32 bytes), info = "iroh:" + node_id, L = 32) and the seed is
//    the Ed25519 secret key — so every node of a formation can compute every other's endpoint id;
//  * persisted random: without a shared key, a random key kept in <data_dir>/identity.key (32 raw
//    seed bytes, mode 0600), so a restarted node keeps its endpoint id.
// A node id that was not configured is generated once (UUIDv4) and kept in <data_dir>/node-id.
// The files are read and created through IdentityFiles (node/identity_files.h), so the rules
// (first boot, restart, corrupt file, lost race) are unit-tested without a disk.
//
// The mesh never sees a NodeIdentity: the node hands it the key (TlsTransportFactory) and the ids
// as plain values, so src/mesh does not depend on src/node.
//
// NodeIdentity is a value type (copies share the immutable OpenSSL key; safe to read from many
// threads). The functions are thread-safe; LoadOrCreateIdentity is also safe against another
// process creating the same files concurrently (files are created atomically, first one wins).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "crypto/ed25519.h"
#include "node/identity_files.h"

namespace peat {

struct NodeIdentity {
  std::string node_id;
  Ed25519Key key;

  // 64 lowercase hex chars of the public key.
  std::string EndpointId() const;
  // First 10 hex chars of the endpoint id (for logs and display).
  std::string ShortId() const;
};

// A node id is 1..1024 bytes without control characters. INVALID_ARGUMENT naming --node-id.
Status ValidateNodeId(std::string_view node_id);

// Deterministic identity from the formation key. INVALID_ARGUMENT with a message naming
// --shared-key if the key is not base64 of exactly 32 bytes, or naming --node-id if it is empty.
StatusOr<NodeIdentity> DeriveIdentity(std::string_view shared_key_b64, std::string_view node_id);

// The identity the node runs with, kept in `files` (the data dir):
//  1. if `node_id` is empty: read the file node-id, or generate a UUIDv4 and persist it;
//  2. if `shared_key_b64` is non-empty: DeriveIdentity(shared_key_b64, node_id);
//     else read the file identity.key, or generate a random key and persist it.
// Prepares the directory first (files.Prepare()). A file is created with
// files.CreateExclusive, never overwriting an existing one: if another process created it
// first (ALREADY_EXISTS), its content is read and used.
// Errors: INVALID_ARGUMENT (bad key or node id), UNAVAILABLE (I/O), DATA_LOSS (a corrupt
// identity.key or node-id — never silently replaced, since that would change the node's
// endpoint id).
StatusOr<NodeIdentity> LoadOrCreateIdentity(IdentityFiles& files, std::string node_id,
                                            const std::string& shared_key_b64);

// The same over the real files in `data_dir` (PosixIdentityFiles): creates `data_dir` (and
// parents) as needed; files are written to a temporary name, fsynced, then linked into place and
// the directory is fsynced. INVALID_ARGUMENT if `data_dir` is empty.
StatusOr<NodeIdentity> LoadOrCreateIdentity(const std::string& data_dir, std::string node_id,
                                            const std::string& shared_key_b64);

}  // namespace peat

// NodeIdentity: who this node is on the mesh — its name (node id) and its Ed25519 key, whose
// public half, as 64 lowercase hex chars, is the endpoint id peers dial and pin.
//
// Two ways to get one (CONTRACT.md "Identity"):
//  * deterministic: with a formation shared key, seed = HKDF-SHA256(salt = none,
//    IKM = base64decode(shared_key) (32 bytes), info = "iroh:" + node_id, L = 32) and the seed is
//    the Ed25519 secret key — so every node of a formation can compute every other's endpoint id;
//  * persisted random: without a shared key, a random key kept in <data_dir>/identity.key (32 raw
//    seed bytes, mode 0600), so a restarted node keeps its endpoint id.
// A node id that was not configured is generated once (UUIDv4) and kept in <data_dir>/node-id.
//
// NodeIdentity is a value type (copies share the immutable OpenSSL key; safe to read from many
// threads). The functions are thread-safe; LoadOrCreateIdentity is also safe against another
// process creating the same files concurrently (files are created atomically, first one wins).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "crypto/ed25519.h"

namespace peat {

struct NodeIdentity {
  std::string node_id;
  Ed25519Key key;

  // 64 lowercase hex chars of the public key.
  std::string EndpointId() const;
  // First 10 hex chars of the endpoint id (for logs and display).
  std::string ShortId() const;
};

// True iff `id` is exactly 64 lowercase hex characters.
bool IsValidEndpointId(std::string_view id);

// The "short id" of an endpoint id (CONTRACT.md): its first 10 hex chars, for logs, metric labels
// and messages.
std::string ShortEndpointId(std::string_view endpoint_id);

// A node id is 1..1024 bytes without control characters. INVALID_ARGUMENT naming --node-id.
Status ValidateNodeId(std::string_view node_id);

// Deterministic identity from the formation key. INVALID_ARGUMENT with a message naming
// --shared-key if the key is not base64 of exactly 32 bytes, or naming --node-id if it is empty.
StatusOr<NodeIdentity> DeriveIdentity(std::string_view shared_key_b64, std::string_view node_id);

// The identity the node runs with:
//  1. if `node_id` is empty: read <data_dir>/node-id, or generate a UUIDv4 and persist it;
//  2. if `shared_key_b64` is non-empty: DeriveIdentity(shared_key_b64, node_id);
//     else read <data_dir>/identity.key, or generate a random key and persist it.
// Creates `data_dir` (and parents) as needed. Files are written to a temporary name, fsynced,
// then linked into place (never overwriting an existing file), and the directory is fsynced.
// Errors: INVALID_ARGUMENT (bad key), UNAVAILABLE (I/O), DATA_LOSS (a corrupt identity.key —
// never silently replaced, since that would change the node's endpoint id).
StatusOr<NodeIdentity> LoadOrCreateIdentity(const std::string& data_dir, std::string node_id,
                                            const std::string& shared_key_b64);

}  // namespace peat

// Endpoint ids: a node's name on the mesh, the 64 lowercase hex characters of its Ed25519 public
// key (CONTRACT.md "Identity"). These are pure string helpers, shared by the layers that handle
// endpoint ids without owning the key: app (--peer), service (ConnectPeer, DisconnectPeer), mesh
// (dialing, pinning, logs) and node (its own identity, node/node_identity.h).
//
// Threading: pure functions, safe from any thread. Errors: none (predicates and formatting only).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace peat {

// Length of an endpoint id: the hex of a 32-byte Ed25519 public key.
inline constexpr size_t kEndpointIdChars = 64;

// True iff `id` is exactly 64 lowercase hex characters.
bool IsValidEndpointId(std::string_view id);

// The "short id" of an endpoint id (CONTRACT.md): its first 10 hex chars, for logs, metric labels
// and messages.
std::string ShortEndpointId(std::string_view endpoint_id);

}  // namespace peat

// StateDigest: the 16-byte name of one encoded document state (the first 16 bytes of its
// SHA-256), as offers carry it (relay once, proto/peat/mesh/v1/mesh.proto). Two nodes holding
// the same state hold the same bytes (crdt::Document::Encode is canonical and values travel as
// the writer stored them), so equal digests mean "I already hold this state"; a different digest
// only costs one transfer. Thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace peat::mesh {

inline constexpr size_t kStateDigestBytes = 16;

// "" only if OpenSSL fails (never equal to a real digest, so the state is fetched).
std::string StateDigest(std::string_view state);

}  // namespace peat::mesh

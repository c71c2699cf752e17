// ParseManifest on arbitrary bytes (manifests come from peers). Invariants: a parse never crashes
// or allocates beyond the input; success means the manifest re-encodes to exactly the input, its
// chunk count agrees with size and chunk_bytes, every chunk length is in 1..chunk_bytes, and
// ParseManifestForRoot accepts it under its own root and refuses it (DATA_LOSS) under another;
// a failure is INVALID_ARGUMENT with a message.
#include <cstddef>
#include <cstdint>
#include <string>

#include "blob/manifest.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto m = peat::blob::ParseManifest(bytes);
  if (!m.ok()) {
    FUZZ_CHECK(m.status().code() == peat::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!m.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(m->Encode() == bytes);
  FUZZ_CHECK(m->chunk_count() == peat::blob::ChunkCountFor(m->size, m->chunk_bytes));
  if (m->chunk_count() > 0) {
    const uint32_t last = m->ChunkLength(m->chunk_count() - 1);
    FUZZ_CHECK(last >= 1 && last <= m->chunk_bytes);
    FUZZ_CHECK(m->ChunkOffset(m->chunk_count() - 1) + last == m->size);
  }
  auto root = peat::blob::RootOf(bytes);
  FUZZ_CHECK(root.ok());
  FUZZ_CHECK(peat::blob::ParseManifestForRoot(bytes, *root).ok());
  peat::blob::BlobRoot other = *root;
  other[0] ^= 1;
  auto refused = peat::blob::ParseManifestForRoot(bytes, other);
  FUZZ_CHECK(!refused.ok() && refused.status().code() == peat::StatusCode::kDataLoss);
  FUZZ_CHECK(*peat::blob::ParseBlobToken(peat::blob::BlobToken(*root)) == *root);
  return 0;
}

// Input checks the store applies before a write is queued (BEHAVIOR.md "Documents"): collection
// and doc_id are non-empty UTF-8, at most 1024 bytes, without NUL; json_data is at most
// StoreLimits::max_document_bytes (the JSON itself is checked by crdt::Document::Put).
// Violations are INVALID_ARGUMENT naming the field. Stateless, thread-safe.
#pragma once

#include <string_view>

#include "common/status.h"
#include "store/document_store.h"

namespace peat::store {

inline constexpr size_t kMaxKeyBytes = 1024;

bool IsValidUtf8(std::string_view s);
// `field` names the field in the error ("collection", "doc_id").
Status ValidateKey(std::string_view field, std::string_view value);
Status ValidateDocumentKey(std::string_view collection, std::string_view doc_id);
Status ValidateJsonSize(std::string_view json, const StoreLimits& limits);

}  // namespace peat::store

// Input checks the store applies before a write is queued (BEHAVIOR.md "Documents"): collection
// and doc_id (and peer ids and addresses) follow common/identifier.h's rule — non-empty UTF-8, at
// most kMaxIdentifierBytes, without NUL — the same check, with the same messages, the API applies
// to requests; json_data is at most StoreLimits::max_document_bytes (the JSON itself is checked by
// crdt::Document::Put). Violations are INVALID_ARGUMENT naming the field. Stateless, thread-safe.
#pragma once

#include <string_view>

#include "common/identifier.h"
#include "common/status.h"
#include "store/document_store.h"

namespace peat::store {

// `field` names the field in the error ("collection", "doc_id"): ValidateIdentifier.
inline Status ValidateKey(std::string_view field, std::string_view value) {
  return ValidateIdentifier(field, value);
}
Status ValidateDocumentKey(std::string_view collection, std::string_view doc_id);
Status ValidateJsonSize(std::string_view json, const StoreLimits& limits);

}  // namespace peat::store

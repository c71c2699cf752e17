#include "store/validation.h"

#include <string>

namespace peat::store {

Status ValidateDocumentKey(std::string_view collection, std::string_view doc_id) {
  PEAT_RETURN_IF_ERROR(ValidateKey("collection", collection));
  return ValidateKey("doc_id", doc_id);
}

Status ValidateJsonSize(std::string_view json, const StoreLimits& limits) {
  if (json.size() > limits.max_document_bytes) {
    return InvalidArgumentError(
        "json_data is " + std::to_string(json.size()) + " bytes; the limit is " +
        std::to_string(limits.max_document_bytes) + " (--max-document-bytes)");
  }
  return Status::Ok();
}

}  // namespace peat::store

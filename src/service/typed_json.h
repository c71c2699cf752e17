// The JSON shapes of the typed collections (CONTRACT.md "Typed collections"): nodes, cells,
// tracks and commands are stored as documents with snake_case keys, enums as integers and absent
// optionals as null. Reading is lenient: missing or mistyped fields take defaults, so documents
// written by other writers still come back. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "peat/sidecar/v1/sidecar.pb.h"

namespace peat::service {

std::string NodeToJson(const peat::sidecar::v1::Node& m);
std::string CellToJson(const peat::sidecar::v1::Cell& m);
std::string TrackToJson(const peat::sidecar::v1::Track& m);
std::string CommandToJson(const peat::sidecar::v1::Command& m);

// `doc_id` fills `id` when the document has none. Unparsable JSON yields a message with only the
// id set.
peat::sidecar::v1::Node NodeFromJson(std::string_view json, std::string_view doc_id);
peat::sidecar::v1::Cell CellFromJson(std::string_view json, std::string_view doc_id);
peat::sidecar::v1::Track TrackFromJson(std::string_view json, std::string_view doc_id);
peat::sidecar::v1::Command CommandFromJson(std::string_view json, std::string_view doc_id);

}  // namespace peat::service

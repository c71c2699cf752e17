// `peat-node derive-id`: prints the endpoint id a node would have with a given formation shared
// key and node id (CONTRACT.md "Identity"), so operators can configure --peer entries before the
// nodes exist.
//
// Stateless; thread-safe as long as the streams are not shared with other threads.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace peat {

// Writes "<64 hex endpoint id>\n" to `out` and returns 0; on a bad key or node id writes
// "<program>: <message naming --shared-key or --node-id>\n" to `err` and returns 2. Shared by
// `peat-node derive-id` and `peat derive-id` (library peat_derive_id).
int RunDeriveId(const std::string& shared_key_b64, const std::string& node_id, std::ostream& out,
                std::ostream& err, std::string_view program = "peat-node derive-id");

}  // namespace peat

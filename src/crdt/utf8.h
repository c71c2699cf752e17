// UTF-8 validation (simdjson's runtime-dispatched validator). Stateless; thread-safe.
#pragma once

#include <string_view>

namespace peat::crdt {

bool IsValidUtf8(std::string_view bytes);

}  // namespace peat::crdt

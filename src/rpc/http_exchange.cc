#include "rpc/http_exchange.h"

namespace peat::rpc {

std::optional<std::string_view> HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

}  // namespace peat::rpc

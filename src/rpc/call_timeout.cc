#include "rpc/call_timeout.h"

#include <cstdint>
#include <limits>

namespace peat::rpc {
namespace {
std::optional<uint64_t> ParseDigits(std::string_view v, size_t max_digits) {
  if (v.empty() || v.size() > max_digits) return std::nullopt;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}
}  // namespace

std::optional<std::chrono::nanoseconds> ParseGrpcTimeout(std::string_view v) {
  if (v.size() < 2) return std::nullopt;
  auto n = ParseDigits(v.substr(0, v.size() - 1), 8);
  if (!n) return std::nullopt;
  int64_t unit_ns;
  switch (v.back()) {
    case 'H':
      unit_ns = 3'600'000'000'000;
      break;
    case 'M':
      unit_ns = 60'000'000'000;
      break;
    case 'S':
      unit_ns = 1'000'000'000;
      break;
    case 'm':
      unit_ns = 1'000'000;
      break;
    case 'u':
      unit_ns = 1'000;
      break;
    case 'n':
      unit_ns = 1;
      break;
    default:
      return std::nullopt;
  }
  // 8 digits of hours overflow int64 nanoseconds: saturate (the caller clamps to its maximum).
  auto count = static_cast<int64_t>(*n);
  if (count > std::numeric_limits<int64_t>::max() / unit_ns) {
    return std::chrono::nanoseconds::max();
  }
  return std::chrono::nanoseconds(count * unit_ns);
}

std::optional<std::chrono::nanoseconds> ParseConnectTimeoutMs(std::string_view v) {
  auto n = ParseDigits(v, 10);
  if (!n) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(*n));
}

}  // namespace peat::rpc

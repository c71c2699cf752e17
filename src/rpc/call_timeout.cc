#include "rpc/call_timeout.h"

#include <cstdint>

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
  using namespace std::chrono;
  auto count = static_cast<int64_t>(*n);
  switch (v.back()) {
    case 'H':
      return duration_cast<nanoseconds>(hours(count));
    case 'M':
      return duration_cast<nanoseconds>(minutes(count));
    case 'S':
      return duration_cast<nanoseconds>(seconds(count));
    case 'm':
      return duration_cast<nanoseconds>(milliseconds(count));
    case 'u':
      return duration_cast<nanoseconds>(microseconds(count));
    case 'n':
      return nanoseconds(count);
    default:
      return std::nullopt;
  }
}

std::optional<std::chrono::nanoseconds> ParseConnectTimeoutMs(std::string_view v) {
  auto n = ParseDigits(v, 10);
  if (!n) return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(*n));
}

}  // namespace peat::rpc

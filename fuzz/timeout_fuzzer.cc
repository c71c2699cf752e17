// ParseGrpcTimeout / ParseConnectTimeoutMs on arbitrary strings, checked against a reference
// implementation of the documented grammar: gRPC is 1–8 ASCII digits followed by one of
// H M S m u n (value saturating at nanoseconds::max()); Connect is 1–10 ASCII digits of
// milliseconds. A parsed value is never negative. Runs under ASan+UBSan, so any overflow in the
// unit multiplication is reported too.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "rpc/call_timeout.h"

namespace {

std::optional<unsigned __int128> Digits(std::string_view v, size_t max_digits) {
  if (v.empty() || v.size() > max_digits) return std::nullopt;
  unsigned __int128 n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  return n;
}

std::optional<int64_t> SaturatedNs(unsigned __int128 ns) {
  constexpr auto kMax = static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max());
  return static_cast<int64_t>(ns > kMax ? kMax : ns);
}

std::optional<int64_t> ReferenceGrpc(std::string_view v) {
  if (v.size() < 2) return std::nullopt;
  auto n = Digits(v.substr(0, v.size() - 1), 8);
  if (!n) return std::nullopt;
  unsigned __int128 unit = 0;
  switch (v.back()) {
    case 'H':
      unit = 3'600'000'000'000ULL;
      break;
    case 'M':
      unit = 60'000'000'000ULL;
      break;
    case 'S':
      unit = 1'000'000'000ULL;
      break;
    case 'm':
      unit = 1'000'000ULL;
      break;
    case 'u':
      unit = 1'000ULL;
      break;
    case 'n':
      unit = 1ULL;
      break;
    default:
      return std::nullopt;
  }
  return SaturatedNs(*n * unit);
}

std::optional<int64_t> ReferenceConnect(std::string_view v) {
  auto n = Digits(v, 10);
  if (!n) return std::nullopt;
  return SaturatedNs(*n * 1'000'000ULL);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Copy into an exactly-sized heap buffer so ASan sees any read past the end.
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string_view v = text;

  auto grpc = peat::rpc::ParseGrpcTimeout(v);
  auto grpc_ref = ReferenceGrpc(v);
  FUZZ_CHECK(grpc.has_value() == grpc_ref.has_value());
  if (grpc) {
    FUZZ_CHECK(grpc->count() >= 0);
    FUZZ_CHECK(grpc->count() == *grpc_ref);
  }

  auto connect = peat::rpc::ParseConnectTimeoutMs(v);
  auto connect_ref = ReferenceConnect(v);
  FUZZ_CHECK(connect.has_value() == connect_ref.has_value());
  if (connect) {
    FUZZ_CHECK(connect->count() >= 0);
    FUZZ_CHECK(connect->count() == *connect_ref);
  }
  return 0;
}

// Parsing of per-call timeouts sent by clients: gRPC's `grpc-timeout` ("100m", "5S", …) and
// Connect's `connect-timeout-ms`. Pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace peat::rpc {

// nullopt when malformed (gRPC: 1–8 digits then one of H M S m u n).
std::optional<std::chrono::nanoseconds> ParseGrpcTimeout(std::string_view v);
// nullopt when malformed (1–10 digits).
std::optional<std::chrono::nanoseconds> ParseConnectTimeoutMs(std::string_view v);

}  // namespace peat::rpc

#include "common/status.h"

#include <array>

namespace peat {
namespace {
constexpr std::array<std::string_view, 17> kNames = {
    "ok",        "canceled",       "unknown",           "invalid_argument",   "deadline_exceeded",
    "not_found", "already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
    "aborted",   "out_of_range",   "unimplemented",     "internal",           "unavailable",
    "data_loss", "unauthenticated"};
}  // namespace

std::string_view StatusCodeName(StatusCode code) {
  auto i = static_cast<size_t>(code);
  return i < kNames.size() ? kNames[i] : "unknown";
}

std::optional<StatusCode> StatusCodeFromName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<StatusCode>(i);
  }
  if (name == "cancelled") return StatusCode::kCancelled;
  return std::nullopt;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string upper(StatusCodeName(code_));
  for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  if (code_ == StatusCode::kCancelled) upper = "CANCELLED";
  return upper + ": " + message_;
}

}  // namespace peat

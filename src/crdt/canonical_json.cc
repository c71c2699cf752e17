#include "crdt/canonical_json.h"

#include <charconv>
#include <cmath>
#include <system_error>

namespace peat::crdt {
namespace {

template <typename T>
void AppendIntegral(std::string* out, T v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(res.ptr - buf));
}

template <typename T>
std::optional<T> ParseCanonicalIntegral(std::string_view text) {
  T v{};
  auto res = std::from_chars(text.data(), text.data() + text.size(), v);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size()) return std::nullopt;
  // Reject what from_chars tolerates but the canonical form never contains ("007", "-0").
  std::string canonical;
  AppendIntegral(&canonical, v);
  if (canonical != text) return std::nullopt;
  return v;
}

}  // namespace

size_t FormatInt64(char* buf, int64_t v) {
  return static_cast<size_t>(std::to_chars(buf, buf + kNumberBufferSize, v).ptr - buf);
}

size_t FormatUint64(char* buf, uint64_t v) {
  return static_cast<size_t>(std::to_chars(buf, buf + kNumberBufferSize, v).ptr - buf);
}

size_t FormatDouble(char* buf, double v) {
  char* end = std::to_chars(buf, buf + kNumberBufferSize - 2, v).ptr;
  for (const char* q = buf; q != end; ++q) {
    if (*q == '.' || *q == 'e' || *q == 'E') return static_cast<size_t>(end - buf);
  }
  *end++ = '.';
  *end++ = '0';
  return static_cast<size_t>(end - buf);
}

void AppendInt64(std::string* out, int64_t v) { AppendIntegral(out, v); }
void AppendUint64(std::string* out, uint64_t v) { AppendIntegral(out, v); }

void AppendDouble(std::string* out, double v) {
  char buf[kNumberBufferSize];
  out->append(buf, FormatDouble(buf, v));
}

std::optional<int64_t> ParseCanonicalInt64(std::string_view text) {
  return ParseCanonicalIntegral<int64_t>(text);
}

std::optional<uint64_t> ParseCanonicalUint64(std::string_view text) {
  return ParseCanonicalIntegral<uint64_t>(text);
}

std::optional<double> ParseCanonicalDouble(std::string_view text) {
  double v = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), v);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  std::string canonical;
  AppendDouble(&canonical, v);
  if (canonical != text) return std::nullopt;
  return v;
}

}  // namespace peat::crdt

#include "crdt/canonical_json.h"

#include <charconv>
#include <cmath>
#include <system_error>

namespace peat::crdt {
namespace {

// Escape table: 0 = copy raw, otherwise the character after the backslash ('u' = \u00XX).
constexpr auto kEscapes = [] {
  struct Table {
    char c[256] = {};
  } t;
  for (int i = 0; i < 0x20; ++i) t.c[i] = 'u';
  t.c[static_cast<unsigned char>('"')] = '"';
  t.c[static_cast<unsigned char>('\\')] = '\\';
  t.c[static_cast<unsigned char>('\b')] = 'b';
  t.c[static_cast<unsigned char>('\f')] = 'f';
  t.c[static_cast<unsigned char>('\n')] = 'n';
  t.c[static_cast<unsigned char>('\r')] = 'r';
  t.c[static_cast<unsigned char>('\t')] = 't';
  return t;
}();

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

void AppendJsonString(std::string* out, std::string_view utf8) {
  out->push_back('"');
  const char* p = utf8.data();
  const char* end = p + utf8.size();
  const char* run = p;  // start of the pending raw run
  for (; p != end; ++p) {
    const char e = kEscapes.c[static_cast<unsigned char>(*p)];
    if (e == 0) continue;
    out->append(run, static_cast<size_t>(p - run));
    if (e == 'u') {
      static constexpr char kHex[] = "0123456789abcdef";
      const auto c = static_cast<unsigned char>(*p);
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out->append(esc, sizeof(esc));
    } else {
      const char esc[2] = {'\\', e};
      out->append(esc, sizeof(esc));
    }
    run = p + 1;
  }
  out->append(run, static_cast<size_t>(end - run));
  out->push_back('"');
}

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

#include "common/json_string.h"

#include "common/hex.h"
#include "common/utf8.h"

namespace peat {
namespace {

// What a byte needs: 0 = copy raw, 'x' = the first byte of a multi-byte sequence (decode it),
// 'u' = \u00XX, otherwise the character after the backslash.
constexpr auto kEscapes = [] {
  struct Table {
    char c[256] = {};
  } t;
  for (int i = 0; i < 0x20; ++i) t.c[i] = 'u';
  for (int i = 0x80; i < 0x100; ++i) t.c[i] = 'x';
  t.c[static_cast<unsigned char>('"')] = '"';
  t.c[static_cast<unsigned char>('\\')] = '\\';
  t.c[static_cast<unsigned char>('\b')] = 'b';
  t.c[static_cast<unsigned char>('\f')] = 'f';
  t.c[static_cast<unsigned char>('\n')] = 'n';
  t.c[static_cast<unsigned char>('\r')] = 'r';
  t.c[static_cast<unsigned char>('\t')] = 't';
  return t;
}();

}  // namespace

void AppendJsonString(std::string* out, std::string_view text) {
  out->push_back('"');
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  const char* run = begin;  // start of the pending raw run
  const char* p = begin;
  while (p != end) {
    const auto c = static_cast<unsigned char>(*p);
    const char e = kEscapes.c[c];
    if (e == 0) {
      ++p;
      continue;
    }
    if (e == 'x') {
      const size_t n = Utf8SequenceLength(text, static_cast<size_t>(p - begin));
      if (n != 0) {
        p += n;  // valid: stays in the raw run
        continue;
      }
    }
    out->append(run, static_cast<size_t>(p - run));
    if (e == 'x') {
      out->append(kUtf8Replacement);
    } else if (e == 'u') {
      const char esc[6] = {'\\', 'u', '0', '0', kLowerHexDigits[c >> 4], kLowerHexDigits[c & 0xF]};
      out->append(esc, sizeof(esc));
    } else {
      const char esc[2] = {'\\', e};
      out->append(esc, sizeof(esc));
    }
    run = ++p;
  }
  out->append(run, static_cast<size_t>(end - run));
  out->push_back('"');
}

std::string JsonQuote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  AppendJsonString(&out, text);
  return out;
}

}  // namespace peat

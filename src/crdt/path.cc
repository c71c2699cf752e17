#include "crdt/path.h"

#include "crdt/document.h"

namespace peat::crdt {

void AppendEscapedPathSegment(std::string* path, std::string_view key) {
  const char* p = key.data();
  const char* end = p + key.size();
  const char* run = p;
  for (; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c > 0x01) continue;
    path->append(run, static_cast<size_t>(p - run));
    const char esc[2] = {'\x01', static_cast<char>(c + 1)};
    path->append(esc, 2);
    run = p + 1;
  }
  path->append(run, static_cast<size_t>(end - run));
  path->push_back('\0');
}

std::string EncodePathSegment(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 1);
  AppendPathSegment(&out, key);
  return out;
}

bool IsValidEncodedPath(std::string_view encoded) {
  if (encoded.empty()) return true;
  if (encoded.back() != '\0') return false;
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '\x01') continue;
    if (i + 1 >= encoded.size()) return false;
    const char next = encoded[++i];
    if (next != '\x01' && next != '\x02') return false;
  }
  return true;
}

void AppendUnescapedSegment(std::string* out, std::string_view segment) {
  const char* p = segment.data();
  const char* end = p + segment.size();
  const char* run = p;
  for (; p != end; ++p) {
    if (*p != '\x01') continue;
    out->append(run, static_cast<size_t>(p - run));
    ++p;  // the escape's second byte (valid paths always have one)
    if (p == end) return;
    out->push_back(static_cast<char>(*p - 1));
    run = p + 1;
  }
  out->append(run, static_cast<size_t>(end - run));
}

StatusOr<std::vector<std::string>> DecodePath(std::string_view encoded) {
  if (!IsValidEncodedPath(encoded)) {
    return InvalidArgumentError("malformed encoded document path");
  }
  std::vector<std::string> keys;
  size_t start = 0;
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '\x01') {
      ++i;  // skip the escaped byte (never 0x00)
    } else if (encoded[i] == '\0') {
      keys.emplace_back();
      AppendUnescapedSegment(&keys.back(), encoded.substr(start, i - start));
      start = i + 1;
    }
  }
  return keys;
}

}  // namespace peat::crdt

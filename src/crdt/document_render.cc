// Document::Render: canonical JSON from the visible leaves (visible_leaves.h).
#include <string>
#include <string_view>

#include "crdt/canonical_json.h"
#include "crdt/document.h"
#include "crdt/path.h"
#include "crdt/visible_leaves.h"

namespace peat::crdt {
namespace {

void AppendKey(std::string* out, std::string_view segment) {
  if (segment.find('\x01') == std::string_view::npos) {
    AppendJsonString(out, segment);
    return;
  }
  std::string key;
  AppendUnescapedSegment(&key, segment);
  AppendJsonString(out, key);
}

void AppendValue(std::string* out, const Register& reg) {
  switch (reg.kind) {
    case RegisterKind::kString:
      AppendJsonString(out, reg.value);
      return;
    case RegisterKind::kInt:
    case RegisterKind::kDouble:
    case RegisterKind::kArray:
      out->append(reg.value);
      return;
    case RegisterKind::kNull:
    case RegisterKind::kTombstone:  // never visible
      out->append("null");
      return;
    case RegisterKind::kTrue:
      out->append("true");
      return;
    case RegisterKind::kFalse:
      out->append("false");
      return;
    case RegisterKind::kObject:
      out->append("{}");
      return;
  }
}

// The encoded path of the parent object of `open` (drops its last segment).
std::string_view Parent(std::string_view open) {
  const size_t prev = open.size() >= 2 ? open.rfind('\0', open.size() - 2) : std::string_view::npos;
  return prev == std::string_view::npos ? std::string_view() : open.substr(0, prev + 1);
}

}  // namespace

std::string Document::Render() const {
  if (!IsLive()) return {};
  std::string out;
  out.push_back('{');
  std::string_view open;    // encoded path of the innermost open object ("" = the root)
  bool need_comma = false;  // the innermost open object already has a member
  ForEachVisibleLeaf(registers_, [&](std::string_view path, const Register& reg) {
    while (!open.empty() && !path.starts_with(open)) {
      open = Parent(open);
      out.push_back('}');
      need_comma = true;
    }
    size_t pos = open.size();
    while (true) {
      const size_t end = path.find('\0', pos);
      if (need_comma) out.push_back(',');
      AppendKey(&out, path.substr(pos, end - pos));
      out.push_back(':');
      if (end + 1 == path.size()) break;
      out.push_back('{');
      need_comma = false;
      pos = end + 1;
      open = path.substr(0, pos);
    }
    AppendValue(&out, reg);
    need_comma = true;
    return true;
  });
  for (char c : open) {
    if (c == '\0') out.push_back('}');
  }
  out.push_back('}');
  return out;
}

}  // namespace peat::crdt

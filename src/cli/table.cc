#include "cli/table.h"

#include <algorithm>
#include <numeric>
#include <optional>

namespace peat::cli {

namespace {

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

std::string Sanitize(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

// Byte length of the first `n` code points of `s`.
size_t PrefixBytes(std::string_view s, size_t n) {
  size_t i = 0;
  while (i < s.size() && n > 0) {
    ++i;
    while (i < s.size() && IsContinuation(static_cast<unsigned char>(s[i]))) ++i;
    --n;
  }
  return i;
}

void AppendPadded(std::string& line, std::string_view cell, size_t width) {
  std::string fitted = FitToWidth(cell, width);
  line += fitted;
  line.append(width - DisplayWidth(fitted), ' ');
}

std::string TrimRight(std::string line) {
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

}  // namespace

size_t DisplayWidth(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return !IsContinuation(static_cast<unsigned char>(c)); }));
}

std::string FitToWidth(std::string_view s, size_t width) {
  std::string clean = Sanitize(s);
  if (DisplayWidth(clean) <= width) return clean;
  if (width == 0) return "";
  std::string out = clean.substr(0, PrefixBytes(clean, width - 1));
  out += kEllipsis;
  return out;
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::Render(size_t width) const {
  const size_t n = headers_.size();
  if (n == 0) return "";
  std::vector<size_t> widths(n);
  for (size_t c = 0; c < n; ++c) {
    widths[c] = DisplayWidth(Sanitize(headers_[c]));
    for (const auto& row : rows_) widths[c] = std::max(widths[c], DisplayWidth(Sanitize(row[c])));
    widths[c] = std::max<size_t>(widths[c], 1);
  }
  const size_t gaps = 2 * (n - 1);
  auto total = [&] { return std::accumulate(widths.begin(), widths.end(), gaps); };
  while (total() > width) {
    // The rightmost of the widest columns gives one column; KeepWhole columns only when no other
    // column can.
    std::optional<size_t> widest;
    for (bool whole_too : {false, true}) {
      for (size_t c = 0; c < n; ++c) {
        bool whole = std::find(keep_whole_.begin(), keep_whole_.end(), c) != keep_whole_.end();
        if (widths[c] <= 1 || (whole && !whole_too)) continue;
        if (!widest || widths[c] >= widths[*widest]) widest = c;
      }
      if (widest) break;
    }
    if (!widest) break;
    --widths[*widest];
  }
  auto render_line = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < n; ++c) {
      if (c > 0) line += "  ";
      AppendPadded(line, cells[c], widths[c]);
    }
    return TrimRight(std::move(line)) + "\n";
  };
  std::string out = render_line(headers_);
  for (const auto& row : rows_) out += render_line(row);
  return out;
}

std::string RenderKeyValues(const std::vector<std::pair<std::string, std::string>>& pairs,
                            size_t width) {
  size_t key_width = 0;
  for (const auto& [k, v] : pairs) key_width = std::max(key_width, DisplayWidth(k));
  std::string out;
  for (const auto& [k, v] : pairs) {
    std::string line;
    AppendPadded(line, k, key_width);
    line += "  ";
    size_t room = width > key_width + 2 ? width - key_width - 2 : 1;
    line += FitToWidth(v, room);
    out += TrimRight(std::move(line)) + "\n";
  }
  return out;
}

}  // namespace peat::cli

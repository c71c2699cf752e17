// Text output of `peat`: aligned tables that fit a terminal width (80 columns by default), cells
// cut with an ellipsis when they do not fit, and the same width rule for single lines.
//
// Widths are counted in Unicode code points (every code point one column: good enough for the
// ids, names and JSON an operator sees); control characters in cells are shown as spaces so a
// value cannot break the layout. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace peat::cli {

inline constexpr size_t kDefaultWidth = 80;
inline constexpr std::string_view kEllipsis = "\u2026";  // …

// Number of code points of UTF-8 `s` (continuation bytes are not counted).
size_t DisplayWidth(std::string_view s);

// `s` if it fits `width` columns, else its first width-1 code points and "…" (just "…" for width 1,
// "" for width 0). Control characters (< 0x20, 0x7f) become spaces.
std::string FitToWidth(std::string_view s, size_t width);

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

  // Column `column` gives width only after every other column is down to one (ids a user copies
  // into the next command).
  void KeepWhole(size_t column) { keep_whole_.push_back(column); }

  // A row with fewer cells than headers is padded with empty cells; extra cells are dropped.
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // The header line and one line per row, each ending in '\n', columns separated by two spaces,
  // no trailing spaces, every line at most `width` columns. When the natural widths do not fit,
  // the widest column (the rightmost of equals; KeepWhole columns last) is narrowed one column at a
  // time until the table fits or every column is one column wide; cut cells and headers end in "…".
  std::string Render(size_t width = kDefaultWidth) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<size_t> keep_whole_;
};

// Two-column "key  value" lines without a header (status, sync stats), keys aligned, values cut
// to fit `width`.
std::string RenderKeyValues(const std::vector<std::pair<std::string, std::string>>& pairs,
                            size_t width = kDefaultWidth);

}  // namespace peat::cli

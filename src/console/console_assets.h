// The web console's files (docs/CONSOLE.md), compiled into the binary at build time: CMake runs
// scripts/build-console.sh (esbuild over console/) and cmake/EmbedConsole.cmake turns its output
// into console_assets.cc in the build tree. A build with -DPEAT_CONSOLE=OFF has no files.
// Each file comes as written and gzipped (level 9), with its content type and an ETag (a
// SHA-256 prefix of the content), all fixed at build time. Immutable, so thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace peat::console {

struct ConsoleAsset {
  std::string_view name;          // file name under /console/, e.g. "console.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view etag;          // quoted, e.g. "\"3f2a…\""
  std::string_view body;
  std::string_view gzip_body;  // the same bytes, gzipped
};

// Every file of the built-in console; empty when the binary was built without it.
std::span<const ConsoleAsset> BuiltInConsoleAssets();

}  // namespace peat::console

// Runs one parsed `peat` invocation (cli_args.h) against the node and prints its result in the
// chosen output format (docs/CLI.md lists every command's output):
//   text    aligned tables / key-value lines fitting 80 columns, human lines for actions
//   json    the answer as one pretty-printed JSON document (streams: one compact object a line)
//   ndjson  one compact JSON object per line: per row for lists, per event for streams
//
// Exit codes (ExitCodeFor): 0 ok; 1 error; 2 UNAUTHENTICATED / PERMISSION_DENIED; 3 not found
// (NOT_FOUND, or a document that is absent); 4 malformed input (INVALID_ARGUMENT, bad JSON or
// arguments); 130 interrupted (SIGINT or SIGTERM during observe or attach watch). A failure writes
// one line to `err`: "peat: <RPC>: <CODE>: <message>".
// Not thread-safe; one invocation per process.
#pragma once

#include <istream>
#include <ostream>

#include "cli/cli_args.h"
#include "common/status.h"

namespace peat::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitAuth = 2;
inline constexpr int kExitNotFound = 3;
inline constexpr int kExitMalformed = 4;
inline constexpr int kExitInterrupted = 130;

int ExitCodeFor(StatusCode code);

int RunInvocation(const Invocation& inv, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace peat::cli

// `peat`: the operator CLI of peat-node (docs/CLI.md). Parses the command line (cli_args.h), runs
// the command against the node (commands.h) and exits with its code: 0 ok, 1 error, 2 auth, 3 not
// found, 4 malformed input, 130 interrupted.
#include <iostream>

#include "cli/cli_args.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto inv = peat::cli::ParseArgs(args, [](const char* name) { return std::getenv(name); });
  if (!inv.ok()) {
    std::cerr << "peat: " << inv.status().message() << "\n";
    return peat::cli::kExitMalformed;
  }
  if (inv->help) {
    std::cout << inv->text;
    return peat::cli::kExitOk;
  }
  return peat::cli::RunInvocation(*inv, std::cin, std::cout, std::cerr);
}

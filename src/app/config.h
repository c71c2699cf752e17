// Command-line + environment parsing for the peat-node binary (docs/CONFIGURATION.md is the
// user-facing reference; keep the two in sync).
//
// ParseCommandLine turns argv plus PEAT_NODE_* environment variables into one ParsedCommand.
// Every flag --some-flag has an environment variable PEAT_NODE_SOME_FLAG; an environment variable
// set to "" counts as unset; a flag on the command line beats its environment variable; list
// variables are comma-separated. The result is fully validated: a bad value is an error whose
// message starts with the flag's name ("--shared-key: must be base64 of exactly 32 bytes").
// Values are never echoed for secret flags. An unknown --flag is reported before anything else,
// without its value and with the nearest known flag ("unknown flag --shared-kye; did you mean
// --shared-key?").
//
// How main() is expected to use it:
//
//   auto cmd = peat::ParseCommandLine(argc, argv, peat::ProcessEnvironment);
//   if (!cmd.ok()) {                                    // usage or validation error
//     std::cerr << "peat-node: " << cmd.status().message() << "\n";
//     return 2;
//   }
//   switch (cmd->kind) {
//     case ParsedCommand::Kind::kHelp:    std::cout << cmd->text; return 0;
//     case ParsedCommand::Kind::kVersion: std::cout << cmd->text << "\n"; return 0;
//     case ParsedCommand::Kind::kDeriveId:
//       return peat::RunDeriveId(cmd->shared_key, cmd->node_id, std::cout, std::cerr);
//     case ParsedCommand::Kind::kHealthcheck:
//       return peat::RunHealthcheck(cmd->healthcheck, std::cerr);
//     case ParsedCommand::Kind::kRun: {
//       NodeConfig& c = cmd->config;
//       ConfigureLogging(c.log_format, c.log_level);     // already validated: cannot fail
//       if (c.print_config) spdlog::info("effective configuration: {}", RedactedConfigText(c));
//       auto id = LoadOrCreateIdentity(c.data_dir, c.node_id, c.shared_key_b64);  // exit 1 on
//       error c.node_id_generated = c.node_id.empty(); c.node_id = id->node_id;
//       ... build and run the Node ...
//     }
//   }
//
// --print-config does not stop the node: like the original it logs the effective configuration
// (secrets redacted) at startup and then runs, so it is kRun with config.print_config = true.
//
// Thread-safety: pure functions of their arguments (plus the injected getenv); safe to call from
// any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/healthcheck.h"
#include "common/status.h"
#include "node/node_config.h"

namespace peat {

// Looks up one environment variable; nullopt when it is not set.
using GetenvFn = std::function<std::optional<std::string>(const std::string&)>;

// GetenvFn over the real process environment (std::getenv).
std::optional<std::string> ProcessEnvironment(const std::string& name);

struct ParsedCommand {
  enum class Kind {
    kRun,          // run the node with `config`
    kHelp,         // print `text` (full help, ends with '\n') to stdout, exit 0
    kVersion,      // print `text` ("peat-node 0.1.0") and a newline to stdout, exit 0
    kDeriveId,     // `derive-id`: print the endpoint id for `shared_key` + `node_id` (RunDeriveId)
    kHealthcheck,  // `healthcheck`: probe a running node (RunHealthcheck with `healthcheck`)
  };
  Kind kind = Kind::kRun;
  NodeConfig config;       // kRun: validated, defaults applied, `listen` never empty
  std::string text;        // kHelp / kVersion
  std::string shared_key;  // kDeriveId (not yet validated: RunDeriveId reports a bad key)
  std::string node_id;     // kDeriveId
  // kHealthcheck: validated; the target is the first address of --listen / PEAT_NODE_LISTEN (or
  // the node's default), a wildcard host mapped to loopback (ProbeTargetFor).
  HealthcheckOptions healthcheck;
};

// argv[0] is the program name. Errors are INVALID_ARGUMENT with a one-line message that names the
// offending flag (and, when the value came from the environment, the variable).
StatusOr<ParsedCommand> ParseCommandLine(int argc, char** argv, const GetenvFn& getenv);

// Same, for tests: `args` excludes the program name.
StatusOr<ParsedCommand> ParseArguments(const std::vector<std::string>& args,
                                       const GetenvFn& getenv);

// "tcp://IP:PORT", bare "IP:PORT" / "HOST:PORT", "[v6]:PORT", ":PORT" (= 0.0.0.0), or
// "unix:///absolute/path". Errors do not name a flag (the caller prefixes it).
StatusOr<ListenAddress> ParseListenAddress(std::string_view text);

// The effective configuration as one line of JSON, keyed by flag name in flag-table (--help)
// order, for --print-config. Every flag appears except aliases (their value shows under the flag
// they alias). Secrets (--shared-key, --encryption-key) appear as "<redacted>" when set and ""
// when unset; their values never appear.
std::string RedactedConfigText(const NodeConfig& config);

// One flag of the table behind ParseCommandLine, --help and --print-config.
struct FlagInfo {
  std::string name;      // without "--"
  bool secret = false;   // redacted by --print-config
  std::string alias_of;  // non-empty for an alias: --print-config shows it under this flag
};
// Every flag, in --help order.
std::vector<FlagInfo> ListFlags();

// "peat-node <version>".
std::string VersionText();

}  // namespace peat

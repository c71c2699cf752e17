// peat-node entry point: parse configuration, then either run a subcommand (derive-id,
// healthcheck, --help, --version) or run the node until SIGTERM/SIGINT, drain, and exit 0 (exit
// codes: ExitCodeFor).
#include <signal.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "app/config.h"
#include "app/derive_id.h"
#include "app/healthcheck.h"
#include "app/systemd_notifier.h"
#include "common/logging.h"
#include "node/node.h"

namespace {

// Exit codes: 0 after a clean shutdown; 2 for usage and configuration errors, i.e. whatever the
// operator must change before a restart can work: a bad flag value, a data dir in use by another
// node or not creatable, a listen address taken by another process (Node::Start reports those as
// INVALID_ARGUMENT or FAILED_PRECONDITION); 1 for any other failure (corrupt store, I/O error).
int ExitCodeFor(const peat::Status& st) {
  return st.code() == peat::StatusCode::kInvalidArgument ||
                 st.code() == peat::StatusCode::kFailedPrecondition
             ? 2
             : 1;
}

int RunNode(peat::NodeConfig config) {
  // Block the shutdown signals in every thread (threads inherit the mask); main waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // Under systemd (Type=notify): READY=1 once serving, STOPPING=1 when the drain starts.
  peat::SystemdNotifier systemd = peat::SystemdNotifier::FromEnvironment();
  peat::Node node(std::move(config));
  if (auto st = node.Start(); !st.ok()) {
    spdlog::error("startup failed: {}", st.message());
    (void)systemd.Notify("STATUS=startup failed: " + st.message());
    return ExitCodeFor(st);
  }
  // Start returns once the phase is READY, i.e. /readyz answers 200 from here on.
  (void)systemd.Notify(peat::ReadyState(node.bound_addresses()));
  int sig = 0;
  sigwait(&signals, &sig);
  const char* sig_name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
  spdlog::info("received {}, draining", sig_name);
  (void)systemd.Notify(peat::StoppingState(sig_name));
  bool drained = node.Shutdown();
  spdlog::info("stopped{}", drained ? "" : " (grace period ended before every connection closed)");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto cmd = peat::ParseCommandLine(argc, argv, peat::ProcessEnvironment);
  if (!cmd.ok()) {
    std::cerr << "peat-node: " << cmd.status().message() << "\n";
    return 2;
  }
  switch (cmd->kind) {
    case peat::ParsedCommand::Kind::kHelp:
      std::cout << cmd->text;
      return 0;
    case peat::ParsedCommand::Kind::kVersion:
      std::cout << cmd->text << "\n";
      return 0;
    case peat::ParsedCommand::Kind::kDeriveId:
      return peat::RunDeriveId(cmd->shared_key, cmd->node_id, std::cout, std::cerr);
    case peat::ParsedCommand::Kind::kHealthcheck:
      return peat::RunHealthcheck(cmd->healthcheck, std::cerr);
    case peat::ParsedCommand::Kind::kRun:
      break;
  }
  peat::NodeConfig& config = cmd->config;
  if (auto st = peat::ConfigureLogging(config.log_format, config.log_level); !st.ok()) {
    std::cerr << "peat-node: " << st.message() << "\n";
    return 2;
  }
  if (config.print_config) {
    spdlog::info("effective configuration: {}", peat::RedactedConfigText(config));
  }
  return RunNode(std::move(config));
}

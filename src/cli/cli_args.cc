#include "cli/cli_args.h"

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <set>

namespace peat::cli {

namespace {

constexpr const char* kFooter =
    "Exit codes: 0 ok; 1 error (node unreachable, RPC failed); 2 UNAUTHENTICATED or "
    "PERMISSION_DENIED; 3 not found; 4 malformed input (arguments, JSON, INVALID_ARGUMENT); 130 "
    "interrupted. Docs: docs/CLI.md.";

// The whole tree, bound to one Invocation.
std::unique_ptr<CLI::App> BuildApp(Invocation& inv) {
  auto app = std::make_unique<CLI::App>(
      "peat: look at and act on a peat-node through its API (Connect JSON over HTTP/1.1, TCP or a "
      "unix socket).",
      "peat");
  app->footer(kFooter);
  app->require_subcommand(1);
  app->fallthrough();
  app->get_formatter()->column_width(32);
  app->add_option("--node", inv.node,
                  "the node's API: host:port, http://host:port or unix:/path (default: "
                  "unix:/run/peat-node/api.sock if it exists, else 127.0.0.1:50051)  [env: "
                  "PEAT_NODE_ADDR]")
      ->type_name("ADDR")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app->add_option("-o,--output", inv.output_name,
                  "text (aligned tables, 80 columns), json or ndjson")
      ->type_name("FORMAT")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->check(CLI::IsMember({"text", "json", "ndjson"}).description(""));
  app->add_option("--timeout", inv.timeout_secs, "seconds to wait for each answer (default: 30)")
      ->type_name("SECS")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->check(CLI::PositiveNumber.description(""));

  auto sub = [](CLI::App* parent, const std::string& name, const std::string& help) {
    CLI::App* s = parent->add_subcommand(name, help);
    s->footer(kFooter);
    return s;
  };
  auto query_flags = [&inv](CLI::App* s) {
    s->add_option("-w,--where", inv.where,
                  "FIELD=VALUE, FIELD!=VALUE, FIELD<VALUE or FIELD>VALUE; VALUE is JSON or else "
                  "a string; repeatable (ANDed)")
        ->type_name("CLAUSE");
    s->add_flag("--any", inv.any, "OR the --where clauses instead of ANDing them");
    s->add_option(
         "--query", inv.query_json,
         "the Subscribe query as JSON, e.g. {\"gt\":{\"field\":\"fuel\",\"value\":\"0.5\"}}")
        ->type_name("JSON");
  };

  sub(app.get(), "status", "node id, endpoint, phase, sync state and connected peers (GetStatus)");

  CLI::App* peers = sub(app.get(), "peers", "the node's peers");
  peers->require_subcommand(1);
  sub(peers, "list", "known peers with their connected state and addresses (ListPeers)");
  CLI::App* connect = sub(peers, "connect", "dial a peer and keep redialing it (ConnectPeer)");
  connect->add_option("endpoint-id", inv.endpoint_id, "the peer's 64-hex endpoint id")->required();
  connect->add_option("addresses", inv.addresses, "host:port addresses of the peer's mesh listener")
      ->type_name("ADDR...");
  connect->add_option("--relay-url", inv.relay_url, "relay URL (accepted, not used yet)")
      ->type_name("URL");
  CLI::App* disconnect =
      sub(peers, "disconnect", "drop a peer and stop redialing it (DisconnectPeer)");
  disconnect->add_option("endpoint-id", inv.endpoint_id, "the peer's endpoint id")->required();

  CLI::App* sync = sub(app.get(), "sync", "replication with the peers");
  sync->require_subcommand(1);
  sub(sync, "start", "start syncing (StartSync)");
  sub(sync, "stop", "stop syncing; documents stay local until start (StopSync)");
  sub(sync, "stats", "sync state, connected peers and bytes (GetSyncStats)");

  CLI::App* query =
      sub(app.get(), "query", "documents of a collection that match a query (all without one)");
  query->add_option("collection", inv.collection, "collection name")->required();
  query_flags(query);

  CLI::App* get =
      sub(app.get(), "get", "one document's canonical JSON (GetDocument); exit 3 if absent");
  get->add_option("collection", inv.collection, "collection name")->required();
  get->add_option("doc-id", inv.doc_id, "document id")->required();

  CLI::App* put = sub(app.get(), "put",
                      "write a document (PutDocument): JSON from the argument, --file, or stdin");
  put->add_option("collection", inv.collection, "collection name")->required();
  put->add_option("doc-id", inv.doc_id, "document id")->required();
  CLI::Option* json_opt =
      put->add_option("json", inv.json_text, "the document, a JSON object ('-' or absent: stdin)");
  put->add_option("-f,--file", inv.file, "read the document from FILE")
      ->type_name("FILE")
      ->excludes(json_opt);

  CLI::App* del = sub(app.get(), "delete", "delete a document (DeleteDocument)");
  del->add_option("collection", inv.collection, "collection name")->required();
  del->add_option("doc-id", inv.doc_id, "document id")->required();

  CLI::App* observe = sub(app.get(), "observe",
                          "changes as they happen (Subscribe): the current documents first, "
                          "then every change until Ctrl-C");
  observe->add_option("collections", inv.collections, "collections (default: all)")
      ->type_name("COLLECTION...");
  query_flags(observe);
  observe->add_flag(
      "--since-now", inv.since_now,
      "skip the current documents; show only changes from now on (needs collections)");

  CLI::App* attach = sub(app.get(), "attach", "file distributions (attachments)");
  attach->require_subcommand(1);
  CLI::App* send = sub(attach, "send",
                       "distribute files under one of the node's --attachment-root names "
                       "(SendAttachments); size and SHA-256 are read from --dir");
  send->add_option("--root", inv.root, "the node's attachment root name")
      ->required()
      ->type_name("NAME");
  send->add_option("--dir", inv.dir, "local directory that root NAME points at (default: .)")
      ->type_name("DIR");
  send->add_option("paths", inv.paths, "paths relative to the root")
      ->required()
      ->type_name("PATH...");
  send->add_option("--to", inv.to_nodes, "target node ids (repeatable; default: all nodes)")
      ->type_name("NODE_ID");
  send->add_option("--formation", inv.formation, "target a formation id instead")->type_name("ID");
  send->add_option("--priority", inv.priority, "bulk, low, routine, priority or critical")
      ->type_name("P")
      ->check(CLI::IsMember({"bulk", "low", "routine", "priority", "critical"}, CLI::ignore_case)
                  .description(""));
  send->add_option("--bundle-id", inv.bundle_id, "bundle id (default: the node makes one)")
      ->type_name("ID");
  CLI::App* astatus =
      sub(attach, "status",
          "a distribution's status and per-node progress (GetAttachmentDistribution)");
  astatus->add_option("distribution-id", inv.distribution_id, "distribution id")->required();
  CLI::App* watch = sub(attach, "watch",
                        "progress events of a bundle until it settles or Ctrl-C "
                        "(SubscribeAttachmentBundle)");
  watch->add_option("bundle-id", inv.bundle_id, "bundle id")->required();
  CLI::App* cancel = sub(attach, "cancel", "cancel a distribution (CancelAttachmentDistribution)");
  cancel->add_option("distribution-id", inv.distribution_id, "distribution id")->required();

  sub(app.get(), "configs", "collection lifecycle configs (ListCollectionConfigs)");

  CLI::App* console = sub(app.get(), "console",
                          "open the node's web console in a browser: forwards a loopback port to "
                          "the node's API (also a unix socket) until Ctrl-C");
  console
      ->add_option("--listen", inv.console_listen,
                   "loopback address to serve on; port 0 = any free port (default: "
                   "127.0.0.1:0)")
      ->type_name("HOST:PORT");
  console->add_flag("--open", inv.open_browser, "start the desktop's browser (xdg-open) on it");

  CLI::App* derive = sub(app.get(), "derive-id",
                         "print the endpoint id a node gets from a shared key and a node id "
                         "(offline; as peat-node derive-id)");
  derive->add_option("--shared-key", inv.shared_key, "formation secret, base64 of 32 bytes")
      ->required()
      ->type_name("BASE64");
  derive->add_option("--node-id", inv.node_id, "node name")->required()->type_name("NAME");

  CLI::App* completion = sub(app.get(), "completion", "print a shell completion script");
  completion->add_option("shell", inv.shell, "bash")->required()->check(CLI::IsMember({"bash"}));
  return app;
}

void CollectCommand(const CLI::App* app, std::vector<std::string>& path) {
  for (const CLI::App* s : app->get_subcommands()) {
    path.push_back(s->get_name());
    CollectCommand(s, path);
    return;
  }
}

std::string CleanMessage(std::string m) {
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

}  // namespace

StatusOr<Invocation> ParseArgs(const std::vector<std::string>& args, const GetenvFn& getenv) {
  Invocation inv;
  auto app = BuildApp(inv);
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses from the back
    app->parse(reversed);
  } catch (const CLI::CallForHelp&) {
    inv.help = true;
    inv.text = app->help();
    return inv;
  } catch (const CLI::ParseError& e) {
    std::vector<std::string> path;
    CollectCommand(app.get(), path);
    std::string where = "peat";
    for (const auto& p : path) where += " " + p;
    return InvalidArgumentError(CleanMessage(e.what()) + " (see " + where + " --help)");
  }
  CollectCommand(app.get(), inv.command);
  inv.output = inv.output_name == "json"     ? OutputFormat::kJson
               : inv.output_name == "ndjson" ? OutputFormat::kNdjson
                                             : OutputFormat::kText;
  if (inv.node.empty() && getenv) {
    if (const char* env = getenv("PEAT_NODE_ADDR"); env && *env) inv.node = env;
  }
  return inv;
}

namespace {

void CompletionCases(const CLI::App* app, const std::string& path, std::string& paths,
                     std::string& cases) {
  std::string words;
  for (const CLI::App* s : app->get_subcommands({})) {
    words += s->get_name() + " ";
    std::string sub_path = path + "/" + s->get_name();
    paths += (paths.empty() ? "" : "|") + std::string("\"") + sub_path + "\"";
    CompletionCases(s, sub_path, paths, cases);
  }
  for (const CLI::Option* o : app->get_options()) {
    for (const auto& l : o->get_lnames()) words += "--" + l + " ";
    for (const auto& s : o->get_snames()) words += "-" + s + " ";
  }
  if (!words.empty()) words.pop_back();
  cases += "    \"" + path + "\") words=\"" + words + "\" ;;\n";
}

}  // namespace

std::string BashCompletion() {
  Invocation inv;
  auto app = BuildApp(inv);
  std::string paths, cases;
  CompletionCases(app.get(), "", paths, cases);
  return "# bash completion for peat (generated by `peat completion bash`).\n"
         "# Install: peat completion bash > /etc/bash_completion.d/peat, or source <(peat "
         "completion bash)\n"
         "_peat() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} path=\"\" words=\"\" i\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    case \"$path/${COMP_WORDS[i]}\" in\n"
         "      " +
         paths +
         ") path=\"$path/${COMP_WORDS[i]}\" ;;\n"
         "    esac\n"
         "  done\n"
         "  case \"$path\" in\n" +
         cases +
         "  esac\n"
         "  mapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n"
         "}\n"
         "complete -F _peat peat\n";
}

}  // namespace peat::cli

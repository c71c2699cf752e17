// The command line of `peat` (docs/CLI.md): global options, the command tree and each command's
// arguments, parsed with CLI11 into one Invocation; `--help` at every level; and the bash
// completion script generated from the same tree (`peat completion bash`).
//
// Exit-code contract of parsing: help → the text to print and exit 0; any usage error →
// INVALID_ARGUMENT (the caller exits 4, "malformed input"). Environment: PEAT_NODE_ADDR stands in
// for --node (an empty value counts as unset). Pure apart from `getenv`; thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace peat::cli {

enum class OutputFormat { kText, kJson, kNdjson };

struct Invocation {
  bool help = false;                 // print `text` and exit 0
  std::string text;                  // help text
  std::vector<std::string> command;  // e.g. {"peers", "connect"}

  // Global options.
  std::string node;  // --node / PEAT_NODE_ADDR; empty: the default (node_address.h)
  OutputFormat output = OutputFormat::kText;  // from output_name
  std::string output_name = "text";           // --output as given
  double timeout_secs = 30;

  // Documents: query, get, put, delete, observe.
  std::string collection;
  std::string doc_id;
  std::string json_text;                 // put: the document argument ("-": stdin)
  std::string file;                      // put --file
  std::vector<std::string> collections;  // observe
  std::vector<std::string> where;
  bool any = false;
  std::string query_json;
  bool since_now = false;

  // peers connect / disconnect.
  std::string endpoint_id;
  std::vector<std::string> addresses;
  std::string relay_url;

  // attach.
  std::string root;
  std::string dir = ".";
  std::vector<std::string> paths;
  std::vector<std::string> to_nodes;
  std::string formation;
  std::string priority;
  std::string bundle_id;
  std::string distribution_id;

  // console.
  std::string console_listen = "127.0.0.1:0";
  bool open_browser = false;

  // derive-id.
  std::string shared_key;
  std::string node_id;

  std::string shell;  // completion
};

using GetenvFn = std::function<const char*(const char*)>;

// `args` excludes the program name.
StatusOr<Invocation> ParseArgs(const std::vector<std::string>& args, const GetenvFn& getenv);

// A bash completion script for every command, subcommand and option (`complete -F _peat peat`).
std::string BashCompletion();

}  // namespace peat::cli

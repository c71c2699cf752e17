#include "app/config.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <set>

#include "app/flag_suggestion.h"
#include "bridge/nats_config.h"
#include "common/endpoint_id.h"
#include "common/file_mode.h"
#include "common/host_port.h"
#include "common/json_string.h"
#include "common/logging.h"
#include "crypto/base64.h"
#include "node/node_identity.h"
#include "watcher/agent_endpoint.h"

#ifndef PEAT_NODE_VERSION
#define PEAT_NODE_VERSION "0.0.0"
#endif

namespace peat {
namespace {

// ---------------------------------------------------------------------------------------------
// Value parsers. They return INVALID_ARGUMENT with a message that does not name the flag; the
// caller prefixes "<flag>: ".

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

StatusOr<uint64_t> ParseUint(std::string_view s) {
  if (s.empty() || s.size() > 20) return InvalidArgumentError("expected a non-negative integer");
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return InvalidArgumentError("expected a non-negative integer");
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return InvalidArgumentError("number is too large");
    v = v * 10 + d;
  }
  return v;
}

StatusOr<bool> ParseBool(std::string_view s) {
  const std::string l = Lower(s);
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  return InvalidArgumentError("expected true/false, 1/0, yes/no or on/off");
}

StatusOr<StaticPeer> ParsePeer(std::string_view text) {
  const size_t at = text.find('@');
  if (at == std::string_view::npos) {
    return InvalidArgumentError("expected ENDPOINT_ID@HOST:PORT, got '" + std::string(text) + "'");
  }
  StaticPeer p;
  p.endpoint_id = std::string(text.substr(0, at));
  if (!IsValidEndpointId(p.endpoint_id)) {
    return InvalidArgumentError("endpoint id must be 64 lowercase hex characters, got '" +
                                p.endpoint_id + "'");
  }
  PEAT_RETURN_IF_ERROR(ParseHostPort(text.substr(at + 1)).status());
  p.address = std::string(text.substr(at + 1));
  return p;
}

Status ValidateKey32(std::string_view b64) {
  auto key = DecodeBase64Key32(b64);
  return key.ok() ? Status::Ok() : key.status();
}

// ---------------------------------------------------------------------------------------------
// The flag table.

enum class Source { kDefault = 0, kEnv = 1, kCli = 2 };

// Parser state while flags are applied.
struct State {
  NodeConfig config;
  ListenAddress mesh_listen;              // parsed --mesh-listen
  std::optional<uint16_t> iroh_udp_port;  // --iroh-udp-port alias
  std::map<std::string, Source> sources;  // flag name → where its value came from
};

enum class Kind { kScalar, kBool, kList };

// Applies the already-resolved value(s) of one flag. Scalar and bool flags get exactly one value;
// list flags get the non-empty comma-separated items. Errors do not name the flag.
using ApplyFn = std::function<Status(const std::vector<std::string>& values, State& st)>;
// The flag's effective value as JSON text, for --print-config.
using PrintFn = std::function<std::string(const NodeConfig& c)>;

// How a flag reaches NodeConfig and back: `apply` sets it, `print` shows it. A secret's value is
// never printed: it shows as "<redacted>" when set and "" when not.
struct Field {
  ApplyFn apply;
  PrintFn print;
  bool secret = false;
};

struct FlagDef {
  std::string name;  // without "--"
  Kind kind;
  std::string type_name;  // for --help
  std::string help;
  std::vector<std::string> env;  // empty → PEAT_NODE_<UPPER_SNAKE of name>
  Field field;
  std::string alias_of;  // set for an alias: printed under that flag (field.print is empty)
};

std::string EnvNameFor(const std::string& flag) {
  std::string env = "PEAT_NODE_";
  for (char c : flag) env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return env;
}

std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, items[i]);
  }
  out.push_back(']');
  return out;
}

PrintFn PrintString(std::string NodeConfig::*field) {
  return [=](const NodeConfig& c) { return JsonQuote(c.*field); };
}

// A list flag printed as a JSON array of strings, one per element of `field`.
template <typename Container, typename ToText>
PrintFn PrintList(Container NodeConfig::*field, ToText to_text) {
  return [=](const NodeConfig& c) {
    std::vector<std::string> items;
    for (const auto& item : c.*field) items.push_back(to_text(item));
    return JsonArray(items);
  };
}

Field UintField(uint64_t NodeConfig::*field, uint64_t min, uint64_t max = UINT64_MAX) {
  ApplyFn apply = [=](const std::vector<std::string>& v, State& st) -> Status {
    auto n = ParseUint(v.front());
    if (!n.ok()) return InvalidArgumentError(n.status().message() + ", got '" + v.front() + "'");
    if (*n < min || *n > max) {
      std::string range = max == UINT64_MAX
                              ? "at least " + std::to_string(min)
                              : "in " + std::to_string(min) + ".." + std::to_string(max);
      return InvalidArgumentError("must be " + range + ", got " + v.front());
    }
    st.config.*field = *n;
    return Status::Ok();
  };
  return {apply, [=](const NodeConfig& c) { return std::to_string(c.*field); }};
}

Field BoolField(bool NodeConfig::*field) {
  ApplyFn apply = [=](const std::vector<std::string>& v, State& st) -> Status {
    PEAT_ASSIGN_OR_RETURN(st.config.*field, ParseBool(v.front()));
    return Status::Ok();
  };
  return {apply, [=](const NodeConfig& c) { return std::string(c.*field ? "true" : "false"); }};
}

Field StringField(std::string NodeConfig::*field) {
  ApplyFn apply = [=](const std::vector<std::string>& v, State& st) -> Status {
    st.config.*field = v.front();
    return Status::Ok();
  };
  return {apply, PrintString(field)};
}

// A base64 32-byte key: a secret.
Field KeyField(std::string NodeConfig::*field) {
  ApplyFn apply = [=](const std::vector<std::string>& v, State& st) -> Status {
    PEAT_RETURN_IF_ERROR(ValidateKey32(v.front()));
    st.config.*field = v.front();
    return Status::Ok();
  };
  return {apply, PrintString(field), /*secret=*/true};
}

std::string Def(uint64_t v) { return std::to_string(v); }
std::string Def(bool v) { return v ? "true" : "false"; }

std::vector<FlagDef> MakeFlagTable() {
  const NodeConfig d;  // defaults shown in --help come from NodeConfig itself
  std::vector<FlagDef> t;
  auto add = [&t](std::string name, Kind kind, std::string type, std::string help, Field field,
                  std::vector<std::string> env = {}) {
    t.push_back({std::move(name), kind, std::move(type), std::move(help), std::move(env),
                 std::move(field), ""});
  };
  const auto dflt = [&](uint64_t v) { return " (default: " + Def(v) + ")"; };

  // --- API
  add("listen", Kind::kList, "ADDR",
      "API socket: tcp://IP:PORT, IP:PORT, [IPv6]:PORT or unix:///abs/path; repeatable "
      "(default: tcp://127.0.0.1:50051, loopback only)",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         std::set<std::string> seen;
         st.config.listen.clear();
         for (const auto& item : v) {
           PEAT_ASSIGN_OR_RETURN(ListenAddress a, ParseListenAddress(item));
           if (!seen.insert(a.ToString()).second) {
             return InvalidArgumentError("duplicate address " + a.ToString());
           }
           st.config.listen.push_back(std::move(a));
         }
         return Status::Ok();
       },
       PrintList(&NodeConfig::listen, [](const ListenAddress& l) { return l.ToString(); })});
  add("data-dir", Kind::kScalar, "PATH",
      "persistent state directory, created 0700; one node per directory (default: " + d.data_dir +
          ")",
      StringField(&NodeConfig::data_dir));
  add("unix-socket-mode", Kind::kScalar, "MODE",
      "permissions of unix:// API sockets, octal; 0660 lets the node's group connect (default: " +
          FormatFileMode(d.unix_socket_mode) + ")",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         PEAT_ASSIGN_OR_RETURN(st.config.unix_socket_mode, ParseFileMode(v.front()));
         return Status::Ok();
       },
       [](const NodeConfig& c) { return JsonQuote(FormatFileMode(c.unix_socket_mode)); }});
  add("node-id", Kind::kScalar, "NAME",
      "node name; seeds the identity with --shared-key (default: random UUIDv4, kept in "
      "<data-dir>/node-id)",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         Status s = ValidateNodeId(v.front());
         if (!s.ok()) {
           // ValidateNodeId names the flag itself; strip it, the caller adds the label.
           std::string m = s.message();
           if (m.rfind("--node-id: ", 0) == 0) m = m.substr(11);
           return InvalidArgumentError(m);
         }
         st.config.node_id = v.front();
         return Status::Ok();
       },
       PrintString(&NodeConfig::node_id)});
  add("app-id", Kind::kScalar, "ID",
      "formation id; nodes of different formations never sync (default: " + d.app_id + ")",
      StringField(&NodeConfig::app_id));
  add("shared-key", Kind::kScalar, "BASE64",
      "formation secret: base64 of 32 bytes; makes the identity deterministic (default: none)",
      KeyField(&NodeConfig::shared_key_b64));
  add("encryption-key", Kind::kScalar, "BASE64",
      "document payload encryption key (AES-256-GCM): base64 of 32 bytes (default: none)",
      KeyField(&NodeConfig::encryption_key_b64));
  add("peer", Kind::kList, "ID@HOST:PORT",
      "static peer, endpoint id (64 lowercase hex) @ host:port; repeatable",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         st.config.peers.clear();
         for (const auto& item : v) {
           PEAT_ASSIGN_OR_RETURN(StaticPeer p, ParsePeer(item));
           st.config.peers.push_back(std::move(p));
         }
         return Status::Ok();
       },
       PrintList(&NodeConfig::peers,
                 [](const StaticPeer& p) { return p.endpoint_id + "@" + p.address; })},
      {"PEAT_NODE_PEERS", "PEAT_NODE_PEER"});
  add("collection-priority", Kind::kList, "COLLECTION=CLASS",
      "replication priority class of a collection: critical, priority, routine, low or bulk; "
      "higher classes replicate first (default: routine); repeatable",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         st.config.collection_priorities.clear();
         for (const auto& item : v) {
           const size_t eq = item.rfind('=');
           if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
             return InvalidArgumentError("expected COLLECTION=CLASS, got '" + item + "'");
           }
           const std::string name = item.substr(0, eq);
           const std::string cls = item.substr(eq + 1);
           static const std::map<std::string, int> kClasses = {
               {"bulk", 1}, {"low", 2}, {"routine", 3}, {"priority", 4}, {"critical", 5}};
           auto it = kClasses.find(cls);
           if (it == kClasses.end()) {
             return InvalidArgumentError("unknown class '" + cls + "' for collection '" + name +
                                         "' (want critical, priority, routine, low or bulk)");
           }
           if (!st.config.collection_priorities.emplace(name, it->second).second) {
             return InvalidArgumentError("collection '" + name + "' given twice");
           }
         }
         return Status::Ok();
       },
       PrintList(&NodeConfig::collection_priorities,
                 [](const auto& entry) {
                   static const char* kClassNames[] = {"",        "bulk",     "low",
                                                       "routine", "priority", "critical"};
                   return entry.first + "=" + kClassNames[std::clamp(entry.second, 0, 5)];
                 })},
      {"PEAT_NODE_COLLECTION_PRIORITIES", "PEAT_NODE_COLLECTION_PRIORITY"});
  add("auto-sync", Kind::kBool, "BOOL", "start sync at boot (default: " + Def(d.auto_sync) + ")",
      BoolField(&NodeConfig::auto_sync));
  add("console", Kind::kBool, "BOOL",
      "serve the web console at /console/ on the API listeners (default: true)",
      BoolField(&NodeConfig::console));
  add("print-config", Kind::kBool, "BOOL",
      "log the effective configuration at startup, secrets redacted (default: false)",
      BoolField(&NodeConfig::print_config));

  // --- Store / lifecycle
  add("tombstone-ttl-hours", Kind::kScalar, "HOURS",
      "tombstone retention upper bound" + dflt(d.tombstone_ttl_hours),
      UintField(&NodeConfig::tombstone_ttl_hours, 1));
  add("gc-interval-secs", Kind::kScalar, "SECS", "tombstone GC cadence" + dflt(d.gc_interval_secs),
      UintField(&NodeConfig::gc_interval_secs, 1));
  add("gc-batch-size", Kind::kScalar, "N", "tombstones purged per GC batch" + dflt(d.gc_batch_size),
      UintField(&NodeConfig::gc_batch_size, 1));
  add("max-document-bytes", Kind::kScalar, "BYTES",
      "largest accepted document JSON" + dflt(d.max_document_bytes),
      UintField(&NodeConfig::max_document_bytes, 1));

  // --- Attachments
  add("attachment-root", Kind::kList, "NAME=PATH",
      "attachment root; repeatable; enables the attachment RPCs (default: none)",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         st.config.attachment_roots.clear();
         for (const auto& item : v) {
           const size_t eq = item.find('=');
           if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
             return InvalidArgumentError("expected NAME=PATH, got '" + item + "'");
           }
           const std::string name = item.substr(0, eq);
           for (char c : name) {
             // The original's charset (ATTACHMENTS.md decision 3): a values file that works
             // there works here, and nothing looser.
             const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '-' || c == '_';
             if (!ok) {
               return InvalidArgumentError("root name '" + name +
                                           "' may contain only letters, digits, '-' and '_'");
             }
           }
           if (!st.config.attachment_roots.emplace(name, item.substr(eq + 1)).second) {
             return InvalidArgumentError("duplicate root name '" + name + "'");
           }
         }
         return Status::Ok();
       },
       PrintList(&NodeConfig::attachment_roots,
                 [](const auto& root) { return root.first + "=" + root.second; })},
      {"PEAT_NODE_ATTACHMENT_ROOTS", "PEAT_NODE_ATTACHMENT_ROOT"});
  add("attachment-max-file-bytes", Kind::kScalar, "BYTES",
      "largest attachment file" + dflt(d.attachment_max_file_bytes),
      UintField(&NodeConfig::attachment_max_file_bytes, 1));
  add("attachment-max-bundle-bytes", Kind::kScalar, "BYTES",
      "largest attachment bundle" + dflt(d.attachment_max_bundle_bytes),
      UintField(&NodeConfig::attachment_max_bundle_bytes, 1));
  add("attachment-max-files-per-bundle", Kind::kScalar, "N",
      "files per bundle" + dflt(d.attachment_max_files_per_bundle),
      UintField(&NodeConfig::attachment_max_files_per_bundle, 1));
  add("attachment-max-node-list-len", Kind::kScalar, "N",
      "node ids in a node-list scope" + dflt(d.attachment_max_node_list_len),
      UintField(&NodeConfig::attachment_max_node_list_len, 1));
  add("attachment-max-concurrent-distributions", Kind::kScalar, "N",
      "distributions in flight" + dflt(d.attachment_max_concurrent_distributions),
      UintField(&NodeConfig::attachment_max_concurrent_distributions, 1));
  add("attachment-default-priority", Kind::kScalar, "PRIORITY",
      "bulk, low, routine, priority or critical (default: " + d.attachment_default_priority + ")",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         const std::string p = Lower(v.front());
         if (p != "bulk" && p != "low" && p != "routine" && p != "priority" && p != "critical") {
           return InvalidArgumentError("must be one of bulk, low, routine, priority, critical");
         }
         st.config.attachment_default_priority = p;
         return Status::Ok();
       },
       PrintString(&NodeConfig::attachment_default_priority)});
  add("attachment-discovery-grace-secs", Kind::kScalar, "SECS",
      "wait for scope members to appear" + dflt(d.attachment_discovery_grace_secs),
      UintField(&NodeConfig::attachment_discovery_grace_secs, 0));
  add("attachment-queue-when-full", Kind::kBool, "BOOL",
      "queue bundles beyond the concurrency cap instead of refusing them (default: " +
          Def(d.attachment_queue_when_full) + ")",
      BoolField(&NodeConfig::attachment_queue_when_full));
  add("attachment-handle-retention-secs", Kind::kScalar, "SECS",
      "keep finished distribution handles; 0 = forever" + dflt(d.attachment_handle_retention_secs),
      UintField(&NodeConfig::attachment_handle_retention_secs, 0));
  add("attachment-max-known-bundles", Kind::kScalar, "N",
      "bundles remembered before the least recently used is dropped" +
          dflt(d.attachment_max_known_bundles),
      UintField(&NodeConfig::attachment_max_known_bundles, 1));
  add("attachment-delivery-timeout-secs", Kind::kScalar, "SECS",
      "a target not done after this fails; 0 = no deadline" +
          dflt(d.attachment_delivery_timeout_secs),
      UintField(&NodeConfig::attachment_delivery_timeout_secs, 0));
  add("attachment-blob-retention-secs", Kind::kScalar, "SECS",
      "keep received blobs after their last use" + dflt(d.attachment_blob_retention_secs),
      UintField(&NodeConfig::attachment_blob_retention_secs, 0));
  add("attachment-max-active-fetches", Kind::kScalar, "N",
      "blobs fetched at once" + dflt(d.attachment_max_active_fetches),
      UintField(&NodeConfig::attachment_max_active_fetches, 1));
  add("attachment-max-sources", Kind::kScalar, "N",
      "peers one blob is fetched from at once" + dflt(d.attachment_max_sources),
      UintField(&NodeConfig::attachment_max_sources, 1));
  add("attachment-relay-cache-bytes", Kind::kScalar, "BYTES",
      "space for blobs relayed to other nodes" + dflt(d.attachment_relay_cache_bytes),
      UintField(&NodeConfig::attachment_relay_cache_bytes, 0));
  add("attachment-inbox", Kind::kScalar, "PATH", "receiver inbox directory (default: unset)",
      StringField(&NodeConfig::attachment_inbox));
  add("attachment-inbox-poll-secs", Kind::kScalar, "SECS",
      "inbox retry and rescan interval; 0 means 1" + dflt(d.attachment_inbox_poll_secs),
      UintField(&NodeConfig::attachment_inbox_poll_secs, 0));
  add("attachment-outbox-watch", Kind::kBool, "BOOL",
      "send files dropped into the outbox (default: " + Def(d.attachment_outbox_watch) + ")",
      BoolField(&NodeConfig::attachment_outbox_watch));
  add("attachment-outbox-poll-secs", Kind::kScalar, "SECS",
      "outbox poll interval; 0 means 1" + dflt(d.attachment_outbox_poll_secs),
      UintField(&NodeConfig::attachment_outbox_poll_secs, 0));

  // --- Agent watcher
  add("agent-addr", Kind::kScalar, "URL", "agent to watch (default: unset = no watcher)",
      StringField(&NodeConfig::agent_addr));
  add("agent-poll-interval", Kind::kScalar, "SECS",
      "agent poll interval" + dflt(d.agent_poll_interval),
      UintField(&NodeConfig::agent_poll_interval, 1));
  add("agent-refresh-secs", Kind::kScalar, "SECS",
      "rewrite unchanged deployments/packages documents after this long" +
          dflt(d.agent_refresh_secs),
      UintField(&NodeConfig::agent_refresh_secs, 1));
  add("agent-tls-cert", Kind::kScalar, "PATH", "client certificate for agent mTLS",
      StringField(&NodeConfig::agent_tls_cert));
  add("agent-tls-key", Kind::kScalar, "PATH", "client private key for agent mTLS",
      StringField(&NodeConfig::agent_tls_key));
  add("agent-tls-ca", Kind::kScalar, "PATH", "CA bundle that signs the agent's certificate",
      StringField(&NodeConfig::agent_tls_ca));

  // --- NATS bridge (docs/NATS.md)
  add("nats-url", Kind::kScalar, "URL",
      "NATS server of the bridge: nats://[USER:PASS@]HOST[:PORT] or tls://..., port 4222 by "
      "default; credentials are never logged (default: unset)",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         PEAT_RETURN_IF_ERROR(bridge::ParseNatsUrl(v.front()).status());
         st.config.nats_url = v.front();
         return Status::Ok();
       },
       [](const NodeConfig& c) {
         return JsonQuote(c.nats_url.empty() ? "" : bridge::RedactNatsUrl(c.nats_url));
       }});
  add("nats-mapping", Kind::kList, "SUBJECT=COLLECTION",
      "a literal NATS subject bridged through a collection; repeatable (the env var: "
      "comma-separated); the bridge runs only with at least one",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         PEAT_RETURN_IF_ERROR(bridge::ParseNatsMappings(v).status());
         st.config.nats_mappings = v;
         return Status::Ok();
       },
       PrintList(&NodeConfig::nats_mappings, [](const std::string& m) { return m; })});
  add("nats-shutdown-timeout-secs", Kind::kScalar, "SECS",
      "how long the bridge may store queued messages and flush at shutdown, within "
      "--shutdown-grace-secs" +
          dflt(d.nats_shutdown_timeout_secs),
      UintField(&NodeConfig::nats_shutdown_timeout_secs, 1, 300));

  // --- Discovery
  add("disable-mdns", Kind::kBool, "BOOL",
      "disable mDNS discovery (default: " + Def(d.disable_mdns) + ")",
      BoolField(&NodeConfig::disable_mdns));
  add("enable-kubernetes-discovery", Kind::kBool, "BOOL",
      "discover peers through the Kubernetes API (default: false)",
      BoolField(&NodeConfig::enable_kubernetes_discovery));
  add("discovery-namespace", Kind::kScalar, "NS",
      "Kubernetes namespace to search (default: own namespace)",
      StringField(&NodeConfig::discovery_namespace));
  add("discovery-label-selector", Kind::kScalar, "SELECTOR",
      "pod label selector (default: " + d.discovery_label_selector + ")",
      StringField(&NodeConfig::discovery_label_selector));
  add("discovery-annotation-prefix", Kind::kScalar, "PREFIX",
      "EndpointSlice annotation prefix (<P>mesh-port; default: " + d.discovery_annotation_prefix +
          ")",
      StringField(&NodeConfig::discovery_annotation_prefix));
  add("discovery-interval-secs", Kind::kScalar, "SECS",
      "Kubernetes discovery interval" + dflt(d.discovery_interval_secs),
      UintField(&NodeConfig::discovery_interval_secs, 1));

  // --- RPC server
  add("rpc-default-timeout-secs", Kind::kScalar, "SECS",
      "deadline of calls that set none" + dflt(d.rpc_default_timeout_secs),
      UintField(&NodeConfig::rpc_default_timeout_secs, 1));
  add("rpc-max-timeout-secs", Kind::kScalar, "SECS",
      "cap on client-requested deadlines" + dflt(d.rpc_max_timeout_secs),
      UintField(&NodeConfig::rpc_max_timeout_secs, 1));
  add("http-header-read-timeout-secs", Kind::kScalar, "SECS",
      "close connections that do not finish their headers" + dflt(d.http_header_read_timeout_secs),
      UintField(&NodeConfig::http_header_read_timeout_secs, 1));
  add("http-max-connection-idle-secs", Kind::kScalar, "SECS",
      "close idle connections" + dflt(d.http_max_connection_idle_secs),
      UintField(&NodeConfig::http_max_connection_idle_secs, 1));
  add("http2-keepalive-interval-secs", Kind::kScalar, "SECS",
      "HTTP/2 PING interval" + dflt(d.http2_keepalive_interval_secs),
      UintField(&NodeConfig::http2_keepalive_interval_secs, 1));
  add("http2-keepalive-timeout-secs", Kind::kScalar, "SECS",
      "close if a PING is not answered" + dflt(d.http2_keepalive_timeout_secs),
      UintField(&NodeConfig::http2_keepalive_timeout_secs, 1));
  add("http2-max-concurrent-streams", Kind::kScalar, "N",
      "HTTP/2 streams per connection" + dflt(d.http2_max_concurrent_streams),
      UintField(&NodeConfig::http2_max_concurrent_streams, 1, 2147483647));
  add("max-message-bytes", Kind::kScalar, "BYTES",
      "largest request message" + dflt(d.max_message_bytes),
      UintField(&NodeConfig::max_message_bytes, 1, 4294967295));
  add("max-connections", Kind::kScalar, "N", "concurrent API connections" + dflt(d.max_connections),
      UintField(&NodeConfig::max_connections, 1));
  add("io-threads", Kind::kScalar, "N",
      "event-loop threads, 0 = half the cores (at least 1)" + dflt(d.io_threads),
      UintField(&NodeConfig::io_threads, 0, 1024));
  add("shutdown-grace-secs", Kind::kScalar, "SECS",
      "drain time on SIGTERM/SIGINT" + dflt(d.shutdown_grace_secs),
      UintField(&NodeConfig::shutdown_grace_secs, 0));

  // --- Mesh
  add("mesh-listen", Kind::kScalar, "ADDR",
      "mesh (node-to-node) listener, tcp://IP:PORT; port 0 = any (default: " + d.mesh_listen + ")",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         PEAT_ASSIGN_OR_RETURN(ListenAddress a, ParseListenAddress(v.front()));
         if (a.kind != ListenAddress::Kind::kTcp) {
           return InvalidArgumentError("the mesh listener must be a TCP address");
         }
         st.mesh_listen = std::move(a);
         return Status::Ok();
       },
       PrintString(&NodeConfig::mesh_listen)});
  add("allow-keyless-mesh", Kind::kBool, "BOOL",
      "let a node without --shared-key listen for the mesh on a non-loopback address; any key-less "
      "node that reaches it can sync every document (default: false)",
      BoolField(&NodeConfig::allow_keyless_mesh));
  add("mesh-dead-after-ms", Kind::kScalar, "MS",
      "a peer silent this long is declared dead and redialed: the floor, raised on slow or lossy "
      "links to 16 RTOs of the measured RTT" +
          dflt(d.mesh_dead_after_ms),
      UintField(&NodeConfig::mesh_dead_after_ms, 200, 3'600'000));
  add("mesh-dead-after-max-ms", Kind::kScalar, "MS",
      "ceiling of that adaptive bound" + dflt(d.mesh_dead_after_max_ms),
      UintField(&NodeConfig::mesh_dead_after_max_ms, 200, 3'600'000));
  add("mesh-congestion-control", Kind::kScalar, "NAME",
      "TCP congestion control of mesh sockets (bbr, reno, cubic, ...; silently the kernel's "
      "default where refused; system = leave the default) (default: " +
          d.mesh_congestion_control + ")",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         const std::string& name = v.front();
         const bool ok =
             !name.empty() && name.size() < 16 && std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
             });
         if (!ok) return InvalidArgumentError("not a congestion control name: '" + name + "'");
         st.config.mesh_congestion_control = name;
         return Status::Ok();
       },
       PrintString(&NodeConfig::mesh_congestion_control)});
  add("mesh-relay", Kind::kScalar, "MODE",
      "how a node passes on changes it merged from a peer: offer (a digest; only peers that lack "
      "the state fetch it, so each change reaches each node about once) or push (the whole "
      "state to every other peer, as before protocol 3) (default: " +
          d.mesh_relay + ")",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         const std::string m = Lower(v.front());
         if (m != "offer" && m != "push") return InvalidArgumentError("must be offer or push");
         st.config.mesh_relay = m;
         return Status::Ok();
       },
       PrintString(&NodeConfig::mesh_relay)});
  add("iroh-udp-port", Kind::kScalar, "PORT",
      "alias kept for old deployments: sets the port of --mesh-listen",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         PEAT_ASSIGN_OR_RETURN(st.iroh_udp_port, ParsePort(v.front(), /*allow_zero=*/true));
         return Status::Ok();
       },
       nullptr});
  t.back().alias_of = "mesh-listen";

  // --- Logging
  add("log-format", Kind::kScalar, "FORMAT", "text or json (default: " + d.log_format + ")",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         const std::string f = Lower(v.front());
         if (f != "text" && f != "json") return InvalidArgumentError("must be text or json");
         st.config.log_format = f;
         return Status::Ok();
       },
       PrintString(&NodeConfig::log_format)});
  add("log-level", Kind::kScalar, "LEVEL",
      "trace, debug, info, warn, error, critical or off (default: " + d.log_level + ")",
      {[](const std::vector<std::string>& v, State& st) -> Status {
         if (!ParseLogLevel(v.front()).ok()) {
           return InvalidArgumentError(
               "must be one of trace, debug, info, warn, error, critical, off");
         }
         st.config.log_level = Lower(v.front());
         if (st.config.log_level == "warning") st.config.log_level = "warn";
         return Status::Ok();
       },
       PrintString(&NodeConfig::log_level)});

  for (auto& f : t) {
    if (f.env.empty()) f.env.push_back(EnvNameFor(f.name));
  }
  return t;
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    const std::string_view item = Trim(s.substr(start, comma - start));
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

std::string Label(const std::string& flag, const std::string& env) {
  return env.empty() ? "--" + flag : "--" + flag + " (from " + env + ")";
}

Status Prefixed(const std::string& label, const Status& s) {
  return InvalidArgumentError(label + ": " + s.message());
}

// Resolves the value of one flag (CLI beats env; empty = unset) and applies it.
Status ResolveFlag(const FlagDef& f, const CLI::Option* opt, const GetenvFn& getenv, State& st) {
  std::vector<std::string> values;
  std::string env_used;
  Source source = Source::kDefault;

  // Command line.
  if (opt != nullptr && opt->count() > 0) {
    const auto& results = opt->results();
    if (f.kind == Kind::kList) {
      for (const auto& r : results) {
        for (auto& item : SplitList(r)) values.push_back(std::move(item));
      }
    } else if (f.kind == Kind::kBool) {
      // A bare flag ("--disable-mdns") means true; the last occurrence wins.
      values.push_back(results.empty() || results.back().empty() ? "true" : results.back());
    } else if (!results.empty() && !results.back().empty()) {
      values.push_back(results.back());  // the last occurrence wins
    }
    if (!values.empty()) source = Source::kCli;
  }

  // Environment.
  if (source == Source::kDefault) {
    std::string found_env;
    std::string found_value;
    for (const auto& name : f.env) {
      std::optional<std::string> v = getenv(name);
      if (!v.has_value() || v->empty()) continue;
      if (!found_env.empty()) {
        return InvalidArgumentError("--" + f.name + ": both " + found_env + " and " + name +
                                    " are set; set only one");
      }
      found_env = name;
      found_value = *v;
    }
    if (!found_env.empty()) {
      if (f.kind == Kind::kList) {
        values = SplitList(found_value);
      } else {
        values.push_back(found_value);
      }
      if (!values.empty()) {
        source = Source::kEnv;
        env_used = found_env;
      }
    }
  }

  st.sources[f.name] = source;
  if (source == Source::kDefault) return Status::Ok();
  Status s = f.field.apply(values, st);
  if (!s.ok()) return Prefixed(Label(f.name, env_used), s);
  return Status::Ok();
}

// Checks that involve more than one flag.
// Without a formation key the mesh admits any key-less node that can connect, so it listens on
// loopback unless the operator explicitly accepts the exposure (LESSONS.md 19: partial security
// must not silently fall back to open).
Status KeylessMeshStaysLocal(State& st) {
  if (!st.config.shared_key_b64.empty()) return Status::Ok();
  if (st.sources["mesh-listen"] == Source::kDefault) {
    st.mesh_listen.host = "127.0.0.1";
    return Status::Ok();
  }
  if (IsLoopbackIp(st.mesh_listen.host) || st.config.allow_keyless_mesh) return Status::Ok();
  return InvalidArgumentError(
      "--shared-key: not set, so --mesh-listen " + st.mesh_listen.ToString() +
      " would let any key-less node that reaches it read and write every document; set "
      "--shared-key (make one with: head -c 32 /dev/urandom | base64), listen on 127.0.0.1, "
      "or accept the exposure with --allow-keyless-mesh");
}

Status CrossValidate(State& st) {
  NodeConfig& c = st.config;
  if (c.listen.empty()) {
    ListenAddress def;
    def.kind = ListenAddress::Kind::kTcp;
    def.host = "127.0.0.1";  // loopback: the API has no authentication (CONFIGURATION.md)
    def.port = 50051;
    c.listen.push_back(def);
  }

  // --iroh-udp-port is an alias for the port of --mesh-listen; the higher source wins, and on
  // the same level a disagreement is an error.
  if (st.iroh_udp_port.has_value()) {
    const Source port_src = st.sources["iroh-udp-port"];
    const Source listen_src = st.sources["mesh-listen"];
    if (port_src > listen_src) {
      st.mesh_listen.port = *st.iroh_udp_port;
    } else if (port_src == listen_src) {
      if (st.mesh_listen.port != 0 && st.mesh_listen.port != *st.iroh_udp_port) {
        return InvalidArgumentError("--iroh-udp-port: conflicts with the port of --mesh-listen (" +
                                    std::to_string(*st.iroh_udp_port) + " vs " +
                                    std::to_string(st.mesh_listen.port) + "); set only one");
      }
      st.mesh_listen.port = *st.iroh_udp_port;
    }
  }
  PEAT_RETURN_IF_ERROR(KeylessMeshStaysLocal(st));
  c.mesh_listen = st.mesh_listen.ToString();
  c.mesh_listen_address = st.mesh_listen;

  if (c.rpc_default_timeout_secs > c.rpc_max_timeout_secs) {
    return InvalidArgumentError(
        "--rpc-default-timeout-secs: must not exceed --rpc-max-timeout-secs (" +
        std::to_string(c.rpc_default_timeout_secs) + " > " +
        std::to_string(c.rpc_max_timeout_secs) + ")");
  }

  // Agent mTLS: all or nothing, and only with an agent to talk to (a half-configured TLS setup
  // must never fall back to plaintext silently).
  const bool cert = !c.agent_tls_cert.empty();
  const bool key = !c.agent_tls_key.empty();
  const bool ca = !c.agent_tls_ca.empty();
  if (cert && !key) {
    return InvalidArgumentError(
        "--agent-tls-cert: set without --agent-tls-key; set both or neither");
  }
  if (key && !cert) {
    return InvalidArgumentError(
        "--agent-tls-key: set without --agent-tls-cert; set both or neither");
  }
  if (ca && !cert) {
    return InvalidArgumentError(
        "--agent-tls-ca: set without --agent-tls-cert and --agent-tls-key (mTLS needs all of "
        "them)");
  }
  if ((cert || key || ca) && c.agent_addr.empty()) {
    return InvalidArgumentError(
        "--agent-tls-cert: agent TLS is configured but --agent-addr is not set");
  }
  if (!c.agent_addr.empty()) {
    auto endpoint = watcher::ParseAgentAddr(c.agent_addr);
    if (!endpoint.ok()) {
      const bool from_env = st.sources["agent-addr"] == Source::kEnv;
      return Prefixed(Label("agent-addr", from_env ? EnvNameFor("agent-addr") : ""),
                      endpoint.status());
    }
    if (!endpoint->tls && cert) {
      return InvalidArgumentError(
          "--agent-tls-cert: TLS flags need an https:// --agent-addr (got " + endpoint->addr + ")");
    }
    c.agent_addr = endpoint->addr;
    // The files are read and checked now, so a bad certificate stops the node at startup rather
    // than disabling the watcher later (WATCHER.md §2).
    PEAT_RETURN_IF_ERROR(
        watcher::LoadAgentTlsMaterial({c.agent_tls_cert, c.agent_tls_key, c.agent_tls_ca})
            .status());
  }
  if (!c.nats_mappings.empty() && c.nats_url.empty()) {
    return InvalidArgumentError("--nats-mapping: set without --nats-url");
  }
  if (c.data_dir.empty()) return InvalidArgumentError("--data-dir: must not be empty");
  c.data_dir_is_default = st.sources["data-dir"] == Source::kDefault;
  if (c.app_id.empty()) return InvalidArgumentError("--app-id: must not be empty");
  return Status::Ok();
}

std::string CleanCliMessage(std::string m) {
  // CLI11 messages sometimes contain double spaces ("1 required  missing").
  for (size_t p; (p = m.find("  ")) != std::string::npos;) m.erase(p, 1);
  while (!m.empty() && (m.back() == ' ' || m.back() == '\n')) m.pop_back();
  // "--listen: 1 required ADDR missing" → "--listen: requires a value".
  const size_t colon = m.find(": 1 required ");
  if (colon != std::string::npos && m.size() > 8 && m.compare(m.size() - 8, 8, " missing") == 0) {
    m = m.substr(0, colon) + ": requires a value";
  }
  // "The following argument(s) was/were not expected: x" → "unexpected argument: x". Unknown
  // --flags never get here (CheckFlagNames reports them first).
  for (const char* prefix : {"The following argument was not expected: ",
                             "The following arguments were not expected: "}) {
    const std::string p(prefix);
    if (m.rfind(p, 0) == 0) m = "unexpected argument: " + m.substr(p.size());
  }
  return m;
}

// CLI11 reports an unknown --flag only among its "extras", together with stray values (and
// with the flag's value when written --flag=value, which may be a secret). So every --name is
// checked against the flag table first: the error names the flag alone and suggests the nearest
// known one.
Status CheckFlagNames(int argc, char** argv, const std::vector<FlagDef>& flags) {
  std::vector<std::string> top = {"help", "version"};
  std::set<std::string> takes_value;  // flags whose value may be the next argument
  for (const auto& f : flags) {
    top.push_back(f.name);
    if (f.kind != Kind::kBool) takes_value.insert(f.name);
  }
  const std::vector<std::string> derive = {"help", "shared-key", "node-id"};
  const std::vector<std::string> healthcheck = {"help", "listen", "path", "timeout-ms"};
  const std::vector<std::string>* known = &top;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg == "--") break;  // the rest are positional
    if (arg == "derive-id" && known == &top) {
      known = &derive;
      takes_value = {"shared-key", "node-id"};
      continue;
    }
    if (arg == "healthcheck" && known == &top) {
      known = &healthcheck;
      takes_value = {"listen", "path", "timeout-ms"};
      continue;
    }
    if (arg.size() <= 2 || arg.substr(0, 2) != "--") continue;
    const size_t eq = arg.find('=');
    const std::string name(arg.substr(2, eq == std::string_view::npos ? arg.npos : eq - 2));
    if (std::find(known->begin(), known->end(), name) != known->end()) {
      if (eq == std::string_view::npos && takes_value.count(name) > 0) ++i;  // skip its value
      continue;
    }
    std::string m = "unknown flag --" + name;
    if (auto nearest = NearestFlag(name, *known)) {
      m += "; did you mean --" + *nearest + "?";
    } else {
      m += " (see peat-node --help)";
    }
    return InvalidArgumentError(m);
  }
  return Status::Ok();
}

const char kFooter[] =
    "Every flag --some-flag can also be set with the environment variable PEAT_NODE_SOME_FLAG\n"
    "(exceptions: --peer → PEAT_NODE_PEERS, --attachment-root → PEAT_NODE_ATTACHMENT_ROOTS,\n"
    "--collection-priority → PEAT_NODE_COLLECTION_PRIORITIES; the singular spellings work too).\n"
    "A flag on the command line beats its environment variable; an empty value counts as unset;\n"
    "list values are comma-separated. Booleans take true/false, 1/0, yes/no or on/off; a bare\n"
    "boolean flag means true. See docs/CONFIGURATION.md.\n"
    "\n"
    "  peat-node derive-id --shared-key K --node-id N   prints the endpoint id of node N in\n"
    "                                                   formation K and exits\n"
    "  peat-node healthcheck [--listen ADDR] [--path /readyz] [--timeout-ms 3000]\n"
    "                                                   GETs /readyz of a running node; exit 0\n"
    "                                                   on 200, 1 otherwise (a probe without a\n"
    "                                                   shell)\n";

// The last value of a subcommand option, or "" when absent.
std::string LastValue(const CLI::Option* o) {
  return o->count() > 0 && !o->results().empty() ? o->results().back() : std::string();
}

StatusOr<ParsedCommand> HealthcheckCommand(const CLI::Option* listen, const CLI::Option* path,
                                           const CLI::Option* timeout, const GetenvFn& getenv) {
  ParsedCommand cmd;
  cmd.kind = ParsedCommand::Kind::kHealthcheck;
  HealthcheckOptions& h = cmd.healthcheck;

  std::string label = "--listen";
  std::string addr = LastValue(listen);
  if (addr.empty()) {
    label = "--listen (from PEAT_NODE_LISTEN)";
    addr = getenv("PEAT_NODE_LISTEN").value_or("");
  }
  const std::vector<std::string> list = SplitList(addr);
  if (list.empty()) {
    h.target.kind = ListenAddress::Kind::kTcp;
    h.target.host = "127.0.0.1";
    h.target.port = 50051;
  } else {
    auto parsed = ParseListenAddress(list.front());
    if (!parsed.ok()) return InvalidArgumentError(label + ": " + parsed.status().message());
    if (parsed->kind == ListenAddress::Kind::kTcp && parsed->port == 0) {
      return InvalidArgumentError(label + ": port 0 cannot be probed; give the node's real port");
    }
    h.target = ProbeTargetFor(*parsed);
  }

  if (const std::string p = LastValue(path); !p.empty()) {
    const bool bad_char = std::any_of(p.begin(), p.end(), [](char c) {
      return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
    });
    if (p.front() != '/' || bad_char) {
      return InvalidArgumentError("--path: must start with / and contain no spaces (e.g. /readyz)");
    }
    h.path = p;
  }

  if (const std::string t = LastValue(timeout); !t.empty()) {
    constexpr int kMaxMs = 3'600'000;
    int ms = 0;
    const bool digits = t.size() <= 7 && std::all_of(t.begin(), t.end(),
                                                     [](char c) { return c >= '0' && c <= '9'; });
    if (digits) ms = std::stoi(t);
    if (!digits || ms < 1 || ms > kMaxMs) {
      return InvalidArgumentError("--timeout-ms: must be a whole number of milliseconds in 1.." +
                                  std::to_string(kMaxMs));
    }
    h.timeout_ms = ms;
  }
  return cmd;
}

void AppendJsonField(std::string& out, std::string_view key, const std::string& json_value) {
  if (out.size() > 1) out.push_back(',');
  AppendJsonString(&out, key);
  out.push_back(':');
  out.append(json_value);
}

}  // namespace

std::optional<std::string> ProcessEnvironment(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::string VersionText() { return std::string("peat-node ") + PEAT_NODE_VERSION; }

StatusOr<ListenAddress> ParseListenAddress(std::string_view text) {
  ListenAddress a;
  constexpr std::string_view kUnix = "unix://";
  constexpr std::string_view kTcp = "tcp://";
  if (text.substr(0, kUnix.size()) == kUnix) {
    const std::string_view path = text.substr(kUnix.size());
    if (path.empty() || path.front() != '/') {
      return InvalidArgumentError("unix socket path must be absolute (unix:///abs/path), got '" +
                                  std::string(text) + "'");
    }
    a.kind = ListenAddress::Kind::kUnix;
    a.unix_path = std::string(path);
    return a;
  }
  std::string_view rest = text;
  if (rest.substr(0, kTcp.size()) == kTcp) {
    rest.remove_prefix(kTcp.size());
  } else if (rest.find("://") != std::string_view::npos) {
    return InvalidArgumentError("unsupported scheme in '" + std::string(text) +
                                "' (use tcp:// or unix://)");
  }
  PEAT_ASSIGN_OR_RETURN(HostPort hp,
                        ParseHostPort(rest, {.allow_empty_host = true, .allow_port_zero = true}));
  a.kind = ListenAddress::Kind::kTcp;
  a.host = hp.kind == HostKind::kEmpty ? "0.0.0.0" : hp.host;
  a.port = hp.port;
  return a;
}

StatusOr<ParsedCommand> ParseCommandLine(int argc, char** argv, const GetenvFn& getenv) {
  try {
    const std::vector<FlagDef> flags = MakeFlagTable();
    CLI::App app{"peat-node: a sidecar that is a full peer of a leaderless document mesh.",
                 "peat-node"};
    app.footer(kFooter);
    app.get_formatter()->column_width(44);
    CLI::Option* version = app.add_flag("--version")->description("print the version and exit");

    std::vector<CLI::Option*> options;
    for (const auto& f : flags) {
      std::string env_names;
      for (const auto& e : f.env) env_names += (env_names.empty() ? "" : ", ") + e;
      CLI::Option* o =
          app.add_option("--" + f.name)->description(f.help + "  [env: " + env_names + "]");
      o->type_name(f.type_name);
      o->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      if (f.kind == Kind::kBool) {
        o->expected(0, 1);
      } else {
        o->expected(1);
      }
      options.push_back(o);
    }

    CLI::App* derive = app.add_subcommand(
        "derive-id", "print the endpoint id derived from --shared-key and --node-id, and exit");
    CLI::Option* d_key =
        derive->add_option("--shared-key")
            ->description("formation secret, base64 of 32 bytes  [env: PEAT_NODE_SHARED_KEY]");
    CLI::Option* d_node =
        derive->add_option("--node-id")->description("node name  [env: PEAT_NODE_NODE_ID]");
    d_key->type_name("BASE64");
    d_node->type_name("NAME");
    derive->footer("");

    CLI::App* health = app.add_subcommand(
        "healthcheck",
        "GET --path of a running node over its API listener; exit 0 on HTTP 200, 1 otherwise");
    CLI::Option* h_listen =
        health->add_option("--listen")
            ->description(
                "the node's API address; a list takes its first entry, 0.0.0.0 / :: are probed "
                "on loopback (default: tcp://127.0.0.1:50051)  [env: PEAT_NODE_LISTEN]");
    CLI::Option* h_path =
        health->add_option("--path")->description("request path (default: /readyz; /livez)");
    CLI::Option* h_timeout = health->add_option("--timeout-ms")
                                 ->description("deadline for the whole probe (default: 3000)");
    h_listen->type_name("ADDR");
    h_path->type_name("PATH");
    h_timeout->type_name("MS");
    health->footer("Exit codes: 0 HTTP 200; 1 not healthy (one line on stderr says why); 2 usage.");

    PEAT_RETURN_IF_ERROR(CheckFlagNames(argc, argv, flags));
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      ParsedCommand cmd;
      cmd.kind = ParsedCommand::Kind::kHelp;
      cmd.text = app.help();
      return cmd;
    } catch (const CLI::ExtrasError& e) {
      return InvalidArgumentError(CleanCliMessage(e.what()) + " (see peat-node --help)");
    } catch (const CLI::ParseError& e) {
      return InvalidArgumentError(CleanCliMessage(e.what()));
    }

    if (version->count() > 0) {
      ParsedCommand cmd;
      cmd.kind = ParsedCommand::Kind::kVersion;
      cmd.text = VersionText();
      return cmd;
    }

    if (derive->parsed()) {
      ParsedCommand cmd;
      cmd.kind = ParsedCommand::Kind::kDeriveId;
      auto pick = [&](CLI::Option* o, const std::string& env) -> std::string {
        if (o->count() > 0 && !o->results().empty() && !o->results().back().empty()) {
          return o->results().back();
        }
        std::optional<std::string> v = getenv(env);
        return v.value_or("");
      };
      cmd.shared_key = pick(d_key, "PEAT_NODE_SHARED_KEY");
      cmd.node_id = pick(d_node, "PEAT_NODE_NODE_ID");
      if (cmd.shared_key.empty()) {
        return InvalidArgumentError("derive-id: --shared-key is required");
      }
      if (cmd.node_id.empty()) return InvalidArgumentError("derive-id: --node-id is required");
      return cmd;
    }

    if (health->parsed()) return HealthcheckCommand(h_listen, h_path, h_timeout, getenv);

    State st;
    auto mesh = ParseListenAddress(st.config.mesh_listen);
    if (!mesh.ok()) return InternalError("bad built-in --mesh-listen default");
    st.mesh_listen = *mesh;
    for (size_t i = 0; i < flags.size(); ++i) {
      PEAT_RETURN_IF_ERROR(ResolveFlag(flags[i], options[i], getenv, st));
    }
    PEAT_RETURN_IF_ERROR(CrossValidate(st));

    ParsedCommand cmd;
    cmd.kind = ParsedCommand::Kind::kRun;
    cmd.config = std::move(st.config);
    return cmd;
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("cannot parse the command line: ") + e.what());
  }
}

StatusOr<ParsedCommand> ParseArguments(const std::vector<std::string>& args,
                                       const GetenvFn& getenv) {
  std::vector<std::string> storage;
  storage.reserve(args.size() + 1);
  storage.emplace_back("peat-node");
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  return ParseCommandLine(static_cast<int>(storage.size()), argv.data(), getenv);
}

std::string RedactedConfigText(const NodeConfig& c) {
  std::string o = "{";
  for (const FlagDef& f : MakeFlagTable()) {
    // An alias shows under the flag it aliases; a flag without `print` is a bug the unit test
    // reports (every flag of the table must appear).
    if (!f.alias_of.empty() || !f.field.print) continue;
    std::string value = f.field.print(c);
    if (f.field.secret) value = value == "\"\"" ? "\"\"" : "\"<redacted>\"";
    AppendJsonField(o, f.name, value);
  }
  o.push_back('}');
  return o;
}

std::vector<FlagInfo> ListFlags() {
  std::vector<FlagInfo> out;
  for (const FlagDef& f : MakeFlagTable()) out.push_back({f.name, f.field.secret, f.alias_of});
  return out;
}

}  // namespace peat

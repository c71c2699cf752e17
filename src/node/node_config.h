// NodeConfig: the node's effective configuration, after flags, PEAT_NODE_* environment variables
// and defaults have been merged and validated (see src/app/config.h, docs/CONFIGURATION.md).
// A plain value type with no behaviour; every layer below app receives the parts it needs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace peat {

struct ListenAddress {
  enum class Kind { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host;              // kTcp: IP literal or name ("0.0.0.0", "127.0.0.1", "::1")
  uint16_t port = 0;             // kTcp: 0 = let the OS choose (the bound port is logged)
  std::string unix_path;         // kUnix: absolute path of the socket file
  std::string ToString() const;  // "tcp://host:port" / "unix:///path"
};

struct StaticPeer {
  std::string endpoint_id;  // 64 lowercase hex
  std::string address;      // host:port
};

struct NodeConfig {
  // API
  std::vector<ListenAddress> listen;  // one or more; default tcp://127.0.0.1:50051
  uint32_t unix_socket_mode = 0660;   // permissions of unix:// listeners' socket files
  std::string data_dir = "/data/peat-node";
  bool data_dir_is_default = true;  // --data-dir not given (errors say "(the default)")
  std::string node_id;              // empty in flags → generated UUIDv4, persisted in data_dir
  bool node_id_generated = false;
  std::string app_id = "peat-default";
  std::string shared_key_b64;      // secret; "" = none
  std::string encryption_key_b64;  // secret; "" = none
  std::vector<StaticPeer> peers;
  bool auto_sync = true;
  // Replication priority class per collection: 1 bulk, 2 low, 3 routine (the default for
  // collections not listed), 4 priority, 5 critical.
  std::map<std::string, int> collection_priorities;
  bool print_config = false;
  bool console = true;  // the web console at /console/ (console/console_site.h)

  // Mesh
  // Without a --shared-key the default becomes 127.0.0.1 (config.cc): a key-less mesh accepts any
  // key-less node that can reach it, so it must not be reachable from other machines.
  std::string mesh_listen = "tcp://0.0.0.0:0";  // alias: --iroh-udp-port sets the port
  ListenAddress mesh_listen_address{ListenAddress::Kind::kTcp, "0.0.0.0", 0, ""};  // parsed
  bool allow_keyless_mesh = false;  // a non-loopback --mesh-listen without --shared-key
  // Dead-link detection (mesh/link_liveness.h): floor and ceiling of the adaptive silence bound.
  uint64_t mesh_dead_after_ms = 2500;
  uint64_t mesh_dead_after_max_ms = 30000;
  std::string mesh_congestion_control = "bbr";  // per mesh socket; "system" = kernel default
  // How relayed changes travel (mesh/replication_session.h): "offer" (relay once) or "push".
  std::string mesh_relay = "offer";
  bool disable_mdns = false;
  bool enable_kubernetes_discovery = false;
  std::string discovery_namespace;
  std::string discovery_label_selector = "app=peat-node";
  std::string discovery_annotation_prefix = "peat.";
  uint64_t discovery_interval_secs = 30;

  // Store / lifecycle
  uint64_t tombstone_ttl_hours = 168;
  uint64_t gc_interval_secs = 300;
  uint64_t gc_batch_size = 1000;
  uint64_t max_document_bytes = 1 << 20;

  // Attachments
  std::map<std::string, std::string> attachment_roots;  // name → path
  uint64_t attachment_max_file_bytes = 268435456;
  uint64_t attachment_max_bundle_bytes = 1073741824;
  uint64_t attachment_max_files_per_bundle = 64;
  uint64_t attachment_max_node_list_len = 256;
  uint64_t attachment_max_concurrent_distributions = 4;
  std::string attachment_default_priority = "routine";
  uint64_t attachment_discovery_grace_secs = 30;
  uint64_t attachment_handle_retention_secs = 86400;  // 0 = never expire
  bool attachment_queue_when_full = false;
  uint64_t attachment_max_known_bundles = 4096;
  uint64_t attachment_delivery_timeout_secs = 86400;  // 0 = no deadline
  uint64_t attachment_blob_retention_secs = 86400;
  uint64_t attachment_max_active_fetches = 4;
  uint64_t attachment_max_sources = 3;
  uint64_t attachment_relay_cache_bytes = 1ull << 30;
  std::string attachment_inbox;
  uint64_t attachment_inbox_poll_secs = 1;
  bool attachment_outbox_watch = false;
  uint64_t attachment_outbox_poll_secs = 2;

  // Agent watcher
  std::string agent_addr;
  uint64_t agent_poll_interval = 10;
  uint64_t agent_refresh_secs = 300;  // change-only writes are refreshed after this (WATCHER.md §4)
  std::string agent_tls_cert, agent_tls_key, agent_tls_ca;

  // NATS bridge (docs/NATS.md): runs only with at least one mapping
  std::string nats_url;                    // nats:// or tls://, may hold credentials: never log
  std::vector<std::string> nats_mappings;  // SUBJECT=COLLECTION, checked by the config
  uint64_t nats_shutdown_timeout_secs = 10;

  // RPC server limits and timeouts
  uint64_t rpc_default_timeout_secs = 120;
  uint64_t rpc_max_timeout_secs = 300;
  uint64_t http_header_read_timeout_secs = 30;
  uint64_t http_max_connection_idle_secs = 300;
  uint64_t http2_keepalive_interval_secs = 30;
  uint64_t http2_keepalive_timeout_secs = 20;
  uint64_t http2_max_concurrent_streams = 128;
  uint64_t max_message_bytes = 4 << 20;
  uint64_t max_connections = 1024;
  uint64_t io_threads = 0;  // 0 = half the cores (at least 1)
  uint64_t shutdown_grace_secs = 10;

  // Logging
  std::string log_format = "text";  // text | json
  std::string log_level = "info";   // trace | debug | info | warn | error | off
};

}  // namespace peat

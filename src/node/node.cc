#include "node/node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "common/host_port.h"
#include "crypto/base64.h"
#include "mesh/tls_transport.h"
#include "node/data_dir.h"
#include "service/attachment_service.h"
#include "service/document_service.h"
#include "service/peer_service.h"
#include "service/reflection_service.h"
#include "service/sidecar_service.h"
#include "service/subscribe_service.h"
#include "service/typed_collection_service.h"

namespace peat {

namespace {
rpc::ListenEndpoint ToEndpoint(const ListenAddress& a, uint32_t unix_mode) {
  rpc::ListenEndpoint ep;
  ep.kind = a.kind == ListenAddress::Kind::kUnix ? rpc::ListenEndpoint::Kind::kUnix
                                                 : rpc::ListenEndpoint::Kind::kTcp;
  ep.host = a.host;
  ep.port = a.port;
  ep.unix_path = a.unix_path;
  ep.unix_mode = unix_mode;
  return ep;
}

// The HLC tie-breaker: the first 8 bytes of the Ed25519 public key (never zero in practice; a
// zero key prefix is mapped to 1 because the store reserves 0).
uint64_t NodeTag(const NodeIdentity& id) {
  uint64_t tag = 0;
  const auto& pk = id.key.PublicKey();
  for (size_t i = 0; i < 8; ++i) tag = (tag << 8) | pk[i];
  return tag == 0 ? 1 : tag;
}

const char* PhaseName(service::NodePhase p) {
  switch (p) {
    case service::NodePhase::kInitializing:
      return "INITIALIZING";
    case service::NodePhase::kReady:
      return "READY";
    case service::NodePhase::kSyncing:
      return "SYNCING";
    case service::NodePhase::kShuttingDown:
      return "SHUTTING_DOWN";
  }
  return "UNKNOWN";
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}
}  // namespace

Node::Node(NodeConfig config) : config_(std::move(config)) {}

Node::~Node() {
  if (server_) server_->Stop();
}

Status Node::Start() {
  SetPhase(service::NodePhase::kInitializing);
  // The data dir first: created private, then locked before anything in it is opened or created
  // (a second node on it stops here), then what is already there is made private too.
  PEAT_RETURN_IF_ERROR(CreateDataDir(config_.data_dir, config_.data_dir_is_default));
  auto lock = DataDirLock::Acquire(config_.data_dir, config_.data_dir_is_default);
  if (!lock.ok()) return lock.status();
  data_dir_lock_.emplace(std::move(*lock));
  const TightenReport tightened = TightenDataDir(config_.data_dir);
  if (!tightened.changed.empty()) {
    spdlog::info("data dir {}: removed group/other permissions: {}", config_.data_dir,
                 Join(tightened.changed));
  }
  if (!tightened.problems.empty()) {
    spdlog::warn("data dir {}: could not make private: {}", config_.data_dir,
                 Join(tightened.problems));
  }

  auto identity = LoadOrCreateIdentity(config_.data_dir, config_.node_id, config_.shared_key_b64);
  if (!identity.ok()) return identity.status();
  if (config_.enable_kubernetes_discovery) {
    // The original's rule: in Kubernetes the key is seeded by the pod name, so every pod computes
    // every other's endpoint id from the EndpointSlices (the node id stays the configured name).
    const char* pod = std::getenv("POD_NAME");
    if (pod && *pod && !config_.shared_key_b64.empty()) {
      auto derived = DeriveIdentity(config_.shared_key_b64, pod);
      if (!derived.ok()) return derived.status();
      identity->key = std::move(derived->key);
      spdlog::info("kubernetes discovery: endpoint id derived from the pod name {}", pod);
    } else {
      spdlog::warn(
          "kubernetes discovery: {} is not set, so peers cannot derive this node's endpoint id "
          "from its pod name",
          config_.shared_key_b64.empty() ? "--shared-key" : "POD_NAME");
    }
  }
  identity_.emplace(std::move(*identity));
  node_id_ = identity_->node_id;
  endpoint_id_ = identity_->EndpointId();
  spdlog::info("node id {} endpoint {} (data dir {})", node_id_, endpoint_id_, config_.data_dir);

  store::StoreOptions store_options;
  store_options.data_dir = config_.data_dir;
  store_options.node_tag = NodeTag(*identity_);
  if (!config_.encryption_key_b64.empty()) {
    auto key = DecodeBase64Key32(config_.encryption_key_b64);
    if (!key.ok()) return InvalidArgumentError("--encryption-key: " + key.status().message());
    store_options.encryption_key = std::move(*key);
  }
  store_options.limits.max_document_bytes = config_.max_document_bytes;
  // --tombstone-ttl-hours is the retention upper bound (CONTRACT.md), and also the TTL of
  // TOMBSTONE collections that set none ("0 = mesh default").
  store_options.tombstone_ttl_upper_bound_secs = config_.tombstone_ttl_hours * 3600;
  store_options.default_tombstone_ttl_secs = config_.tombstone_ttl_hours * 3600;
  store_options.gc_interval = std::chrono::seconds(config_.gc_interval_secs);
  store_options.gc_batch = config_.gc_batch_size;
  // Memory must not grow with the store: a small hot-document cache (B6: 1M docs ≤ 64 MB RSS).
  store_options.cache_max_entries = 4096;
  store_options.cache_max_bytes = 8u << 20;
  // Tombstone purge waits until every formation member has the delete (the mesh keeps the acks).
  member_acks_ = std::make_shared<mesh::MemberAckTracker>();
  store_options.ack_tracker = member_acks_;
  auto opened = store::SqliteDocumentStore::Open(store_options);
  if (!opened.ok()) return opened.status();
  store_ = std::move(*opened);
  PEAT_RETURN_IF_ERROR(member_acks_->Load(*store_));
  spdlog::info("store open in {} (last seq {})", config_.data_dir, store_->LastSeq());

  blocking_ = std::make_unique<boost::asio::thread_pool>(2);
  service::RegisterDocumentService(methods_, *store_, *blocking_);
  service::RegisterTypedCollectionService(methods_, *store_, *blocking_);
  snapshots_ = std::make_unique<boost::asio::thread_pool>(4);
  service::RegisterSubscribeService(methods_, *store_, *snapshots_, &subscriber_metrics_);
  store_->RegisterMetrics(metrics_);
  metrics_.AddCollector([this](std::string& out) { AppendSubscriberMetrics(out); });
  PEAT_RETURN_IF_ERROR(StartAgentWatcher());
  PEAT_RETURN_IF_ERROR(StartNatsBridge());
  PEAT_RETURN_IF_ERROR(OpenAttachments());
  PEAT_RETURN_IF_ERROR(StartMesh());
  PEAT_RETURN_IF_ERROR(StartKubernetesDiscovery());
  PEAT_RETURN_IF_ERROR(StartAttachments());
  service::RegisterAttachmentService(methods_, attachments_.get(), attachments_unavailable_);
  service::RegisterPeerService(methods_, *mesh_);
  metrics_.AddCollector([this](std::string& out) { mesh_->AppendMetrics(out); });
  metrics_.AddCollector([this](std::string& out) { discovery_metrics_.Append(out); });
  StartDiscovery();
  service::RegisterSidecarService(methods_, *this);  // GetStatus; UNIMPLEMENTED for the rest
  service::RegisterHealthService(methods_, health_);
  service::RegisterReflectionService(methods_);  // last: it lists the services registered above

  rpc::ServerOptions options;
  for (const auto& a : config_.listen) {
    options.listen.push_back(ToEndpoint(a, config_.unix_socket_mode));
  }
  // Default: half the cores. A sidecar shares its machine with the application it serves; on 2
  // cores one event-loop thread measured 30–50 % faster than two (B1, docs/BENCHMARKS.md).
  options.io_threads = config_.io_threads ? config_.io_threads
                                          : std::max(1u, std::thread::hardware_concurrency() / 2);
  options.max_connections = config_.max_connections;
  options.connection.header_read_timeout =
      std::chrono::seconds(config_.http_header_read_timeout_secs);
  options.connection.idle_timeout = std::chrono::seconds(config_.http_max_connection_idle_secs);
  options.connection.keepalive_interval =
      std::chrono::seconds(config_.http2_keepalive_interval_secs);
  options.connection.keepalive_timeout = std::chrono::seconds(config_.http2_keepalive_timeout_secs);
  options.connection.max_concurrent_streams =
      static_cast<uint32_t>(config_.http2_max_concurrent_streams);
  options.router.max_message_bytes = config_.max_message_bytes;
  options.router.default_timeout = std::chrono::seconds(config_.rpc_default_timeout_secs);
  options.router.max_timeout = std::chrono::seconds(config_.rpc_max_timeout_secs);

  rpc::OpsHooks ops;
  ops.ready = [this](std::string* reason) { return IsReady(reason); };
  ops.metrics = &metrics_;
  console::ConsoleSiteOptions console_options;
  console_options.enabled = config_.console;
  console_options.assets = console::BuiltInConsoleAssets();
  console_options.node_id = endpoint_id_;
  console_options.store = store_.get();
  console_options.peers = mesh_.get();
  console_options.feed_seq = [store = store_.get()] { return store->LastSeq(); };
  console_options.blocking = blocking_->get_executor();
  console_ = std::make_unique<console::ConsoleSite>(std::move(console_options));
  ops.web = [site = console_.get()](const std::shared_ptr<rpc::HttpExchange>& exchange) {
    return site->Handle(exchange);
  };
  metrics_.AddCollector([this](std::string& out) {
    AppendMetricHeader(out, "peat_mesh_formation_keyed", "gauge",
                       "1 when the formation has a shared key (--shared-key), 0 when key-less.");
    AppendSample(out, "peat_mesh_formation_keyed", "", config_.shared_key_b64.empty() ? 0 : 1);
    AppendMetricHeader(out, "peat_node_phase", "gauge", "Lifecycle phase (1 = current).");
    const auto cur = CurrentPhase();
    for (auto p : {service::NodePhase::kInitializing, service::NodePhase::kReady,
                   service::NodePhase::kSyncing, service::NodePhase::kShuttingDown}) {
      AppendSample(out, "peat_node_phase", std::string("phase=\"") + PhaseName(p) + "\"",
                   p == cur ? 1 : 0);
    }
  });

  server_ = std::make_unique<rpc::RpcServer>(std::move(options), methods_, metrics_, ops);
  PEAT_RETURN_IF_ERROR(server_->Start());
  for (const auto& addr : server_->bound_addresses()) spdlog::info("listening on {}", addr);

  health_.Set("", service::ServingStatus::kServing);
  health_.Set("peat.sidecar.v1.PeatSidecar", service::ServingStatus::kServing);
  // READY, which reads (and is logged) as SYNCING while the mesh's sync is active.
  SetPhase(service::NodePhase::kReady);
  return Status::Ok();
}

std::vector<std::string> Node::bound_addresses() const {
  return server_ ? server_->bound_addresses() : std::vector<std::string>{};
}

bool Node::Shutdown() {
  SetPhase(service::NodePhase::kShuttingDown);
  // One grace period covers both the API drain and pushing pending changes to peers.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(config_.shutdown_grace_secs);
  health_.Set("", service::ServingStatus::kNotServing);
  health_.Set("peat.sidecar.v1.PeatSidecar", service::ServingStatus::kNotServing);
  // The drain cancels a poll in flight at once; no watcher write happens after this.
  if (agent_watcher_) agent_watcher_->Stop();
  // The bridge stores what it queued within its own timeout, inside the node's budget.
  if (nats_bridge_) {
    nats_bridge_->Stop(
        std::min(deadline, std::chrono::steady_clock::now() +
                               std::chrono::seconds(config_.nats_shutdown_timeout_secs)));
  }
  if (mdns_) mdns_->Stop();                    // sends the goodbye; no new dials
  if (k8s_discovery_) k8s_discovery_->Stop();  // no dial or drop after this
  if (!server_) return true;
  server_->BeginDrain();
  bool drained = server_->WaitDrained(std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now()));
  if (!drained) {
    spdlog::warn("shutdown grace period ({} s) ended with {} connection(s) still open",
                 config_.shutdown_grace_secs, server_->open_connections());
  }
  server_->Stop();
  if (attachments_) attachments_->Stop();  // its last status documents go out with the drain
  if (mesh_) {
    // Pending changes reach connected peers within the grace period (BEHAVIOR.md "Operations").
    if (!mesh_->Drain(deadline)) {
      spdlog::warn(
          "shutdown: some peers had not acknowledged every change when the grace period "
          "ended");
    }
    mesh_->Stop();
  }
  if (blocking_) blocking_->join();
  if (snapshots_) snapshots_->join();
  store_.reset();  // flushes and closes the database
  return drained;
}

service::NodeStatusSnapshot Node::Snapshot() const {
  service::NodeStatusSnapshot s;
  s.node_id = node_id_;
  s.endpoint_id = endpoint_id_;
  s.phase = CurrentPhase();
  s.sync_active = mesh_ && mesh_->sync_active();
  s.connected_peers = mesh_ ? mesh_->connected_peers() : 0;
  return s;
}

service::NodePhase Node::CurrentPhase() const {
  const auto p = phase_.load();
  if (p == service::NodePhase::kReady && mesh_ && mesh_->sync_active()) {
    return service::NodePhase::kSyncing;
  }
  return p;
}

void Node::LogPhaseChange() {
  std::lock_guard<std::mutex> lock(phase_log_mu_);
  const auto now = CurrentPhase();
  if (logged_phase_ == now) return;
  logged_phase_ = now;
  spdlog::info("phase {}", PhaseName(now));
}

bool Node::IsReady(std::string* reason) const {
  auto p = phase_.load();
  if (p == service::NodePhase::kReady || p == service::NodePhase::kSyncing) return true;
  if (reason) *reason = PhaseName(p);
  return false;
}

void Node::AppendSubscriberMetrics(std::string& out) const {
  auto one = [&out](const char* name, const char* type, const char* help, double v) {
    AppendMetricHeader(out, name, type, help);
    AppendSample(out, name, "", v);
  };
  one("peat_subscribers", "gauge", "Subscribe streams in progress.",
      static_cast<double>(subscriber_metrics_.active.Value()));
  one("peat_subscriber_events_total", "counter", "Change events sent to subscribers.",
      static_cast<double>(subscriber_metrics_.events_sent.Value()));
  one("peat_subscriber_coalesced_total", "counter",
      "Pending events replaced by a newer state of the same document (slow subscribers).",
      static_cast<double>(subscriber_metrics_.coalesced.Value()));
  one("peat_subscriber_lagged_total", "counter",
      "Subscribe streams ended because they lagged too far.",
      static_cast<double>(subscriber_metrics_.lagged.Value()));
}

Status Node::StartAgentWatcher() {
  if (config_.agent_addr.empty()) return Status::Ok();
  watcher::AgentWatcherOptions o;
  o.client.addr = config_.agent_addr;
  o.client.tls = {config_.agent_tls_cert, config_.agent_tls_key, config_.agent_tls_ca};
  o.node_id = node_id_;
  o.poll_interval = std::chrono::seconds(config_.agent_poll_interval);
  o.refresh = std::chrono::seconds(config_.agent_refresh_secs);
  watcher::AgentWatcher::Dependencies deps;
  deps.store = store_.get();
  auto w = watcher::AgentWatcher::Create(std::move(o), std::move(deps));
  if (!w.ok()) return w.status();
  agent_watcher_ = std::move(*w);
  metrics_.AddCollector([this](std::string& out) {
    if (agent_watcher_) agent_watcher_->AppendMetrics(out);
  });
  agent_watcher_->Start();
  return Status::Ok();
}

Status Node::StartNatsBridge() {
  if (config_.nats_mappings.empty()) {
    if (!config_.nats_url.empty()) {
      spdlog::warn("nats bridge: --nats-url is set but no --nats-mapping; the bridge is off");
    }
    return Status::Ok();
  }
  bridge::NatsBridgeOptions o;
  PEAT_ASSIGN_OR_RETURN(o.url, bridge::ParseNatsUrl(config_.nats_url));
  PEAT_ASSIGN_OR_RETURN(o.mappings, bridge::ParseNatsMappings(config_.nats_mappings));
  o.node_id = node_id_;
  o.ledger_path = config_.data_dir + "/nats-bridge.db";
  bridge::NatsBridge::Dependencies deps;
  deps.store = store_.get();
  deps.log = store_.get();
  PEAT_ASSIGN_OR_RETURN(nats_bridge_, bridge::NatsBridge::Create(std::move(o), deps));
  metrics_.AddCollector([this](std::string& out) {
    if (nats_bridge_) nats_bridge_->AppendMetrics(out);
  });
  return nats_bridge_->Start();
}

Status Node::OpenAttachments() {
  blob::BlobStoreOptions blob_options;
  blob_options.root_dir = config_.data_dir + "/blobs";
  if (!config_.encryption_key_b64.empty()) {
    auto key = DecodeBase64Key32(config_.encryption_key_b64);
    if (!key.ok()) return InvalidArgumentError("--encryption-key: " + key.status().message());
    blob_options.encryption_key = std::move(*key);  // decision 6: blob chunks encrypted too
  }
  auto blobs = blob::BlobStore::Open(std::move(blob_options));
  if (!blobs.ok() && blobs.status().code() == StatusCode::kFailedPrecondition) {
    // Another or no --encryption-key than the blobs were stored under: like encrypted documents
    // (readable only with their key), the node still starts; only attachments are unavailable.
    attachments_unavailable_ = "attachments are unavailable: " + blobs.status().message();
    spdlog::error("{}", attachments_unavailable_);
    return Status::Ok();
  }
  if (!blobs.ok()) return blobs.status();
  blobs_ = std::move(*blobs);
  metrics_.AddCollector([this](std::string& out) {
    const blob::BlobUsage usage = blobs_->Usage();
    AppendMetricHeader(out, "peat_blob_store_bytes", "gauge",
                       "Bytes in the attachment blob store, by kind.");
    AppendSample(out, "peat_blob_store_bytes", "kind=\"complete\"",
                 static_cast<double>(usage.complete_bytes));
    AppendSample(out, "peat_blob_store_bytes", "kind=\"partial\"",
                 static_cast<double>(usage.partial_bytes));
  });
  if (config_.attachment_roots.empty() && config_.attachment_inbox.empty()) return Status::Ok();

  attach::AttachmentOptions o;
  o.roots = config_.attachment_roots;
  o.inbox = config_.attachment_inbox;
  o.registry_path = config_.data_dir + "/attachments.db";
  o.limits.max_file_bytes = config_.attachment_max_file_bytes;
  o.limits.max_bundle_bytes = config_.attachment_max_bundle_bytes;
  o.limits.max_files_per_bundle = config_.attachment_max_files_per_bundle;
  o.limits.max_node_list_len = config_.attachment_max_node_list_len;
  o.max_concurrent_distributions = config_.attachment_max_concurrent_distributions;
  o.queue_when_full = config_.attachment_queue_when_full;
  o.default_priority = attach::ParsePriorityName(config_.attachment_default_priority).value_or(3);
  o.discovery_grace = std::chrono::seconds(config_.attachment_discovery_grace_secs);
  o.handle_retention = std::chrono::seconds(config_.attachment_handle_retention_secs);
  o.max_known_bundles = config_.attachment_max_known_bundles;
  o.delivery_timeout = std::chrono::seconds(config_.attachment_delivery_timeout_secs);
  o.blob_retention = std::chrono::seconds(config_.attachment_blob_retention_secs);
  auto at_least_one = [](uint64_t secs, const char* flag) {
    if (secs > 0) return std::chrono::seconds(secs);
    spdlog::warn("{} 0 runs as 1 second", flag);
    return std::chrono::seconds(1);
  };
  o.inbox_poll = at_least_one(config_.attachment_inbox_poll_secs, "--attachment-inbox-poll-secs");
  o.outbox_watch = config_.attachment_outbox_watch;
  o.outbox_poll =
      at_least_one(config_.attachment_outbox_poll_secs, "--attachment-outbox-poll-secs");
  o.max_active_fetches = config_.attachment_max_active_fetches;
  o.endpoint_id = endpoint_id_;
  o.node_id = node_id_;
  attach::AttachmentManager::Dependencies deps;
  deps.store = store_.get();
  deps.blobs = blobs_.get();
  auto manager = attach::AttachmentManager::Create(std::move(o), deps);
  if (!manager.ok()) return manager.status();
  attachments_ = std::move(*manager);
  metrics_.AddCollector([this](std::string& out) { attachments_->AppendMetrics(out); });
  return Status::Ok();
}

Status Node::StartAttachments() {
  if (!attachments_) return Status::Ok();
  attachments_->SetTransfer(mesh_.get());
  PEAT_RETURN_IF_ERROR(attachments_->Start());
  spdlog::info("attachments: {} root(s){}", config_.attachment_roots.size(),
               config_.attachment_inbox.empty() ? ", no inbox (this node receives no files)"
                                                : ", inbox " + config_.attachment_inbox);
  return Status::Ok();
}

Status Node::StartMesh() {
  mesh::MeshOptions options;
  options.listen_ip = config_.mesh_listen_address.host;
  options.listen_port = config_.mesh_listen_address.port;
  options.app_id = config_.app_id;
  if (!config_.shared_key_b64.empty()) {
    auto key = DecodeBase64Key32(config_.shared_key_b64);
    if (!key.ok()) return InvalidArgumentError("--shared-key: " + key.status().message());
    options.shared_key = std::move(*key);
  }
  for (const auto& p : config_.peers) {
    options.static_peers.push_back(store::PeerRecord{p.endpoint_id, {p.address}, true});
  }
  options.auto_sync = config_.auto_sync;
  options.collection_priorities = config_.collection_priorities;
  options.member_acks = member_acks_;
  options.on_sync_changed = [this](bool) { LogPhaseChange(); };  // READY ↔ SYNCING
  options.blob_store = blobs_.get();
  options.blob_serve_policy = [this](const blob::BlobRoot& root) {
    return !attachments_ || attachments_->MayServe(root);
  };
  options.accepts_attachments = !config_.attachment_inbox.empty();
  options.blob_max_sources = static_cast<int>(config_.attachment_max_sources);
  options.blob_relay_cache_bytes = config_.attachment_relay_cache_bytes;
  options.session.liveness.dead_after = std::chrono::milliseconds(config_.mesh_dead_after_ms);
  options.session.relay_offers = config_.mesh_relay == "offer";
  // A few pings fit in the floor (default: one every 833 ms), never more than 10 per second.
  options.session.liveness.ping_interval =
      std::clamp(options.session.liveness.dead_after / 3, std::chrono::milliseconds(100),
                 std::chrono::milliseconds(1000));
  options.session.liveness.dead_after_max = std::chrono::milliseconds(
      std::max(config_.mesh_dead_after_max_ms, config_.mesh_dead_after_ms));
  mesh::TlsTransportOptions transport;  // the TLS handshake is bounded like the formation's
  transport.handshake_timeout = options.session.handshake_timeout;
  transport.congestion_control =
      config_.mesh_congestion_control == "system" ? "" : config_.mesh_congestion_control;
  options.transport_factory = mesh::TlsTransportFactory(identity_->key, transport);
  mesh_ =
      std::make_unique<mesh::Mesh>(std::move(options), endpoint_id_, node_id_, *store_, *store_);
  PEAT_RETURN_IF_ERROR(mesh_->Start());
  LogFormationKey();
  return Status::Ok();
}

Status Node::StartKubernetesDiscovery() {
  metrics_.AddCollector([this](std::string& out) {
    discovery::K8sDiscovery::AppendMetrics(k8s_discovery_.get(), out);
  });
  if (!config_.enable_kubernetes_discovery) return Status::Ok();
  auto api = discovery::K8sApiConfig::FromEnvironment();
  if (!api.ok()) {
    spdlog::warn("kubernetes discovery is off: {}", api.status().message());
    return Status::Ok();
  }
  discovery::K8sDiscoveryOptions o;
  o.api = std::move(*api);
  o.namespace_name = config_.discovery_namespace;
  o.label_selector = config_.discovery_label_selector;
  o.annotation_prefix = config_.discovery_annotation_prefix;
  o.interval = std::chrono::seconds(config_.discovery_interval_secs);
  const char* pod = std::getenv("POD_NAME");
  o.own_pod = pod ? pod : "";
  o.own_endpoint_id = endpoint_id_;
  o.state_file = config_.data_dir + "/kubernetes-peers";
  o.derive = [key = config_.shared_key_b64](const std::string& pod_name) -> StatusOr<std::string> {
    if (key.empty()) return FailedPreconditionError("no --shared-key: pod ids cannot be derived");
    PEAT_ASSIGN_OR_RETURN(NodeIdentity id, DeriveIdentity(key, pod_name));
    return id.EndpointId();
  };
  auto d = discovery::K8sDiscovery::Create(std::move(o), *mesh_);
  if (!d.ok()) {
    spdlog::warn("kubernetes discovery is off: {}", d.status().message());
    return Status::Ok();
  }
  k8s_discovery_ = std::move(*d);
  k8s_discovery_->Start();
  return Status::Ok();
}

void Node::LogFormationKey() const {
  if (!config_.shared_key_b64.empty()) return;
  if (config_.allow_keyless_mesh && !IsLoopbackMesh()) {
    spdlog::warn(
        "mesh: the formation has no key (no --shared-key) and --allow-keyless-mesh exposes it on "
        "{}: any key-less node that reaches it can read and write every document",
        config_.mesh_listen);
    return;
  }
  spdlog::info(
      "mesh: the formation has no key (no --shared-key); the mesh listens on loopback only, for "
      "key-less nodes on this machine");
}

void Node::StartDiscovery() {
  if (config_.disable_mdns) return spdlog::info("mdns: disabled (--disable-mdns)");
  if (config_.shared_key_b64.empty()) {
    return spdlog::info("mdns: off: the formation has no key (key-less nodes do not advertise)");
  }
  if (IsLoopbackMesh()) return spdlog::info("mdns: off: the mesh listens on loopback only");
  auto key = DecodeBase64Key32(config_.shared_key_b64);  // checked by StartMesh already
  StatusOr<std::string> tag =
      key.ok() ? discovery::FormationTag(key->span(), config_.app_id) : key.status();
  auto port = ParseHostPort(mesh_->listen_address());
  if (!tag.ok() || !port.ok()) {
    return spdlog::warn("mdns: off: {}",
                        !tag.ok() ? tag.status().message() : port.status().message());
  }
  discovery::CandidateDialerOptions dialer_options;
  dialer_options.self_endpoint_id = endpoint_id_;
  dialer_ = std::make_shared<discovery::CandidateDialer>(std::move(dialer_options), *mesh_,
                                                         RealClock(), discovery_metrics_);
  discovery::MdnsDiscoveryOptions options;
  options.advert = {endpoint_id_, port->port, *tag};
  const auto& host = config_.mesh_listen_address.host;
  if (host != "0.0.0.0" && host != "::" && !host.empty()) options.interface_ip = host;
  mdns_ = std::make_unique<discovery::MdnsDiscovery>(
      std::move(options), RealClock(), discovery_metrics_,
      [dialer = dialer_](discovery::PeerCandidate c) { dialer->Propose(std::move(c)); });
  if (auto s = mdns_->Start(); !s.ok()) {
    spdlog::warn("mdns: off: {}", s.message());
    mdns_.reset();
    return;
  }
  std::string joined;
  for (const auto& i : mdns_->interfaces()) joined += (joined.empty() ? "" : ", ") + i;
  spdlog::info("mdns: advertising {} on {}", discovery::kMdnsServiceType, joined);
}

bool Node::IsLoopbackMesh() const { return IsLoopbackIp(config_.mesh_listen_address.host); }

void Node::SetPhase(service::NodePhase phase) {
  phase_.store(phase);
  LogPhaseChange();
}

}  // namespace peat

#include "discovery/k8s_discovery.h"

#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <boost/asio/post.hpp>
#include <cstdio>
#include <fstream>

#include "common/endpoint_id.h"
#include "common/metrics.h"

namespace peat::discovery {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {
constexpr milliseconds kInitialBackoff{1000};
constexpr milliseconds kMaxBackoff{30'000};
constexpr milliseconds kListTimeout{30'000};

// Percent-encodes a query value (RFC 3986 unreserved characters kept).
std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string FirstLine(std::string_view body) {
  std::string_view s = body.substr(0, body.find('\n'));
  return std::string(s.substr(0, 200));
}
}  // namespace

StatusOr<std::unique_ptr<K8sDiscovery>> K8sDiscovery::Create(K8sDiscoveryOptions options,
                                                             PeerControl& peers) {
  if (options.namespace_name.empty()) {
    auto ns = ReadTrimmedFile(options.api.namespace_file);
    if (!ns.ok() || ns->empty()) {
      return FailedPreconditionError(
          "--discovery-namespace is not set and the pod's namespace file " +
          options.api.namespace_file + " is not readable");
    }
    options.namespace_name = std::move(*ns);
  }
  if (!options.derive) return InvalidArgumentError("no endpoint id derivation");
  // The derivation (HKDF + an Ed25519 key) runs for every pod on every reconcile: cached (used
  // on the loop thread only).
  auto cache = std::make_shared<std::map<std::string, StatusOr<std::string>>>();
  options.derive = [cache, derive = std::move(options.derive)](const std::string& pod) {
    auto it = cache->find(pod);
    if (it == cache->end()) it = cache->emplace(pod, derive(pod)).first;
    return it->second;
  };
  return std::unique_ptr<K8sDiscovery>(new K8sDiscovery(std::move(options), peers));
}

K8sDiscovery::K8sDiscovery(K8sDiscoveryOptions options, PeerControl& peers)
    : options_(std::move(options)),
      peers_(peers),
      work_(io_.get_executor()),
      client_(io_, options_.api),
      retry_timer_(options_.clock->MakeTimer(io_)),
      reconcile_timer_(options_.clock->MakeTimer(io_)) {
  gate_->io = &io_;
  LoadState();
}

void K8sDiscovery::LoadState() {
  if (options_.state_file.empty()) return;
  std::ifstream in(options_.state_file);
  for (std::string line; std::getline(in, line);) {
    if (IsValidEndpointId(line)) proposed_.emplace(line, std::vector<std::string>{});
  }
  for (const auto& [id, addresses] : proposed_) saved_.insert(id);
}

void K8sDiscovery::SaveState() {
  std::set<std::string> now;
  for (const auto& [id, addresses] : proposed_) now.insert(id);
  if (options_.state_file.empty() || now == saved_) return;
  const std::string tmp = options_.state_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& id : now) out << id << '\n';
    if (!out.flush()) {
      spdlog::warn("kubernetes discovery: cannot write {}", tmp);
      return;
    }
  }
  ::chmod(tmp.c_str(), 0600);  // like every file of the data dir
  if (std::rename(tmp.c_str(), options_.state_file.c_str()) != 0) {
    spdlog::warn("kubernetes discovery: cannot write {}", options_.state_file);
    return;
  }
  saved_ = std::move(now);
}

K8sDiscovery::~K8sDiscovery() { Stop(); }

void K8sDiscovery::Start() {
  spdlog::info("kubernetes discovery: EndpointSlices in namespace {} with labels {} via {}:{}",
               options_.namespace_name, options_.label_selector, options_.api.host,
               options_.api.port);
  asio::post(io_, [this] {
    List();
    ArmReconcile();
  });
  thread_ = std::thread([this] { io_.run(); });
}

void K8sDiscovery::Stop() {
  if (stopped_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(gate_->mu);
    gate_->io = nullptr;
  }
  asio::post(io_, [this] {
    client_.Cancel();
    retry_timer_->Cancel();
    reconcile_timer_->Cancel();
    work_.reset();
    io_.stop();
  });
  if (thread_.joinable()) thread_.join();
}

std::string K8sDiscovery::BasePath() const {
  std::string p = "/apis/discovery.k8s.io/v1/namespaces/" + QueryEscape(options_.namespace_name) +
                  "/endpointslices";
  if (!options_.label_selector.empty()) {
    p += "?labelSelector=" + QueryEscape(options_.label_selector);
  }
  return p;
}

void K8sDiscovery::List() {
  if (stopped_) return;
  client_.Get(BasePath(), kListTimeout, nullptr, [this](K8sResponse r) {
    if (stopped_) return;
    if (!r.status.ok()) return Fail("list: " + r.status.message());
    if (r.http_status != 200) {
      return Fail("list: HTTP " + std::to_string(r.http_status) + " " + FirstLine(r.body),
                  r.http_status == 410);
    }
    auto list = ParseSliceList(r.body, options_.annotation_prefix);
    if (!list.ok()) return Fail("list: " + list.status().message());
    ++counters_.lists;
    listed_ = true;
    slices_.clear();
    for (auto& s : list->items) slices_[s.name] = std::move(s);
    resource_version_ = list->resource_version;
    backoff_ = milliseconds(0);
    spdlog::debug("kubernetes discovery: listed {} slice(s) at resourceVersion {}", slices_.size(),
                  resource_version_);
    Reconcile();
    Watch();
  });
}

void K8sDiscovery::Watch() {
  if (stopped_) return;
  watch_failed_ = false;
  const auto secs = options_.interval.count();
  std::string target = BasePath();
  target += target.find('?') == std::string::npos ? '?' : '&';
  target += "watch=1&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(secs);
  if (!resource_version_.empty()) target += "&resourceVersion=" + QueryEscape(resource_version_);
  client_.Get(
      std::move(target), std::chrono::duration_cast<milliseconds>(options_.interval) + kListTimeout,
      [this](std::string_view line) { OnWatchLine(line); },
      [this](K8sResponse r) { OnWatchDone(std::move(r)); });
}

void K8sDiscovery::OnWatchLine(std::string_view line) {
  if (watch_failed_ || stopped_) return;
  auto ev = ParseWatchEvent(line, options_.annotation_prefix);
  if (!ev.ok()) {
    // An event may be lost: list again rather than trust the rest of this stream.
    watch_failed_ = true;
    client_.Cancel();
    return Fail("watch: " + ev.status().message());
  }
  if (ev->type == K8sEventType::kError) {
    watch_failed_ = true;
    client_.Cancel();
    if (ev->code == 410) {
      ++counters_.relists_gone;
      spdlog::info("kubernetes discovery: resourceVersion {} expired (410 Gone); listing again",
                   resource_version_);
      resource_version_.clear();
      asio::post(io_, [this] { List(); });
      return;
    }
    return Fail("watch: ERROR " + std::to_string(ev->code) + " " + ev->message);
  }
  ++counters_.watch_events;
  if (!ev->slice.resource_version.empty()) resource_version_ = ev->slice.resource_version;
  switch (ev->type) {
    case K8sEventType::kAdded:
    case K8sEventType::kModified:
      slices_[ev->slice.name] = std::move(ev->slice);
      break;
    case K8sEventType::kDeleted:
      slices_.erase(ev->slice.name);
      break;
    default:
      return;  // a bookmark only moves the resourceVersion
  }
  Reconcile();
}

void K8sDiscovery::OnWatchDone(K8sResponse r) {
  if (stopped_ || watch_failed_) return;
  if (!r.status.ok()) return Fail("watch: " + r.status.message());
  if (r.http_status == 410) {
    ++counters_.relists_gone;
    resource_version_.clear();
    return List();
  }
  if (r.http_status != 200) {
    return Fail("watch: HTTP " + std::to_string(r.http_status) + " " + FirstLine(r.body));
  }
  backoff_ = milliseconds(0);
  Watch();  // the server ended the watch (timeoutSeconds): resume from the last version
}

void K8sDiscovery::Fail(const std::string& what, bool gone) {
  if (stopped_) return;
  if (gone) {
    ++counters_.relists_gone;
    resource_version_.clear();
  } else {
    ++counters_.errors;
  }
  const milliseconds cap =
      std::max(kInitialBackoff,
               std::min(kMaxBackoff, std::chrono::duration_cast<milliseconds>(options_.interval)));
  backoff_ = backoff_.count() == 0 ? kInitialBackoff : std::min(cap, backoff_ * 2);
  std::uniform_int_distribution<int64_t> jitter(0, backoff_.count() / 4);
  const milliseconds delay = backoff_ + milliseconds(jitter(rng_));
  spdlog::warn("kubernetes discovery: {}; listing again in {} ms", what, delay.count());
  retry_timer_->Arm(delay, [this](bool expired) {
    if (expired) List();
  });
}

void K8sDiscovery::PostVia(const std::shared_ptr<Gate>& gate, std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(gate->mu);
  if (gate->io) asio::post(*gate->io, std::move(fn));
}

void K8sDiscovery::ArmReconcile() {
  reconcile_timer_->Arm(options_.interval, [this](bool expired) {
    if (!expired || stopped_) return;
    Reconcile();
    ArmReconcile();
  });
}

void K8sDiscovery::Reconcile() {
  if (stopped_ || !listed_) return;
  if (reconciling_) {
    reconcile_again_ = true;
    return;
  }
  reconciling_ = true;
  peers_.ListPeers([this, gate = gate_](std::vector<PeerView> views) {
    PostVia(gate, [this, views = std::move(views)] {
      reconciling_ = false;
      if (stopped_) return;
      std::set<std::string> connected;
      for (const auto& v : views) {
        if (v.connected) connected.insert(v.endpoint_id);
      }
      const auto desired =
          DesiredPeers(slices_, options_.own_pod, options_.own_endpoint_id, options_.derive);
      counters_.pods = desired.size();
      const K8sReconcilePlan plan = PlanReconcile(desired, proposed_, connected, dialing_);
      SaveState();
      for (const std::string& id : plan.drops) {
        ++counters_.drops;
        spdlog::info("kubernetes discovery: peer {} is no longer listed; dropping it",
                     ShortEndpointId(id));
        peers_.DisconnectPeer(id, [](Status) {});
      }
      for (const std::string& id : plan.dials) {
        const K8sPeer& peer = desired.at(id);
        dialing_.insert(id);
        ++counters_.dials;
        spdlog::info("kubernetes discovery: dialing pod {} ({}) at {}", peer.pod_name,
                     ShortEndpointId(id), peer.addresses.front());
        peers_.ConnectPeer(id, peer.addresses,
                           [this, gate = gate_, id, pod = peer.pod_name](Status s) {
                             PostVia(gate, [this, id, pod, s] {
                               dialing_.erase(id);
                               if (!s.ok()) {
                                 spdlog::info("kubernetes discovery: pod {} ({}) not reached: {}",
                                              pod, ShortEndpointId(id), s.ToString());
                               }
                               // A pod that left while the dial was in flight: the dial registered
                               // it; drop it.
                               if (!proposed_.count(id)) peers_.DisconnectPeer(id, [](Status) {});
                             });
                           });
      }
      if (reconcile_again_) {
        reconcile_again_ = false;
        Reconcile();
      }
    });
  });
}

void K8sDiscovery::AppendMetrics(const K8sDiscovery* d, std::string& out) {
  const K8sDiscoveryCounters zero;
  const K8sDiscoveryCounters& c = d ? d->counters_ : zero;
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    uint64_t value;
  };
  const Family families[] = {
      {"peat_discovery_kubernetes_pods", "gauge",
       "Pods the watched EndpointSlices list as peers (self excluded).", c.pods.load()},
      {"peat_discovery_kubernetes_lists_total", "counter", "EndpointSlice lists answered.",
       c.lists.load()},
      {"peat_discovery_kubernetes_watch_events_total", "counter",
       "EndpointSlice watch events applied (bookmarks included).", c.watch_events.load()},
      {"peat_discovery_kubernetes_relists_total", "counter",
       "Lists started again because the resourceVersion expired (410 Gone).",
       c.relists_gone.load()},
      {"peat_discovery_kubernetes_errors_total", "counter",
       "Failed API server calls and answers that were not the expected JSON.", c.errors.load()},
      {"peat_discovery_kubernetes_dials_total", "counter", "Pods dialed (ConnectPeer).",
       c.dials.load()},
      {"peat_discovery_kubernetes_drops_total", "counter",
       "Pods dropped because they left the EndpointSlices (DisconnectPeer).", c.drops.load()},
  };
  for (const Family& f : families) {
    AppendMetricHeader(out, f.name, f.type, f.help);
    AppendSample(out, f.name, "", static_cast<double>(f.value));
  }
}

}  // namespace peat::discovery

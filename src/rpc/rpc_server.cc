#include "rpc/rpc_server.h"

#include <boost/asio/post.hpp>

#include "rpc/io_context_pool.h"

namespace peat::rpc {

RpcServer::RpcServer(ServerOptions options, const MethodTable& methods, MetricsRegistry& registry,
                     OpsHooks ops)
    : options_(std::move(options)),
      streams_(&metrics_.open_streams),
      router_(methods, options_.router, metrics_, streams_, std::move(ops)),
      pool_(std::make_unique<IoContextPool>(options_.io_threads)) {
  context_.settings = options_.connection;
  context_.settings.max_body_bytes = router_.max_body_bytes();
  context_.router = &router_;
  context_.metrics = &metrics_;
  context_.on_established = [this](const std::shared_ptr<Connection>& conn) {
    std::lock_guard lock(mu_);
    // Forget closed connections now and then so the list stays proportional to open ones.
    if (connections_.size() > 2 * slots_in_use_ + 16) {
      std::erase_if(connections_, [](const auto& w) { return w.expired(); });
    }
    connections_.push_back(conn);
  };
  registry.AddCollector([this](std::string& out) { metrics_.AppendPrometheus(out); });
}

RpcServer::~RpcServer() { Stop(); }

Status RpcServer::Start() {
  for (const auto& ep : options_.listen) {
    auto listener = std::make_shared<Listener>(
        pool_->First(), *pool_, context_, [this] { return AcquireSlot(); },
        [this] {
          std::lock_guard lock(mu_);
          return !stopped_ && slots_in_use_ < options_.max_connections;
        });
    PEAT_RETURN_IF_ERROR(listener->Bind(ep));
    listeners_.push_back(std::move(listener));
  }
  pool_->Start();
  for (auto& l : listeners_) l->StartAccepting();
  return Status::Ok();
}

std::vector<std::string> RpcServer::bound_addresses() const {
  std::vector<std::string> out;
  for (const auto& l : listeners_) out.push_back(l->bound_address());
  return out;
}

std::shared_ptr<ConnectionSlot> RpcServer::AcquireSlot() {
  std::lock_guard lock(mu_);
  if (stopped_ || slots_in_use_ >= options_.max_connections) return nullptr;
  ++slots_in_use_;
  return std::make_shared<ConnectionSlot>([this] { ReleaseSlot(); });
}

void RpcServer::ReleaseSlot() {
  bool resume;
  {
    std::lock_guard lock(mu_);
    --slots_in_use_;
    resume = !stopped_;
  }
  cv_.notify_all();
  if (resume) {
    // Listeners run on the first io_context; Resume() serves a parked connection first.
    for (auto& l : listeners_) {
      boost::asio::post(pool_->First(), [l] { l->Resume(); });
    }
  }
}

size_t RpcServer::open_connections() const {
  std::lock_guard lock(mu_);
  return slots_in_use_;
}

void RpcServer::BeginDrain() {
  for (auto& l : listeners_) l->Close();
  // End server streams first (OK status), then drain connections; both are posted to each
  // connection's executor in this order.
  streams_.EndAll();
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    for (auto& w : connections_) {
      if (auto c = w.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live) {
    auto executor = c->executor();
    boost::asio::post(executor, [c = std::move(c)] { c->Drain(); });
  }
}

bool RpcServer::WaitDrained(std::chrono::milliseconds grace) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, grace, [this] { return slots_in_use_ == 0; });
}

void RpcServer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  if (pool_) pool_->Stop();
}

}  // namespace peat::rpc

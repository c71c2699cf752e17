#include "mesh/mesh.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <future>

#include "common/endpoint_id.h"
#include "common/host_port.h"
#include "mesh/peer_address.h"

namespace peat::mesh {

struct ConnectRequest {
  std::string endpoint_id;
  std::vector<std::string> addresses;
  int attempt = 0;
  PeerControl::Done done;
  std::unique_ptr<Timer> timer;  // the gap between attempts
};

namespace {
// While a Drain waits, the peers' state is also rechecked this often (acks and closed sessions
// recheck at once; this catches the rest, e.g. a peer that paused its stream).
constexpr std::chrono::milliseconds kDrainPoll{20};
}  // namespace

Mesh::Mesh(MeshOptions options, std::string endpoint_id, std::string node_id,
           store::ReplicationLog& log, store::PeerStateStore& peers)
    : options_(std::move(options)),
      clock_(*options_.clock),
      endpoint_id_(std::move(endpoint_id)),
      node_id_(std::move(node_id)),
      log_(log),
      peer_store_(peers) {}

Mesh::~Mesh() { Stop(); }

Status Mesh::Start() {
  auto formation = FormationKey::Derive(options_.app_id, options_.shared_key.span());
  if (!formation.ok()) return formation.status();
  formation_key_.emplace(std::move(*formation));
  env_.store = &log_;
  env_.endpoint_id = endpoint_id_;
  env_.node_id = node_id_;
  env_.formation_key = &*formation_key_;
  env_.app_id_hash = AppIdHash(options_.app_id);
  env_.options = options_.session;
  env_.counters = &counters_;
  env_.lanes = BuildPriorityLanes(options_.collection_priorities);
  env_.peer_acked = [this](const std::string& peer, uint64_t seq) { OnPeerAcked(peer, seq); };
  env_.clock = &clock_;
  BlobEngineOptions blob_options;
  blob_options.store = options_.blob_store;
  blob_options.serve_policy = options_.blob_serve_policy;
  blob_options.max_sources = std::max(1, options_.blob_max_sources);
  blob_options.relay_cache_bytes = options_.blob_relay_cache_bytes;
  blob_options.spread_chunks = options_.blob_spread_chunks;
  blob_options.bad_frames = &counters_.blob_bad_frames;
  blob_ = std::make_unique<BlobEngine>(std::move(blob_options), clock_, io_, established_);
  env_.blob_store = options_.blob_store;
  env_.blob_handler = blob_.get();
  env_.accepts_attachments = options_.accepts_attachments;
  env_.pending_states = &pending_states_;
  if (env_.options.relay_offers && env_.options.relay_trees) {
    routes_.emplace(NodeTagOfEndpoint(endpoint_id_));
    env_.routes = &*routes_;
    env_.route_advert = [this](const SessionPtr& session, std::vector<RelayRoute> advert) {
      auto it = established_.find(session->peer_endpoint_id());
      if (it == established_.end() || it->second != session) return;  // a losing duplicate
      if (routes_->SetNeighbour(session->peer_tag(), advert)) PostRouteAdverts();
    };
    env_.relay_ahead = [this](const ReplicationSession& from,
                              const std::vector<store::RemoteChange>& changes) {
      RelayAhead(from, changes);
    };
  }
  env_.session_by_prefix = [this](std::string_view prefix) -> SessionPtr {
    auto it = established_.lower_bound(std::string(prefix));
    if (it == established_.end() || it->first.compare(0, prefix.size(), prefix) != 0) return {};
    return it->second;
  };

  if (!options_.transport_factory) return FailedPreconditionError("mesh: no transport factory");
  auto transport = options_.transport_factory(io_);
  if (!transport.ok()) return transport.status();
  transport_ = std::move(*transport);

  auto bound = transport_->Listen(
      options_.listen_ip, options_.listen_port,
      [this](std::shared_ptr<MeshConnection> connection) {
        AdoptConnection(std::move(connection), nullptr);
      },
      [this](const std::string& reason, const Status& why) {
        counters_.HandshakeFailed(reason);
        spdlog::warn("mesh handshake failed: reason={} (inbound): {}", reason, why.ToString());
      });
  if (!bound.ok()) {
    return Status(bound.status().code(), "mesh listener tcp://" + options_.listen_ip + ":" +
                                             std::to_string(options_.listen_port) + ": " +
                                             bound.status().message());
  }
  listen_address_ = *bound;
  spdlog::info("mesh listening on tcp://{}", listen_address_);

  sync_active_.store(options_.auto_sync);
  feed_observer_id_ = log_.AddFeedObserver([this](uint64_t) { PostFeedAdvanced(); });

  // Registry: persisted peers (ConnectPeer of earlier runs), then static ones (re-registered at
  // every boot; a persisted entry of the same id takes the static addresses).
  auto persisted = peer_store_.ListPeerRecords();
  if (!persisted.ok()) return persisted.status();
  for (auto& r : *persisted) {
    if (r.is_static) continue;  // static peers come from this boot's flags only
    // A record saved by an older build may hold an address today's grammar refuses (a zone id,
    // a bad host character): it is never dialed, and the operator is told once per start.
    for (const auto& address : r.addresses) {
      if (auto parsed = ParseHostPort(address); !parsed.ok()) {
        spdlog::warn("mesh peer {}: saved address is not dialed: {}",
                     ShortEndpointId(r.endpoint_id), parsed.status().message());
      }
    }
    RegisterOnLoop(std::move(r), /*persist=*/false);
  }
  for (auto r : options_.static_peers) {
    r.is_static = true;
    RegisterOnLoop(std::move(r), /*persist=*/false);
  }

  drain_poll_ = clock_.MakeTimer(io_);
  work_.emplace(io_.get_executor());
  std::promise<void> loop_exited;
  loop_exited_ = loop_exited.get_future();
  thread_ = std::thread([this, loop_exited = std::move(loop_exited)]() mutable {
    pthread_setname_np(pthread_self(), "peat-mesh");
    io_.run();
    loop_exited.set_value();
  });
  return Status::Ok();
}

void Mesh::Stop() {
  if (stopped_.exchange(true)) return;
  if (feed_observer_id_ != 0) log_.RemoveFeedObserver(feed_observer_id_);
  if (thread_.joinable()) {
    std::promise<void> closed;
    boost::asio::post(io_, [this, &closed] {
      for (auto& [id, peer] : registered_) {
        if (peer.timer) peer.timer->Cancel();
      }
      connect_gaps_.clear();  // their timers go with them; those callers get no answer
      auto drains = std::move(drains_);
      drains_.clear();
      for (auto& [id, waiter] : drains) waiter.done(false);
      if (drain_poll_) drain_poll_->Cancel();
      if (blob_) blob_->Shutdown();
      for (const auto& s : std::vector<SessionPtr>(sessions_.begin(), sessions_.end())) {
        s->Close("shutdown");
      }
      if (transport_) transport_->Stop();
      closed.set_value();
    });
    closed.get_future().wait();
    work_.reset();
    // Closing connections flush briefly: the loop ends by itself when they are done; bounded
    // (in real time, whatever the mesh clock).
    loop_exited_.wait_for(std::chrono::seconds(3));
    io_.stop();
    thread_.join();
  }
  sessions_.clear();
  established_.clear();
  registered_.clear();
  transport_.reset();
}

bool Mesh::Drain(Clock::TimePoint deadline) {
  auto result = std::make_shared<std::promise<bool>>();
  auto answer = result->get_future();
  DrainAsync(deadline, [result](bool caught_up) { result->set_value(caught_up); });
  // The deadline timer answers by `deadline`; this real-time bound only covers a wedged loop.
  const auto bound =
      std::max(deadline - clock_.Now(), Clock::Duration::zero()) + std::chrono::seconds(2);
  if (answer.wait_for(bound) != std::future_status::ready) return false;
  return answer.get();
}

void Mesh::DrainAsync(Clock::TimePoint deadline, std::function<void(bool)> done) {
  if (stopped_.load() || !thread_.joinable()) return done(true);
  boost::asio::post(io_, [this, deadline, done = std::move(done)]() mutable {
    if (stopped_.load() || OutboundCaughtUp()) return done(true);  // Stop() raced us
    const uint64_t id = next_drain_id_++;
    auto& waiter = drains_[id];
    waiter.done = std::move(done);
    waiter.deadline = clock_.MakeTimer(io_);
    waiter.deadline->Arm(deadline - clock_.Now(), [this, id](bool expired) {
      if (expired) FinishDrain(id, false);
    });
    if (drains_.size() == 1) {
      drain_poll_->Arm(kDrainPoll, [this](bool expired) {
        if (expired) CheckDrains();
      });
    }
  });
}

bool Mesh::OutboundCaughtUp() const {
  for (const auto& [id, s] : established_) {
    if (!s->OutboundCaughtUp()) return false;
  }
  return true;
}

// Answers every pending Drain if the peers caught up; keeps polling while some wait.
void Mesh::CheckDrains() {
  if (drains_.empty()) return;
  if (!OutboundCaughtUp()) {
    drain_poll_->Arm(kDrainPoll, [this](bool expired) {
      if (expired) CheckDrains();
    });
    return;
  }
  drain_poll_->Cancel();
  std::vector<uint64_t> ids;
  for (const auto& [id, waiter] : drains_) ids.push_back(id);
  for (uint64_t id : ids) FinishDrain(id, true);
}

void Mesh::FinishDrain(uint64_t id, bool caught_up) {
  auto it = drains_.find(id);
  if (it == drains_.end()) return;
  DrainWaiter waiter = std::move(it->second);
  drains_.erase(it);
  if (drains_.empty()) drain_poll_->Cancel();
  waiter.deadline->Cancel();
  waiter.done(caught_up);
}

template <typename T>
T Mesh::RunOnLoop(std::function<T()> fn, T fallback) const {
  if (stopped_.load() || !thread_.joinable()) return fallback;
  auto task = std::make_shared<std::packaged_task<T()>>(std::move(fn));
  auto result = task->get_future();
  boost::asio::post(io_, [task] { (*task)(); });
  if (result.wait_for(std::chrono::seconds(2)) != std::future_status::ready) return fallback;
  return result.get();
}

// --- Registry and dialing -------------------------------------------------------------------

void Mesh::RegisterOnLoop(store::PeerRecord record, bool persist) {
  const std::string id = record.endpoint_id;
  auto [it, inserted] = registered_.try_emplace(id);
  auto& peer = it->second;
  if (inserted) {
    peer.backoff = std::make_unique<Backoff>(options_.redial_initial, options_.redial_max,
                                             std::hash<std::string>{}(id) ^ next_seed_++);
    peer.timer = clock_.MakeTimer(io_);
  }
  const bool was_static = !inserted && peer.record.is_static;
  peer.record = std::move(record);
  peer.record.is_static = peer.record.is_static || was_static;
  if (persist && !peer.record.is_static) {
    peer_store_.SavePeer(peer.record, [id](Status s) {
      if (!s.ok())
        spdlog::warn("mesh: persisting peer {} failed: {}", ShortEndpointId(id), s.ToString());
    });
  }
  if (!established_.count(id)) ScheduleRedial(id, std::chrono::milliseconds(0));
}

void Mesh::ScheduleRedial(const std::string& endpoint_id, std::chrono::milliseconds delay) {
  auto it = registered_.find(endpoint_id);
  if (it == registered_.end() || stopped_.load()) return;
  it->second.timer->Arm(delay, [this, endpoint_id](bool expired) {
    if (expired) RedialNow(endpoint_id);
  });
}

std::chrono::milliseconds Mesh::NextRedialDelay(RegisteredPeer& peer) {
  auto delay = peer.backoff->Next();
  const auto cap = options_.redial_after_loss_max;
  if (peer.lost_at && clock_.Now() - *peer.lost_at < options_.recent_loss_window && delay > cap) {
    // Equal jitter within the cap, like the backoff's own: peers that lost one link together do
    // not redial in step.
    std::uniform_int_distribution<int64_t> jitter(cap.count() / 2, cap.count());
    delay = std::chrono::milliseconds(jitter(jitter_rng_));
  }
  return delay;
}

void Mesh::RedialNow(const std::string& endpoint_id) {
  auto it = registered_.find(endpoint_id);
  if (it == registered_.end() || it->second.dialing || established_.count(endpoint_id)) return;
  it->second.dialing = true;
  DialAddresses(endpoint_id, OrderAddresses(it->second.record.addresses), 0,
                UnavailableError("no address"), [this, endpoint_id](Status status) {
                  auto it = registered_.find(endpoint_id);
                  if (it == registered_.end()) return;
                  it->second.dialing = false;
                  if (status.ok()) {
                    it->second.backoff->Reset();
                    return;
                  }
                  if (established_.count(endpoint_id)) return;  // it dialed us meanwhile
                  auto delay = NextRedialDelay(it->second);
                  spdlog::info("mesh peer {}: {}; redial in {} ms", ShortEndpointId(endpoint_id),
                               status.message(), delay.count());
                  ScheduleRedial(endpoint_id, delay);
                });
}

void Mesh::DialAddresses(std::string endpoint_id, std::vector<std::string> addresses, size_t index,
                         Status last_error, DialDone done) {
  if (stopped_.load()) return done(UnavailableError("mesh stopped"));
  if (index >= addresses.size()) return done(std::move(last_error));
  const std::string address = addresses[index];
  transport_->Dial(
      address, endpoint_id, options_.dial_timeout,
      [this, endpoint_id, addresses = std::move(addresses), index,
       done = std::move(done)](StatusOr<std::shared_ptr<MeshConnection>> conn) mutable {
        if (!conn.ok()) {
          if (conn.status().code() == StatusCode::kPermissionDenied) {
            counters_.HandshakeFailed("identity_mismatch");
            spdlog::warn("mesh handshake failed: reason=identity_mismatch peer={} addr={}: {}",
                         ShortEndpointId(endpoint_id), addresses[index], conn.status().message());
            return done(conn.status());
          }
          return DialAddresses(std::move(endpoint_id), std::move(addresses), index + 1,
                               conn.status(), std::move(done));
        }
        AdoptConnection(std::move(*conn), std::move(done));
      });
}

Mesh::SessionPtr Mesh::AdoptConnection(std::shared_ptr<MeshConnection> connection,
                                       DialDone handshake_done) {
  if (stopped_.load()) {
    connection->Close("shutdown");
    if (handshake_done) handshake_done(UnavailableError("mesh stopped"));
    return nullptr;
  }
  ReplicationSession::Callbacks cb;
  cb.on_established = [this](const SessionPtr& s) { OnEstablished(s); };
  cb.on_closed = [this](const SessionPtr& s, const Status& why, const std::string& failure) {
    OnSessionClosed(s, why, failure);
  };
  auto session =
      std::make_shared<ReplicationSession>(io_, env_, std::move(connection), std::move(cb));
  sessions_.insert(session);
  if (handshake_done) handshake_waiters_[session.get()] = std::move(handshake_done);
  session->Start(sync_active_.load());
  return session;
}

void Mesh::OnEstablished(const SessionPtr& session) {
  const std::string& peer = session->peer_endpoint_id();
  if (peer == endpoint_id_) {
    session->Close("self");
    return;
  }
  auto it = established_.find(peer);
  if (it != established_.end() && it->second != session) {
    const SessionPtr& old = it->second;
    bool keep_new;
    if (old->dialer_endpoint_id() != session->dialer_endpoint_id()) {
      keep_new = session->dialer_endpoint_id() < old->dialer_endpoint_id();
    } else {
      keep_new = session->serial() > old->serial();
    }
    if (!keep_new) {
      // Our dial raced theirs and lost: the peer is connected, which is what the dial wanted.
      auto waiter = handshake_waiters_.find(session.get());
      if (waiter != handshake_waiters_.end()) {
        auto done = std::move(waiter->second);
        handshake_waiters_.erase(waiter);
        done(Status::Ok());
      }
      session->Close("duplicate");
      return;
    }
    SessionPtr loser = old;
    established_.erase(it);
    loser->Close("duplicate");
  }
  established_[peer] = session;
  UpdateConnectedCount();
  if (options_.member_acks && options_.member_acks->AddMember(peer)) {
    ack_persistence_[peer];
    PersistMemberAck(peer);  // a member from now on, across restarts
  }
  const std::string cc = session->congestion_control();
  spdlog::info("mesh peer {} connected ({} {}, node {}, tcp {})", ShortEndpointId(peer),
               session->is_dialer() ? "dialed" : "accepted", session->remote_address(),
               session->peer_node_id(), cc.empty() ? "n/a" : cc);
  if (auto r = registered_.find(peer); r != registered_.end()) r->second.backoff->Reset();
  RedialSoonAfterReconnect(peer);
  blob::BlobPeerInfo info{peer, session->peer_node_id(), true, session->peer_accepts_attachments()};
  blob_peers_seen_[peer] = info;
  blob_->OnSessionEstablished(session);
  if (peer_established_observer_) peer_established_observer_(info);
  auto waiter = handshake_waiters_.find(session.get());
  if (waiter != handshake_waiters_.end()) {
    auto done = std::move(waiter->second);
    handshake_waiters_.erase(waiter);
    done(Status::Ok());
  }
}

// A session just came up: the network may be back (a partition healed, a radio link returned).
// Registered peers that are down and would otherwise wait out a long backoff (up to 60 s) are
// redialed within a second instead. Rare (one per new session), so it cannot storm.
void Mesh::RedialSoonAfterReconnect(const std::string& connected_peer) {
  const auto soon = std::chrono::milliseconds(1'000);
  const auto now = clock_.Now();
  for (auto& [id, peer] : registered_) {
    if (id == connected_peer || peer.dialing || established_.count(id)) continue;
    if (peer.timer->expiry() <= now + soon) continue;
    peer.backoff->Reset();
    std::uniform_int_distribution<int> jitter(100, static_cast<int>(soon.count()));
    ScheduleRedial(id, std::chrono::milliseconds(jitter(jitter_rng_)));
  }
}

void Mesh::OnSessionClosed(const SessionPtr& session, const Status& why,
                           const std::string& handshake_failure) {
  sessions_.erase(session);
  closed_bytes_sent_ += session->wire_bytes_acked();
  closed_bytes_received_ += session->wire_bytes_received();
  auto& totals = peer_closed_bytes_[session->peer_endpoint_id()];
  totals.first += session->wire_bytes_acked();
  totals.second += session->wire_bytes_received();
  auto waiter = handshake_waiters_.find(session.get());
  if (waiter != handshake_waiters_.end()) {
    auto done = std::move(waiter->second);
    handshake_waiters_.erase(waiter);
    if (!handshake_failure.empty()) {
      done(PermissionDeniedError("formation handshake refused (" + handshake_failure + ")"));
    } else {
      done(UnavailableError("connection closed during the handshake: " + why.message()));
    }
  }
  const std::string peer = session->peer_endpoint_id();
  auto it = established_.find(peer);
  if (it == established_.end()) {
    if (session->established() && blob_) blob_->OnSessionClosed(session);  // DisconnectPeer
    return;
  }
  if (it->second != session) return;
  established_.erase(it);
  blob_->OnSessionClosed(session);
  UpdateConnectedCount();
  CheckDrains();  // a peer that went away no longer holds a Drain up
  spdlog::info("mesh peer {} disconnected: {}", ShortEndpointId(peer), why.message());
  if (registered_.count(peer) && !stopped_.load()) {
    registered_[peer].lost_at = clock_.Now();
    ScheduleRedial(peer, NextRedialDelay(registered_[peer]));
  }
}

void Mesh::OnPeerAcked(const std::string& peer, uint64_t seq) {
  CheckDrains();
  if (!options_.member_acks || !options_.member_acks->Acknowledge(peer, seq)) return;
  auto& p = ack_persistence_[peer];
  p.wanted = std::max(p.wanted, seq);
  PersistMemberAck(peer);
}

// Persists the latest acknowledged position of `peer`, one write in flight per peer (a fast
// stream of acks becomes a few writes). Losing the latest value in a crash is safe: a lower
// stored position only delays purges.
void Mesh::PersistMemberAck(const std::string& peer) {
  auto& p = ack_persistence_[peer];
  if (p.in_flight || stopped_.load()) return;
  p.in_flight = true;
  const uint64_t seq = p.wanted;
  peer_store_.SaveMemberAck(peer, seq, [this, peer, seq](Status s) {
    if (!s.ok())
      spdlog::warn("mesh: persisting peer {}'s ack failed: {}", ShortEndpointId(peer),
                   s.ToString());
    boost::asio::post(io_, [this, peer, seq] {
      auto& p = ack_persistence_[peer];
      p.in_flight = false;
      if (p.wanted > seq) PersistMemberAck(peer);
    });
  });
}

void Mesh::UpdateConnectedCount() {
  connected_count_.store(static_cast<uint32_t>(established_.size()));
  SyncRouteNeighbours();
}

std::optional<uint64_t> Mesh::RelayParent(uint64_t origin) const {
  return RunOnLoop<std::optional<uint64_t>>(
      [this, origin]() -> std::optional<uint64_t> {
        return routes_ ? routes_->Parent(origin) : std::nullopt;
      },
      std::nullopt);
}

bool Mesh::NamedParentBy(const std::string& peer, uint64_t origin) const {
  return RunOnLoop<bool>(
      [this, &peer, origin] {
        return routes_ && routes_->NamesUsParent(NodeTagOfEndpoint(peer), origin);
      },
      false);
}

void Mesh::SyncRouteNeighbours() {
  if (!routes_) return;
  std::set<uint64_t> now;
  for (const auto& [id, s] : established_) now.insert(s->peer_tag());
  for (uint64_t n : routes_->neighbours()) {
    if (!now.count(n)) routes_->RemoveNeighbour(n);
  }
  for (uint64_t n : now) {
    if (!routes_->HasNeighbour(n)) routes_->SetNeighbour(n, {});
  }
  // Always: a new session needs our routes even when the table did not change (a duplicate
  // replaced, a peer back with the same neighbours).
  PostRouteAdverts();
}

void Mesh::RelayAhead(const ReplicationSession& from,
                      const std::vector<store::RemoteChange>& changes) {
  std::vector<uint64_t> writers;
  writers.reserve(changes.size());
  for (const auto& c : changes) writers.push_back(WriterTag(c.state));
  for (const auto& [id, s] : established_) {
    if (s.get() == &from || s->closed()) continue;
    std::vector<store::RemoteChange> theirs;
    for (size_t i = 0; i < changes.size(); ++i) {
      if (writers[i] != 0 && writers[i] != s->peer_tag() &&
          routes_->NamesUsParent(s->peer_tag(), writers[i])) {
        theirs.push_back(changes[i]);
      }
    }
    if (!theirs.empty()) s->SendAhead(std::move(theirs));
  }
}

void Mesh::PostRouteAdverts() {
  if (!routes_ || adverts_posted_) return;
  adverts_posted_ = true;
  boost::asio::post(io_, [this] {
    adverts_posted_ = false;
    for (const auto& [id, s] : established_) s->SendRouteAdvert();
  });
}

void Mesh::PostFeedAdvanced() {
  // The writer thread must not block, and a burst of commits needs one wake-up, not one each.
  if (feed_posted_.exchange(true)) return;
  boost::asio::post(io_, [this] {
    feed_posted_.store(false);
    OnFeedAdvanced();
  });
}

void Mesh::OnFeedAdvanced() {
  for (const auto& [id, s] : established_) s->OnFeedAdvanced();
}

// --- PeerControl ----------------------------------------------------------------------------

void Mesh::ConnectPeer(std::string endpoint_id, std::vector<std::string> addresses, Done done) {
  if (!IsValidEndpointId(endpoint_id)) {
    return done(InvalidArgumentError("endpoint_id must be 64 lowercase hex characters"));
  }
  if (endpoint_id == endpoint_id_) {
    return done(InvalidArgumentError("endpoint_id is this node's own id"));
  }
  auto ordered = OrderAddresses(addresses);
  if (ordered.empty()) {
    // Every address is refused by ParseHostPort (the --peer grammar): say why for the first.
    const std::string why = addresses.empty() ? std::string("none given")
                                              : ParseHostPort(addresses.front()).status().message();
    return done(InvalidArgumentError("addresses: no usable address: " + why));
  }
  auto req = std::make_shared<ConnectRequest>();
  req->endpoint_id = std::move(endpoint_id);
  req->addresses = std::move(ordered);
  req->done = std::move(done);
  boost::asio::post(io_, [this, req] {
    req->timer = clock_.MakeTimer(io_);
    ConnectAttempt(req);
  });
}

void Mesh::ConnectAttempt(std::shared_ptr<ConnectRequest> req) {
  auto finish_ok = [this, req] {
    store::PeerRecord record{req->endpoint_id, req->addresses, false};
    auto existing = registered_.find(req->endpoint_id);
    if (existing != registered_.end() && existing->second.record.is_static) record.is_static = true;
    const bool persist = !record.is_static;
    RegisterOnLoop(record, false);
    if (!persist) return req->done(Status::Ok());
    // Answer once the registration is durable: a restart right after OK still redials it.
    peer_store_.SavePeer(std::move(record), [this, req](Status s) {
      boost::asio::post(io_, [req, s] { req->done(s); });
    });
  };
  if (established_.count(req->endpoint_id)) return finish_ok();
  ++req->attempt;
  DialAddresses(req->endpoint_id, req->addresses, 0, UnavailableError("no address"),
                [this, req, finish_ok](Status status) {
                  if (status.ok()) return finish_ok();
                  if (status.code() == StatusCode::kPermissionDenied ||
                      req->attempt >= options_.connect_attempts || stopped_.load()) {
                    return req->done(std::move(status));
                  }
                  connect_gaps_.insert(req);
                  std::weak_ptr<ConnectRequest> weak = req;
                  req->timer->Arm(options_.connect_attempt_gap, [this, weak](bool expired) {
                    auto req = weak.lock();
                    if (!req) return;  // the mesh stopped
                    connect_gaps_.erase(req);
                    if (!expired) return req->done(UnavailableError("mesh stopped"));
                    ConnectAttempt(req);
                  });
                });
}

void Mesh::DisconnectPeer(std::string endpoint_id, Done done) {
  boost::asio::post(io_, [this, endpoint_id = std::move(endpoint_id), done = std::move(done)] {
    if (auto it = registered_.find(endpoint_id); it != registered_.end()) {
      it->second.timer->Cancel();
      registered_.erase(it);
    }
    if (auto it = established_.find(endpoint_id); it != established_.end()) {
      SessionPtr s = it->second;
      established_.erase(it);
      UpdateConnectedCount();
      s->Close("disconnected by request");
      CheckDrains();
    }
    for (const auto& s : std::vector<SessionPtr>(sessions_.begin(), sessions_.end())) {
      if (s->peer_endpoint_id() == endpoint_id) s->Close("disconnected by request");
    }
    if (options_.member_acks) {
      options_.member_acks->RemoveMember(endpoint_id);
      peer_store_.RemoveMember(endpoint_id, [](Status) {});
    }
    // Always remove: a persisted record may exist from an earlier run even if not loaded.
    peer_store_.RemovePeer(
        endpoint_id, [this, done](Status s) { boost::asio::post(io_, [done, s] { done(s); }); });
  });
}

void Mesh::ListPeers(std::function<void(std::vector<PeerView>)> done) {
  boost::asio::post(io_, [this, done = std::move(done)] {
    std::map<std::string, PeerView> views;
    const uint64_t head = log_.LastSeq();
    const Clock::TimePoint now = clock_.Now();
    for (const auto& [id, s] : established_) {
      PeerLink link;
      if (s->outbound_active() && head > s->outbound_acked()) {
        link.unacked_changes = head - s->outbound_acked();
      }
      if (s->peer_last_seq() > s->inbound_checkpoint()) {
        link.unmerged_changes = s->peer_last_seq() - s->inbound_checkpoint();
      }
      if (s->last_contact() != Clock::TimePoint{}) {
        link.last_contact_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(now - s->last_contact()).count();
      }
      if (auto srtt = s->liveness().srtt()) {
        link.rtt_ms = std::chrono::duration<double, std::milli>(*srtt).count();
      }
      link.bytes_sent = s->wire_bytes_acked();
      link.bytes_received = s->wire_bytes_received();
      views[id] = PeerView{id, {s->remote_address()}, true, link};
    }
    for (const auto& [id, peer] : registered_) {
      if (!views.count(id)) views[id] = PeerView{id, peer.record.addresses, false, std::nullopt};
    }
    std::vector<PeerView> out;
    out.reserve(views.size());
    for (auto& [id, v] : views) out.push_back(std::move(v));
    done(std::move(out));
  });
}

void Mesh::SetSyncActive(bool active) {
  if (sync_active_.exchange(active) == active) return;
  spdlog::info("mesh sync {}", active ? "started" : "stopped");
  if (options_.on_sync_changed) options_.on_sync_changed(active);
  boost::asio::post(io_, [this, active] {
    for (const auto& s : std::vector<SessionPtr>(sessions_.begin(), sessions_.end())) {
      s->SetSyncActive(active);
    }
    CheckDrains();  // a paused stream has nothing to drain
  });
}

void Mesh::GetSyncStats(std::function<void(SyncStats)> done) {
  boost::asio::post(io_, [this, done = std::move(done)] {
    SyncStats s;
    s.sync_active = sync_active_.load();
    s.connected_peers = static_cast<uint32_t>(established_.size());
    s.bytes_sent = closed_bytes_sent_;
    s.bytes_received = closed_bytes_received_;
    for (const auto& session : sessions_) {
      s.bytes_sent += session->wire_bytes_acked();
      s.bytes_received += session->wire_bytes_received();
    }
    done(s);
  });
}

// --- BlobTransfer ---------------------------------------------------------------------------

blob::BlobTransfer::FetchId Mesh::Fetch(blob::FetchRequest request, ProgressFn progress,
                                        DoneFn done) {
  const FetchId id = next_fetch_id_.fetch_add(1);
  if (stopped_.load() || !thread_.joinable()) {
    done(UnavailableError("the mesh is not running"));
    return id;
  }
  boost::asio::post(io_, [this, id, request = std::move(request), progress = std::move(progress),
                          done = std::move(done)]() mutable {
    if (stopped_.load()) return done(CancelledError("mesh stopped"));
    blob_->StartFetch(id, std::move(request), std::move(progress), std::move(done));
  });
  return id;
}

void Mesh::CancelFetch(FetchId id) {
  if (stopped_.load() || !thread_.joinable()) return;
  boost::asio::post(io_, [this, id] { blob_->CancelFetch(id); });
}

void Mesh::ListBlobPeers(std::function<void(std::vector<blob::BlobPeerInfo>)> done) {
  boost::asio::post(io_, [this, done = std::move(done)] {
    std::map<std::string, blob::BlobPeerInfo> peers = blob_peers_seen_;
    for (auto& [id, p] : peers) p.connected = false;
    for (const auto& [id, r] : registered_) {
      if (!peers.count(id)) peers[id] = blob::BlobPeerInfo{id, "", false, false};
    }
    for (const auto& [id, s] : established_) {
      peers[id] = blob::BlobPeerInfo{id, s->peer_node_id(), true, s->peer_accepts_attachments()};
    }
    std::vector<blob::BlobPeerInfo> out;
    for (auto& [id, p] : peers) out.push_back(std::move(p));
    done(std::move(out));
  });
}

void Mesh::SetPeerEstablishedObserver(std::function<void(const blob::BlobPeerInfo&)> fn) {
  if (stopped_.load() || !thread_.joinable()) {
    peer_established_observer_ = std::move(fn);  // before Start: no loop yet
    return;
  }
  boost::asio::post(
      io_, [this, fn = std::move(fn)]() mutable { peer_established_observer_ = std::move(fn); });
}

void Mesh::AppendMetrics(std::string& out) const {
  struct PeerSample {
    std::string label;
    bool connected;
    uint64_t sent, received, lag;
    double contact_age;
    double rtt = -1, dead_after = -1;
  };
  auto peers = RunOnLoop<std::vector<PeerSample>>(
      [this] {
        std::map<std::string, PeerSample> by_peer;
        const auto now = clock_.Now();
        for (const auto& [id, totals] : peer_closed_bytes_) {
          by_peer[id] = PeerSample{ShortEndpointId(id), false, totals.first, totals.second, 0, -1};
        }
        for (const auto& [id, p] : registered_) {
          if (!by_peer.count(id)) by_peer[id] = PeerSample{ShortEndpointId(id), false, 0, 0, 0, -1};
        }
        for (const auto& s : sessions_) {
          auto& p = by_peer[s->peer_endpoint_id()];
          p.label = ShortEndpointId(s->peer_endpoint_id());
          p.sent += s->wire_bytes_acked();
          p.received += s->wire_bytes_received();
        }
        for (const auto& [id, s] : established_) {
          auto& p = by_peer[id];
          p.connected = true;
          p.lag = s->peer_last_seq() > s->inbound_checkpoint()
                      ? s->peer_last_seq() - s->inbound_checkpoint()
                      : 0;
          p.contact_age = std::chrono::duration<double>(now - s->last_contact()).count();
          const auto& live = s->liveness();
          if (live.srtt()) p.rtt = std::chrono::duration<double>(*live.srtt()).count();
          p.dead_after = std::chrono::duration<double>(live.DeadAfter()).count();
        }
        std::vector<PeerSample> v;
        for (auto& [id, p] : by_peer) v.push_back(std::move(p));
        return v;
      },
      {});

  AppendMetricHeader(out, "peat_mesh_connected_peers", "gauge",
                     "Peers with an established mesh session.");
  AppendSample(out, "peat_mesh_connected_peers", "", connected_count_.load());
  AppendMetricHeader(out, "peat_mesh_sync_active", "gauge", "1 when document sync is active.");
  AppendSample(out, "peat_mesh_sync_active", "", sync_active_.load() ? 1 : 0);
  auto per_peer = [&](const char* name, const char* type, const char* help, auto value) {
    AppendMetricHeader(out, name, type, help);
    for (const auto& p : peers) {
      const double v = value(p);
      if (v < 0) continue;
      AppendSample(out, name, "peer=\"" + p.label + "\"", v);
    }
  };
  per_peer("peat_mesh_peer_connected", "gauge", "1 while the peer's session is established.",
           [](const PeerSample& p) { return p.connected ? 1.0 : 0.0; });
  per_peer("peat_mesh_bytes_sent_total", "counter",
           "Mesh wire bytes sent to the peer and acknowledged by it (TCP).",
           [](const PeerSample& p) { return static_cast<double>(p.sent); });
  per_peer("peat_mesh_bytes_received_total", "counter", "Mesh wire bytes received from the peer.",
           [](const PeerSample& p) { return static_cast<double>(p.received); });
  per_peer("peat_mesh_replication_lag", "gauge",
           "The peer's change-feed head minus our checkpoint of it (changes not merged yet).",
           [](const PeerSample& p) { return p.connected ? static_cast<double>(p.lag) : -1.0; });
  per_peer("peat_mesh_last_contact_age_seconds", "gauge",
           "Seconds since anything was received from the peer.",
           [](const PeerSample& p) { return p.contact_age; });
  per_peer("peat_mesh_peer_rtt_seconds", "gauge",
           "Smoothed round-trip time of the peer's Ping/Pong (as the session sees it).",
           [](const PeerSample& p) { return p.rtt; });
  per_peer("peat_mesh_peer_dead_after_seconds", "gauge",
           "Silence after which the peer's link is declared dead (adapted to its RTT).",
           [](const PeerSample& p) { return p.dead_after; });
  AppendMetricHeader(out, "peat_mesh_handshake_failures_total", "counter",
                     "Mesh connections refused or failed before documents could flow, by reason.");
  for (const auto& [reason, n] : counters_.handshake_failures()) {
    AppendSample(out, "peat_mesh_handshake_failures_total", "reason=\"" + reason + "\"",
                 static_cast<double>(n));
  }
  auto counter = [&](const char* name, const char* help, const Counter& c) {
    AppendMetricHeader(out, name, "counter", help);
    AppendSample(out, name, "", static_cast<double>(c.Value()));
  };
  counter("peat_mesh_sessions_established_total", "Mesh sessions that passed the handshake.",
          counters_.sessions_established);
  counter("peat_mesh_bad_frames_total", "Undecodable or out-of-protocol mesh frames.",
          counters_.bad_frames);
  counter("peat_mesh_batches_sent_total", "Change batches sent.", counters_.batches_sent);
  counter("peat_mesh_batches_received_total", "Change batches received.",
          counters_.batches_received);
  counter("peat_mesh_changes_sent_total",
          "Whole document states sent (in batches and answers to wants).", counters_.changes_sent);
  counter("peat_mesh_changes_received_total",
          "Whole document states received (in batches and answers to wants).",
          counters_.changes_received);
  counter("peat_mesh_offers_sent_total",
          "Relayed document states offered by digest instead of sent whole (relay once).",
          counters_.offers_sent);
  counter("peat_mesh_offers_received_total", "Offers of document states received.",
          counters_.offers_received);
  counter("peat_mesh_states_sent_ahead_total",
          "Relayed document states passed on whole to relay-tree children before this node "
          "merged them (cut-through; also counted in peat_mesh_changes_sent_total).",
          counters_.states_sent_ahead);
  counter("peat_mesh_states_wanted_total",
          "Offered document states this node lacked and asked the offering peer for.",
          counters_.states_wanted);
  counter(
      "peat_mesh_checkpoints_deferred_total",
      "Batches acknowledged with nothing to merge, their checkpoint written later (relay once).",
      counters_.checkpoints_deferred);
  counter("peat_mesh_merge_failures_total", "Received batches the store could not commit.",
          counters_.merge_failures);
  counter("peat_mesh_stalls_total",
          "Inbound streams the watchdog restarted (peer ahead, no progress for 30 s).",
          counters_.stalls);
  counter("peat_mesh_dead_links_total",
          "Sessions ended because the peer fell silent longer than its dead-link bound.",
          counters_.dead_links);
  AppendBlobMetrics(out);
}

void Mesh::AppendBlobMetrics(std::string& out) const {
  const BlobMetrics m = RunOnLoop<BlobMetrics>(
      [this] { return blob_ ? blob_->Metrics() : BlobMetrics{}; }, BlobMetrics{});
  auto by_peer = [&out](const char* name, const char* help,
                        const std::map<std::string, uint64_t>& values) {
    AppendMetricHeader(out, name, "counter", help);
    for (const auto& [peer, v] : values) {
      AppendSample(out, name, "peer=\"" + ShortEndpointId(peer) + "\"", static_cast<double>(v));
    }
  };
  AppendMetricHeader(out, "peat_blob_bytes_sent_total", "counter",
                     "Blob piece bytes served to the peer, by priority class.");
  for (const auto& [key, v] : m.bytes_sent) {
    AppendSample(
        out, "peat_blob_bytes_sent_total",
        "peer=\"" + ShortEndpointId(key.first) + "\",class=\"" + std::to_string(key.second) + "\"",
        static_cast<double>(v));
  }
  by_peer("peat_blob_bytes_received_total", "Blob piece bytes received from the peer.",
          m.bytes_received);
  by_peer("peat_blob_bad_chunks_total",
          "Blob chunks from the peer that did not match the manifest (the peer is banned for "
          "that blob for 60 s).",
          m.bad_chunks);
  AppendMetricHeader(out, "peat_blob_duplicate_bytes_total", "counter",
                     "Blob piece bytes received that were already held or no longer wanted.");
  AppendSample(out, "peat_blob_duplicate_bytes_total", "", static_cast<double>(m.duplicate_bytes));
  AppendMetricHeader(out, "peat_blob_active_fetches", "gauge",
                     "Blob fetches in progress (relays for other peers not counted).");
  AppendSample(out, "peat_blob_active_fetches", "", static_cast<double>(m.active_fetches));
  AppendMetricHeader(out, "peat_blob_bad_frames_total", "counter",
                     "Blob frames with a malformed field (dropped; the session stays up).");
  AppendSample(out, "peat_blob_bad_frames_total", "",
               static_cast<double>(counters_.blob_bad_frames.Value()));
}

}  // namespace peat::mesh

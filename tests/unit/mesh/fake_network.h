// FakeNetwork: an in-memory network of Transports (transport.h) for Mesh tests. Each mesh gets
// its transport from Factory(endpoint_id); Listen binds a made-up "ip:port" in the network, and a
// Dial of a bound address connects a LoopbackConnection pair: the dialer gets its end, the
// listening mesh's accept handler the other (each end on its own mesh's loop). Dialing an address
// nobody listens on fails UNAVAILABLE ("connection refused"), a listener with another key
// PERMISSION_DENIED ("identity mismatch"), as TlsTransport does. Answers are always posted.
//
// The test controls and observes it: HoldDials() parks new dials until ReleaseDials() (to make
// two meshes dial each other at once), DropFrames() makes one side's frames vanish, dials() and
// open_links() tell what happened. Dials are stamped with the (fake) clock's time.
//
// Threading: one mutex; transports call in from their mesh loops, the test from its thread.
// Every mesh using the network must be stopped before any of them is destroyed (a stopped mesh's
// transport is gone, but a running one may still post to its loop).
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/endpoint_id.h"
#include "mesh/loopback_connection.h"
#include "mesh/transport.h"

namespace peat::mesh::testing {

class FakeNetwork {
 public:
  struct DialRecord {
    std::string from;  // endpoint id of the dialer
    std::string address;
    Clock::TimePoint at;
  };
  struct Link {  // a connection whose ends are both still open
    std::string dialer;
    std::string listener;
  };
  using FrameFilter = std::function<bool(const std::string& frame)>;

  explicit FakeNetwork(const Clock& clock) : clock_(clock) {}

  TransportFactory Factory(std::string endpoint_id) {
    return [this,
            endpoint_id](boost::asio::io_context& io) -> StatusOr<std::unique_ptr<Transport>> {
      return std::unique_ptr<Transport>(std::make_unique<FakeTransport>(*this, endpoint_id, io));
    };
  }

  // While held, dials get no answer; ReleaseDials() connects (or fails) them in arrival order.
  void HoldDials() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void ReleaseDials() {
    std::lock_guard lock(mu_);
    hold_ = false;
    auto held = std::move(held_);
    held_.clear();
    for (auto& d : held) ConnectLocked(std::move(d));
  }
  size_t held_dials() const {
    std::lock_guard lock(mu_);
    return held_.size();
  }

  // Frames sent by `from` on connections made from now on are dropped when `drop` says so.
  void DropFrames(const std::string& from, FrameFilter drop) {
    std::lock_guard lock(mu_);
    drop_[from] = std::move(drop);
  }

  std::vector<DialRecord> dials() const {
    std::lock_guard lock(mu_);
    return dials_;
  }
  size_t dial_count(const std::string& from) const {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& d : dials_) n += d.from == from;
    return n;
  }
  std::vector<Link> open_links() const {
    std::lock_guard lock(mu_);
    std::vector<Link> out;
    for (const auto& l : links_) {
      auto a = l.dialer_end.lock();
      auto b = l.listener_end.lock();
      if (a && b && !a->closed() && !b->closed()) out.push_back(Link{l.dialer, l.listener});
    }
    return out;
  }

 private:
  class FakeTransport;
  struct PendingDial {
    FakeTransport* dialer;
    std::string address;
    std::string expected_id;
    Transport::DialHandler done;
  };
  struct Listener {
    FakeTransport* owner;
    Transport::AcceptHandler on_accept;
  };
  struct LinkEnds {
    std::string dialer;
    std::string listener;
    std::weak_ptr<LoopbackConnection> dialer_end;
    std::weak_ptr<LoopbackConnection> listener_end;
  };

  class FakeTransport final : public Transport {
   public:
    FakeTransport(FakeNetwork& net, std::string id, boost::asio::io_context& io)
        : net_(net), id_(std::move(id)), io_(io) {}
    ~FakeTransport() override { Stop(); }

    StatusOr<std::string> Listen(const std::string& ip, uint16_t port, AcceptHandler on_accept,
                                 FailureHandler) override {
      std::lock_guard lock(net_.mu_);
      if (stopped_) return FailedPreconditionError("transport stopped");
      const std::string address = ip + ":" + std::to_string(port != 0 ? port : net_.next_port_++);
      if (net_.listeners_.count(address)) return UnavailableError("bind " + address + ": in use");
      net_.listeners_[address] = Listener{this, std::move(on_accept)};
      return address;
    }
    void Dial(const std::string& address, const std::string& expected_endpoint_id,
              std::chrono::milliseconds, DialHandler done) override {
      std::lock_guard lock(net_.mu_);
      if (stopped_) {
        boost::asio::post(
            io_, [done = std::move(done)] { done(FailedPreconditionError("transport stopped")); });
        return;
      }
      net_.dials_.push_back(DialRecord{id_, address, net_.clock_.Now()});
      PendingDial d{this, address, expected_endpoint_id, std::move(done)};
      if (net_.hold_) {
        net_.held_.push_back(std::move(d));
      } else {
        net_.ConnectLocked(std::move(d));
      }
    }
    // Runs on the mesh loop: unbinds, cancels held dials, closes this side's connections.
    void Stop() override {
      std::vector<std::shared_ptr<LoopbackConnection>> ends;
      {
        std::lock_guard lock(net_.mu_);
        if (stopped_) return;
        stopped_ = true;
        std::erase_if(net_.listeners_, [this](const auto& l) { return l.second.owner == this; });
        for (auto it = net_.held_.begin(); it != net_.held_.end();) {
          if (it->dialer != this) {
            ++it;
            continue;
          }
          boost::asio::post(
              io_, [done = std::move(it->done)] { done(CancelledError("transport stopped")); });
          it = net_.held_.erase(it);
        }
        for (const auto& w : ends_) {
          if (auto e = w.lock()) ends.push_back(std::move(e));
        }
      }
      for (const auto& e : ends) e->Close("transport stopped");
    }

   private:
    friend class FakeNetwork;
    FakeNetwork& net_;
    const std::string id_;
    boost::asio::io_context& io_;
    bool stopped_ = false;                                 // guarded by net_.mu_
    std::vector<std::weak_ptr<LoopbackConnection>> ends_;  // guarded by net_.mu_
  };

  // Answers one dial: a connected pair, or the error a TLS dial would give. Holds mu_.
  void ConnectLocked(PendingDial d) {
    FakeTransport* dialer = d.dialer;
    auto it = listeners_.find(d.address);
    if (it == listeners_.end()) {
      boost::asio::post(dialer->io_, [done = std::move(d.done), address = d.address] {
        done(UnavailableError("dial " + address + ": connection refused"));
      });
      return;
    }
    FakeTransport* listener = it->second.owner;
    if (listener->id_ != d.expected_id) {
      boost::asio::post(dialer->io_, [done = std::move(d.done), expected = d.expected_id,
                                      actual = listener->id_] {
        done(PermissionDeniedError("identity mismatch: dialed " + ShortEndpointId(expected) +
                                   " but peer presented " + ShortEndpointId(actual)));
      });
      return;
    }
    std::array<uint8_t, 32> binding{};
    const uint64_t n = ++connections_;
    for (size_t i = 0; i < 8; ++i) binding[i] = static_cast<uint8_t>(n >> (8 * i));
    const std::string dialer_address = "127.0.0.1:" + std::to_string(next_port_++);
    auto [a, b] = LoopbackConnection::Pair(dialer->io_, listener->io_, dialer->id_, listener->id_,
                                           binding, d.address, dialer_address);
    if (auto f = drop_.find(dialer->id_); f != drop_.end()) a->drop_outgoing = f->second;
    if (auto f = drop_.find(listener->id_); f != drop_.end()) b->drop_outgoing = f->second;
    dialer->ends_.push_back(a);
    listener->ends_.push_back(b);
    links_.push_back(LinkEnds{dialer->id_, listener->id_, a, b});
    boost::asio::post(listener->io_, [on_accept = it->second.on_accept, b = b] { on_accept(b); });
    boost::asio::post(dialer->io_, [done = std::move(d.done), a = a] {
      done(std::shared_ptr<MeshConnection>(a));
    });
  }

  const Clock& clock_;
  mutable std::mutex mu_;
  bool hold_ = false;
  std::vector<PendingDial> held_;
  std::map<std::string, Listener> listeners_;
  std::map<std::string, FrameFilter> drop_;
  std::vector<DialRecord> dials_;
  std::vector<LinkEnds> links_;
  uint64_t connections_ = 0;
  uint16_t next_port_ = 40000;
};

}  // namespace peat::mesh::testing

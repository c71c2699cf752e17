// LoopbackConnection: an in-memory MeshConnection pair, for testing sessions and meshes without
// sockets or TLS. Each end lives on its own io_context (both may share one): frames sent on one
// end are delivered (posted) to the other's in order; Close() on either end closes both. Byte
// counters count frame bytes. Like a socket, an end buffers what arrives before Start() (frames,
// then the close) and hands it over, posted and in order, once started. closed() may be read from
// any thread.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "mesh/transport.h"

namespace peat::mesh::testing {

class LoopbackConnection : public MeshConnection,
                           public std::enable_shared_from_this<LoopbackConnection> {
 public:
  LoopbackConnection(boost::asio::io_context& io, std::string peer_id, bool dialer,
                     std::array<uint8_t, 32> binding, std::string remote_address = "127.0.0.1:1")
      : io_(io),
        peer_id_(std::move(peer_id)),
        dialer_(dialer),
        binding_(binding),
        address_(std::move(remote_address)) {}

  using Ends = std::pair<std::shared_ptr<LoopbackConnection>, std::shared_ptr<LoopbackConnection>>;

  // A connected pair: `a` is the dialer's end (it sees `b_id` as its peer), `b` the listener's.
  static Ends Pair(boost::asio::io_context& io, const std::string& a_id, const std::string& b_id,
                   uint8_t binding_seed = 7) {
    std::array<uint8_t, 32> binding{};
    binding.fill(binding_seed);
    return Pair(io, io, a_id, b_id, binding, "127.0.0.1:1", "127.0.0.1:1");
  }
  // The same across two loops: the dialer's end runs on `io_a` and sees `b_address` as the remote
  // address, the listener's on `io_b` and sees `a_address`.
  static Ends Pair(boost::asio::io_context& io_a, boost::asio::io_context& io_b,
                   const std::string& a_id, const std::string& b_id,
                   const std::array<uint8_t, 32>& binding, std::string b_address,
                   std::string a_address) {
    auto a = std::make_shared<LoopbackConnection>(io_a, b_id, true, binding, std::move(b_address));
    auto b = std::make_shared<LoopbackConnection>(io_b, a_id, false, binding, std::move(a_address));
    a->other_ = b;
    b->other_ = a;
    return {a, b};
  }

  const std::string& peer_endpoint_id() const override { return peer_id_; }
  const std::string& remote_address() const override { return address_; }
  bool is_dialer() const override { return dialer_; }
  const std::array<uint8_t, 32>& channel_binding() const override { return binding_; }
  void Start(FrameHandler on_frame, ClosedHandler on_closed) override {
    on_frame_ = std::move(on_frame);
    on_closed_ = std::move(on_closed);
    boost::asio::post(io_, [self = shared_from_this()] {
      self->started_ = true;
      self->Pump();
    });
  }
  // Test hook: frames for which it returns true vanish (a middlebox that eats data).
  std::function<bool(const std::string&)> drop_outgoing;

  void Send(std::string frame) override {
    if (closed_) return;
    if (drop_outgoing && drop_outgoing(frame)) return;
    sent_ += frame.size() + 4;
    auto other = other_.lock();
    if (!other) return;
    boost::asio::post(other->io_, [other, frame = std::move(frame)]() mutable {
      if (other->closed_) return;
      other->received_ += frame.size() + 4;
      other->inbox_.push_back(std::move(frame));
      other->Pump();
    });
  }
  size_t queued_bytes() const override { return 0; }
  void Close(const std::string& reason) override {
    if (closed_) return;
    // Frames already posted to the other end still arrive (like a flushed socket).
    auto self = shared_from_this();
    boost::asio::post(io_, [self, reason] { self->Finish(UnavailableError("closed: " + reason)); });
    if (auto other = other_.lock()) {
      boost::asio::post(other->io_, [other] { other->Finish(UnavailableError("peer closed")); });
    }
  }
  bool closed() const { return closed_.load(); }
  uint64_t wire_bytes_sent() const override { return sent_; }
  uint64_t wire_bytes_received() const override { return received_; }

 private:
  void Finish(const Status& why) {
    if (closed_.exchange(true)) return;
    close_status_ = why;
    Pump();
  }
  // Hands over what arrived, once started: the frames in order, then the close (once).
  void Pump() {
    if (!started_) return;
    while (!inbox_.empty()) {
      std::string frame = std::move(inbox_.front());
      inbox_.pop_front();
      if (on_frame_) on_frame_(std::move(frame));
    }
    if (close_status_) {
      Status why = std::move(*close_status_);
      close_status_.reset();
      if (on_closed_) on_closed_(why);
    }
  }

  boost::asio::io_context& io_;
  std::string peer_id_;
  bool dialer_;
  std::array<uint8_t, 32> binding_;
  std::string address_;
  std::weak_ptr<LoopbackConnection> other_;
  FrameHandler on_frame_;
  ClosedHandler on_closed_;
  bool started_ = false;
  std::deque<std::string> inbox_;
  std::optional<Status> close_status_;  // closed, not yet reported
  std::atomic<bool> closed_{false};
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
};

}  // namespace peat::mesh::testing

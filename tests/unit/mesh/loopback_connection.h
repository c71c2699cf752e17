// LoopbackConnection: an in-memory MeshConnection pair on one io_context, for testing sessions
// without sockets or TLS. Frames sent on one end are delivered (posted) to the other in order;
// Close() on either end closes both. Byte counters count frame bytes.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "mesh/transport.h"

namespace peat::mesh::testing {

class LoopbackConnection : public MeshConnection,
                           public std::enable_shared_from_this<LoopbackConnection> {
 public:
  LoopbackConnection(boost::asio::io_context& io, std::string peer_id, bool dialer,
                     std::array<uint8_t, 32> binding)
      : io_(io), peer_id_(std::move(peer_id)), dialer_(dialer), binding_(binding) {}

  // A connected pair: `a` is the dialer's end (it sees `b_id` as its peer), `b` the listener's.
  static std::pair<std::shared_ptr<LoopbackConnection>, std::shared_ptr<LoopbackConnection>> Pair(
      boost::asio::io_context& io, const std::string& a_id, const std::string& b_id,
      uint8_t binding_seed = 7) {
    std::array<uint8_t, 32> binding{};
    binding.fill(binding_seed);
    auto a = std::make_shared<LoopbackConnection>(io, b_id, true, binding);
    auto b = std::make_shared<LoopbackConnection>(io, a_id, false, binding);
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
  }
  // Test hook: frames for which it returns true vanish (a middlebox that eats data).
  std::function<bool(const std::string&)> drop_outgoing;

  void Send(std::string frame) override {
    if (closed_) return;
    if (drop_outgoing && drop_outgoing(frame)) return;
    sent_ += frame.size() + 4;
    auto other = other_.lock();
    if (!other) return;
    boost::asio::post(io_, [other, frame = std::move(frame)]() mutable {
      if (other->closed_) return;
      other->received_ += frame.size() + 4;
      if (other->on_frame_) other->on_frame_(std::move(frame));
    });
  }
  size_t queued_bytes() const override { return 0; }
  void Close(const std::string& reason) override {
    if (closed_) return;
    // Frames already posted to the other end still arrive (like a flushed socket).
    auto self = shared_from_this();
    boost::asio::post(io_, [self, reason] {
      self->Finish(UnavailableError("closed: " + reason));
      if (auto other = self->other_.lock()) other->Finish(UnavailableError("peer closed"));
    });
  }
  uint64_t wire_bytes_sent() const override { return sent_; }
  uint64_t wire_bytes_received() const override { return received_; }

 private:
  void Finish(const Status& why) {
    if (closed_) return;
    closed_ = true;
    if (on_closed_) on_closed_(why);
  }

  boost::asio::io_context& io_;
  std::string peer_id_;
  bool dialer_;
  std::array<uint8_t, 32> binding_;
  std::string address_ = "127.0.0.1:1";
  std::weak_ptr<LoopbackConnection> other_;
  FrameHandler on_frame_;
  ClosedHandler on_closed_;
  bool closed_ = false;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
};

}  // namespace peat::mesh::testing

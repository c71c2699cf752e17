// SendWindow: how much a replication session may have unacknowledged on the link, in bytes —
// a delay-based congestion window (the LEDBAT idea, RFC 6817). Every batch's round trip (send →
// the peer's ack after it merged) is measured; the smallest recent one is the path's base delay.
// While round trips stay within `target_queue_delay` of it the window grows by the bytes each ack
// returns (doubling per round trip); when they exceed it, a queue is building somewhere (a slow
// radio link, a busy peer) and the window shrinks to 70 %, at most once per round trip.
// The delay signal is the smallest of the last four round trips: on a lossy link one batch in a
// few waits for a TCP retransmission, which is not a queue (B7: at 10 % loss, reacting to every
// slow batch kept the window below the path's bandwidth-delay product and halved goodput).
//
// On a lossy link even that is not enough: at 10 % loss nearly every round trip waits behind a
// retransmitted segment (TCP delivers in order), so the round trips alone read as a standing
// queue and the window collapses to its minimum (B11: 0.47 × the link rate). Where the kernel
// tells (TCP_INFO, tcp_path_info.h), its RTT, which skips retransmitted segments, plus the bytes
// still unsent at the delivery rate, is a second opinion: the window shrinks only when both see a
// queue.
//
// Why: on a 1 Mbit/s link a fixed window of megabytes would queue many seconds of bulk data in
// front of an urgent change; bounding the queue to ~target keeps urgent data waiting less than a
// second while still filling fast links (on loopback the window grows to its maximum within a few
// milliseconds). Acks come in send order (the peer merges batches in order).
//
// Documents and blob pieces share the window (docs/spec/ATTACHMENTS.md §15.4): each unit in
// flight is tagged with its flow, and an ack returns the oldest unit of its flow (each flow is
// acknowledged in its own send order; the two interleave freely). Reset drops documents only.
//
// Document batches are of two kinds sharing one ack order: the feed's, and a relay tree's
// cut-through batches (ReplicationSession::SendAhead). The session bounds each kind's count on
// its own, so forwarding ahead never takes a feed batch's place (in_flight_batches(kind)).
//
// Not thread-safe (one session, on the mesh loop).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace peat::mesh {

struct SendWindowOptions {
  size_t initial_bytes = 64 * 1024;
  size_t min_bytes = 16 * 1024;
  size_t max_bytes = 16u << 20;
  std::chrono::milliseconds target_queue_delay{100};
  // Largest batch (bytes of state); batches are also kept to a quarter of the window so several
  // are in flight.
  size_t max_batch_bytes = 256 * 1024;
  size_t min_batch_bytes = 4 * 1024;
};

enum class Flow : uint8_t { kDocuments = 0, kBlobPieces = 1 };
enum class BatchKind : uint8_t { kFeed = 0, kAhead = 1 };  // of a document batch

class SendWindow {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SendWindow(const SendWindowOptions& options);

  // Whether another batch may go out now. The top priority lane may fill the window; the others
  // stop at three quarters, so an urgent change always finds room. An empty window always
  // accepts one batch.
  bool CanSend(bool top_lane) const;
  // Bytes of state the next batch may carry.
  size_t NextBatchBytes() const;
  void OnSent(size_t bytes, Clock::time_point now, Flow flow = Flow::kDocuments,
              BatchKind kind = BatchKind::kFeed);
  // The oldest unacknowledged unit of `flow` was acknowledged (ignored when none is in flight).
  // `path_queue_delay`: the kernel's view of the queue ahead of the link when known
  // (MeshConnection::path_queue_delay); the window then shrinks only when both it and the round
  // trips say a queue builds.
  void OnAcked(Clock::time_point now, Flow flow = Flow::kDocuments,
               std::optional<Clock::duration> path_queue_delay = std::nullopt);
  // A new document stream: the batches in flight will never be acknowledged.
  void Reset();

  size_t window_bytes() const { return window_; }
  size_t in_flight_bytes() const { return in_flight_bytes_; }
  // Document batches in flight: all, or those of one kind.
  size_t in_flight_batches() const { return in_flight_.size() - in_flight_pieces_; }
  size_t in_flight_batches(BatchKind kind) const {
    return kind == BatchKind::kAhead ? in_flight_ahead_ : in_flight_batches() - in_flight_ahead_;
  }
  size_t in_flight_pieces() const { return in_flight_pieces_; }
  Clock::duration base_rtt() const;

 private:
  struct Sent {
    size_t bytes;
    Clock::time_point at;
    Flow flow;
    BatchKind kind;
  };
  void ObserveRtt(Clock::duration rtt, Clock::time_point now);

  static constexpr size_t kRecentRtts = 4;

  SendWindowOptions options_;
  size_t window_;
  Clock::duration recent_rtt_[kRecentRtts] = {};
  size_t recent_count_ = 0;  // samples seen (the ring holds the last kRecentRtts)
  size_t in_flight_bytes_ = 0;
  std::deque<Sent> in_flight_;
  size_t in_flight_pieces_ = 0;
  size_t in_flight_ahead_ = 0;
  // Base delay: the minimum over the current and the previous 10 s bucket, so it follows a path
  // whose delay really changed.
  Clock::duration min_rtt_current_ = Clock::duration::max();
  Clock::duration min_rtt_previous_ = Clock::duration::max();
  Clock::time_point bucket_start_{};
  Clock::time_point last_decrease_{};
};

}  // namespace peat::mesh

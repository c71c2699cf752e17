#include "mesh/send_window.h"

#include <algorithm>

namespace peat::mesh {

namespace {
constexpr std::chrono::seconds kRttBucket{10};
}

SendWindow::SendWindow(const SendWindowOptions& options)
    : options_(options),
      window_(std::clamp(options.initial_bytes, options.min_bytes, options.max_bytes)) {}

bool SendWindow::CanSend(bool top_lane) const {
  if (in_flight_.empty()) return true;
  const size_t limit = top_lane ? window_ : window_ / 4 * 3;
  return in_flight_bytes_ < limit;
}

size_t SendWindow::NextBatchBytes() const {
  return std::clamp(window_ / 4, options_.min_batch_bytes, options_.max_batch_bytes);
}

void SendWindow::OnSent(size_t bytes, Clock::time_point now, Flow flow, BatchKind kind) {
  if (flow == Flow::kBlobPieces) kind = BatchKind::kFeed;  // kinds are of document batches
  in_flight_.push_back(Sent{bytes, now, flow, kind});
  in_flight_bytes_ += bytes;
  if (flow == Flow::kBlobPieces) ++in_flight_pieces_;
  if (kind == BatchKind::kAhead) ++in_flight_ahead_;
}

SendWindow::Clock::duration SendWindow::base_rtt() const {
  return std::min(min_rtt_current_, min_rtt_previous_);
}

void SendWindow::ObserveRtt(Clock::duration rtt, Clock::time_point now) {
  if (now - bucket_start_ >= kRttBucket) {
    min_rtt_previous_ = min_rtt_current_;
    min_rtt_current_ = Clock::duration::max();
    bucket_start_ = now;
  }
  min_rtt_current_ = std::min(min_rtt_current_, rtt);
}

void SendWindow::OnAcked(Clock::time_point now, Flow flow,
                         std::optional<Clock::duration> path_queue_delay) {
  auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                         [flow](const Sent& s) { return s.flow == flow; });
  if (it == in_flight_.end()) return;
  const Sent sent = *it;
  in_flight_.erase(it);
  in_flight_bytes_ -= sent.bytes;
  if (flow == Flow::kBlobPieces) --in_flight_pieces_;
  if (sent.kind == BatchKind::kAhead) --in_flight_ahead_;
  const Clock::duration rtt = now - sent.at;
  ObserveRtt(rtt, now);
  recent_rtt_[recent_count_++ % kRecentRtts] = rtt;
  Clock::duration recent = rtt;
  for (size_t i = 0; i < std::min(recent_count_, kRecentRtts); ++i) {
    recent = std::min(recent, recent_rtt_[i]);
  }
  Clock::duration queue_delay = recent - base_rtt();
  if (path_queue_delay) queue_delay = std::min(queue_delay, *path_queue_delay);
  if (queue_delay > options_.target_queue_delay) {
    // At most once per round trip: the acks of one round all carry the same queue.
    if (now - last_decrease_ >= rtt) {
      window_ = std::max(options_.min_bytes, window_ / 10 * 7);
      last_decrease_ = now;
    }
  } else {
    window_ = std::min(options_.max_bytes, window_ + sent.bytes);
  }
}

void SendWindow::Reset() {
  std::erase_if(in_flight_, [this](const Sent& s) {
    if (s.flow != Flow::kDocuments) return false;
    in_flight_bytes_ -= s.bytes;
    return true;
  });
  in_flight_ahead_ = 0;
  recent_count_ = 0;
}

}  // namespace peat::mesh

// LinkLiveness: decides when a mesh link is dead (issue #13 item 4). Pure logic on time points
// (no timers, no I/O): the session feeds it what happened and asks for the deadline.
//
// - Contact: anything received from the peer (a frame, or bytes of a frame still arriving)
//   resets the silence. A live peer is never silent long: both sides send a Ping after
//   `ping_interval` of send silence and answer every Ping with a Pong.
// - RTT: one Ping at a time is timed to its Pong (RFC 6298 smoothing: srtt, rttvar). The sample
//   is what the application sees, so a segment TCP had to retransmit shows up as a slow sample
//   (RTT + a retransmission timeout). The variance used is the peak of rttvar, decaying by 1/64
//   per sample (half-life ~44 samples, ~40 s of idle pings): one loss keeps the bound up for a
//   while instead of being forgotten after a few clean samples. The transport's own estimate
//   (TCP_INFO srtt + 4·rttvar) counts too, before the first Pong; the larger wins.
// - Dead after `DeadAfter()` of silence: clamp(ping_interval + rto_multiple × RTO, floor,
//   ceiling), RTO = srtt + 4·peak rttvar. On a LAN the RTO is a millisecond and the floor rules
//   (a dead peer is seen within the floor, default 2.5 s). On the B7 link (200 ms RTT, 10 % loss
//   each way) about one Ping in five has a loss (samples ~0.6–1.4 s), the RTO is ~0.6–0.8 s and
//   the bound ~10–14 s. Silence there is TCP repairing a lost segment with exponential backoff
//   (RTO ≥ 400 ms there, doubled per loss): 4 losses of one segment in a row (p = 10⁻⁴) ≈ 6 s
//   plus a ping interval, still under the bound; 5 in a row (10⁻⁵ per segment) ≈ 13 s.
// - Our own stalls are excused: time during which the session could not look (a timer that
//   fired late because the loop was busy or the process was stopped) does not count as the
//   peer's silence.
//
// Threading: none (one owner).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "common/clock.h"

namespace peat::mesh {

struct LivenessOptions {
  // A Ping goes out after this much send silence.
  std::chrono::milliseconds ping_interval{1'000};
  // Floor and ceiling of the silence that declares a link dead (--mesh-dead-after-ms,
  // --mesh-dead-after-max-ms).
  std::chrono::milliseconds dead_after{2'500};
  std::chrono::milliseconds dead_after_max{30'000};
  // How many RTOs of silence (beyond one ping interval) a live link may show.
  uint32_t rto_multiple = 16;
};

class LinkLiveness {
 public:
  using TimePoint = Clock::TimePoint;
  using Duration = Clock::Duration;

  LinkLiveness(const LivenessOptions& options, TimePoint now);

  // Something arrived from the peer.
  void OnContact(TimePoint now);
  // The observer could not look for `d` (it was stalled): the silence deadline moves by `d`.
  void Excuse(Duration d, TimePoint now);
  // A Ping with `nonce` went out (only the first of several outstanding is timed).
  void OnPingSent(uint64_t nonce, TimePoint now);
  // A Pong arrived: a sample if it answers the timed Ping.
  void OnPong(uint64_t nonce, TimePoint now);
  // One RTT sample (also called by OnPong).
  void OnRttSample(Duration rtt);
  // The transport's own RTO estimate (nullopt: unknown).
  void SetTransportRto(std::optional<Duration> rto) { transport_rto_ = rto; }

  // srtt + 4·(peak rttvar) of the samples, or the transport's if larger; zero when nothing is
  // known.
  Duration Rto() const;
  Duration DeadAfter() const;
  TimePoint Deadline() const { return last_contact_ + DeadAfter(); }
  bool Dead(TimePoint now) const { return now >= Deadline(); }
  TimePoint last_contact() const { return last_contact_; }
  std::optional<Duration> srtt() const { return srtt_; }
  std::optional<Duration> rttvar() const { return srtt_ ? std::optional(rttvar_) : std::nullopt; }

 private:
  LivenessOptions options_;
  TimePoint last_contact_;
  std::optional<Duration> srtt_;
  Duration rttvar_{0};
  Duration rttvar_peak_{0};
  std::optional<Duration> transport_rto_;
  std::optional<uint64_t> timed_nonce_;
  TimePoint timed_sent_{};
};

}  // namespace peat::mesh

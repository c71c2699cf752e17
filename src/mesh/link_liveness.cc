#include "mesh/link_liveness.h"

#include <algorithm>

namespace peat::mesh {

LinkLiveness::LinkLiveness(const LivenessOptions& options, TimePoint now)
    : options_(options), last_contact_(now) {}

void LinkLiveness::OnContact(TimePoint now) { last_contact_ = std::max(last_contact_, now); }

void LinkLiveness::Excuse(Duration d, TimePoint now) {
  if (d <= Duration::zero()) return;
  last_contact_ = std::min(last_contact_ + d, now);
}

void LinkLiveness::OnPingSent(uint64_t nonce, TimePoint now) {
  if (timed_nonce_) return;
  timed_nonce_ = nonce;
  timed_sent_ = now;
}

void LinkLiveness::OnPong(uint64_t nonce, TimePoint now) {
  if (!timed_nonce_ || *timed_nonce_ != nonce) return;
  timed_nonce_.reset();
  OnRttSample(now - timed_sent_);
}

void LinkLiveness::OnRttSample(Duration rtt) {
  rtt = std::max(rtt, Duration::zero());
  if (!srtt_) {
    srtt_ = rtt;
    rttvar_ = rtt / 2;
  } else {
    const Duration diff = *srtt_ > rtt ? *srtt_ - rtt : rtt - *srtt_;
    rttvar_ = (3 * rttvar_ + diff) / 4;
    srtt_ = (7 * *srtt_ + rtt) / 8;
  }
  rttvar_peak_ = std::max(rttvar_, rttvar_peak_ - rttvar_peak_ / 64);
}

LinkLiveness::Duration LinkLiveness::Rto() const {
  Duration rto = srtt_ ? *srtt_ + 4 * std::max(rttvar_, rttvar_peak_) : Duration::zero();
  if (transport_rto_) rto = std::max(rto, *transport_rto_);
  return rto;
}

LinkLiveness::Duration LinkLiveness::DeadAfter() const {
  const Duration floor = options_.dead_after;
  const Duration ceiling = std::max<Duration>(options_.dead_after_max, floor);
  const Duration adaptive = options_.ping_interval + options_.rto_multiple * Rto();
  return std::clamp<Duration>(adaptive, floor, ceiling);
}

}  // namespace peat::mesh

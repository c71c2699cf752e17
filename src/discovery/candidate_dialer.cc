#include "discovery/candidate_dialer.h"

#include <spdlog/spdlog.h>
#include <algorithm>

#include "common/endpoint_id.h"
#include "common/metrics.h"

namespace peat::discovery {
namespace {

void Count(std::map<std::pair<std::string, std::string>, uint64_t>& m, CandidateSource source,
           std::string_view label) {
  ++m[{std::string(SourceLabel(source)), std::string(label)}];
}

uint64_t Get(const std::map<std::pair<std::string, std::string>, uint64_t>& m,
             CandidateSource source, std::string_view label) {
  auto it = m.find({std::string(SourceLabel(source)), std::string(label)});
  return it == m.end() ? 0 : it->second;
}

void AppendFamily(std::string& out, std::string_view name, std::string_view help,
                  std::string_view label_name,
                  const std::map<std::pair<std::string, std::string>, uint64_t>& m) {
  AppendMetricHeader(out, name, "counter", help);
  for (const auto& [key, value] : m) {
    AppendSample(
        out, name,
        "source=\"" + key.first + "\"," + std::string(label_name) + "=\"" + key.second + "\"",
        static_cast<double>(value));
  }
}

}  // namespace

void DiscoveryMetrics::CountDial(CandidateSource source, std::string_view result) {
  std::lock_guard lock(mu_);
  Count(dials_, source, result);
}

void DiscoveryMetrics::CountSkip(CandidateSource source, std::string_view reason) {
  std::lock_guard lock(mu_);
  Count(skips_, source, reason);
}

uint64_t DiscoveryMetrics::dials(CandidateSource source, std::string_view result) const {
  std::lock_guard lock(mu_);
  return Get(dials_, source, result);
}

uint64_t DiscoveryMetrics::skips(CandidateSource source, std::string_view reason) const {
  std::lock_guard lock(mu_);
  return Get(skips_, source, reason);
}

void DiscoveryMetrics::Append(std::string& out) const {
  std::lock_guard lock(mu_);
  AppendFamily(out, "peat_discovery_dials_total",
               "Dials of discovered peers, by source and result (ok, refused, unreachable, error).",
               "result", dials_);
  AppendFamily(out, "peat_discovery_skipped_total",
               "Discovered peers not dialed, by source and reason (self, formation, malformed, "
               "dialing, recent_failure, recent_success, connected).",
               "reason", skips_);
}

CandidateDialer::CandidateDialer(CandidateDialerOptions options, PeerControl& peers, Clock& clock,
                                 DiscoveryMetrics& metrics)
    : options_(std::move(options)), peers_(peers), clock_(clock), metrics_(metrics) {}

std::string_view CandidateDialer::ResultLabel(const Status& status) {
  if (status.ok()) return "ok";
  if (status.code() == StatusCode::kPermissionDenied) return "refused";
  if (status.code() == StatusCode::kUnavailable) return "unreachable";
  return "error";
}

std::string_view CandidateDialer::PreCheck(const std::string& id) {
  if (id == options_.self_endpoint_id) return "self";
  std::lock_guard lock(mu_);
  auto& st = state_[id];
  if (st.dialing) return "dialing";
  if (st.blocked_until && clock_.Now() < *st.blocked_until) return st.blocked_reason;
  st.dialing = true;
  return "";
}

void CandidateDialer::Finish(const std::string& id, const Status& status) {
  std::lock_guard lock(mu_);
  auto& st = state_[id];
  st.dialing = false;
  if (status.ok()) {
    st.blocked_until = clock_.Now() + options_.success_holdoff;
    st.blocked_reason = "recent_success";
  } else if (status.code() == StatusCode::kPermissionDenied) {
    st.blocked_until = clock_.Now() + options_.refused_holdoff;
    st.blocked_reason = "recent_failure";
  } else {
    st.blocked_until = clock_.Now() + options_.failure_holdoff;
    st.blocked_reason = "recent_failure";
  }
}

void CandidateDialer::Propose(PeerCandidate candidate,
                              std::function<void(std::string_view outcome)> done) {
  auto report = [done](std::string_view outcome) {
    if (done) done(outcome);
  };
  const auto source = candidate.source;
  if (auto skip = PreCheck(candidate.endpoint_id); !skip.empty()) {
    metrics_.CountSkip(source, skip);
    return report(skip);
  }
  // Holds the dialer (and so its state) alive until the mesh answers.
  auto self = shared_from_this();
  peers_.ListPeers([self, candidate = std::move(candidate), report,
                    source](std::vector<PeerView> views) mutable {
    const bool connected = std::any_of(views.begin(), views.end(), [&](const PeerView& v) {
      return v.endpoint_id == candidate.endpoint_id && v.connected;
    });
    if (connected) {
      {
        std::lock_guard lock(self->mu_);
        self->state_[candidate.endpoint_id].dialing = false;
      }
      self->metrics_.CountSkip(source, "connected");
      return report("connected");
    }
    spdlog::info(
        "discovery: dialing {} ({}) found by {}", ShortEndpointId(candidate.endpoint_id),
        candidate.addresses.empty() ? std::string("no address") : candidate.addresses.front(),
        SourceLabel(source));
    std::string id = candidate.endpoint_id;
    self->peers_.ConnectPeer(std::move(candidate.endpoint_id), std::move(candidate.addresses),
                             [self, id, report, source](Status status) {
                               self->Finish(id, status);
                               const auto result = ResultLabel(status);
                               self->metrics_.CountDial(source, result);
                               if (!status.ok()) {
                                 spdlog::info("discovery: dial of {} failed ({}): {}",
                                              ShortEndpointId(id), result, status.message());
                               }
                               report(result);
                             });
  });
}

}  // namespace peat::discovery

#include "common/metrics.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace peat {

void LatencyHistogram::Observe(double seconds) {
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(std::llround(seconds * 1e6)),
                        std::memory_order_relaxed);
}

namespace {
// Shortest text that reads back as the same double ("0.0025", not "0.0025000000000000001").
std::string FormatDouble(double v) {
  char buf[64];
  double mag = std::fabs(v);
  auto format = (mag == 0 || (mag >= 1e-6 && mag < 1e18)) ? std::chars_format::fixed
                                                          : std::chars_format::general;
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, format);
  return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}
std::string JoinLabels(std::string_view labels, std::string_view extra) {
  std::string s(labels);
  if (!s.empty() && !extra.empty()) s += ',';
  s += extra;
  return s;
}
}  // namespace

void LatencyHistogram::AppendPrometheus(std::string_view name, std::string_view labels,
                                        std::string& out) const {
  uint64_t cumulative = 0;
  std::string bucket_name = std::string(name) + "_bucket";
  for (size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = i < kBounds.size() ? FormatDouble(kBounds[i]) : "+Inf";
    AppendSample(out, bucket_name, JoinLabels(labels, "le=\"" + le + "\""),
                 static_cast<double>(cumulative));
  }
  AppendSample(out, std::string(name) + "_sum", labels,
               static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  AppendSample(out, std::string(name) + "_count", labels, static_cast<double>(Count()));
}

std::string PrometheusLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void MetricsRegistry::AddCollector(Collector c) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(c));
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& c : collectors_) c(out);
  return out;
}

void AppendMetricHeader(std::string& out, std::string_view name, std::string_view type,
                        std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void AppendSample(std::string& out, std::string_view name, std::string_view labels, double value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ");
  if (value == std::floor(value) && std::fabs(value) < 1e18) {
    out.append(std::to_string(static_cast<long long>(value)));
  } else {
    out.append(FormatDouble(value));
  }
  out.append("\n");
}

}  // namespace peat

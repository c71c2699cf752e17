// Metrics primitives and the registry that renders them in Prometheus text format.
//
// Counter, Gauge and Histogram are lock-free (relaxed atomics) and safe to update from any thread.
// Components own their metric objects and register a collector with the MetricsRegistry that
// appends their samples to the exposition text; the registry itself is thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace peat {

class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Add(int64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  void Set(int64_t n) { v_.store(n, std::memory_order_relaxed); }
  int64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Latency histogram with fixed buckets in seconds (100 µs … 10 s).
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 10.0};
  void Observe(double seconds);
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  // Appends `name_bucket{labels,le=".."}`, `name_sum`, `name_count` lines. `labels` is the
  // already-formatted label list without braces (may be empty).
  void AppendPrometheus(std::string_view name, std::string_view labels, std::string& out) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};  // last = +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

// Escapes a label value for the Prometheus text format (backslash, quote, newline).
std::string PrometheusLabelValue(std::string_view v);

class MetricsRegistry {
 public:
  using Collector = std::function<void(std::string& out)>;
  // The collector is called on every scrape; it appends `# HELP`/`# TYPE` lines and samples.
  void AddCollector(Collector c);
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::vector<Collector> collectors_;
};

// Helpers for collectors: append a HELP/TYPE header and a single sample.
void AppendMetricHeader(std::string& out, std::string_view name, std::string_view type,
                        std::string_view help);
void AppendSample(std::string& out, std::string_view name, std::string_view labels, double value);

}  // namespace peat

#include "common/metrics.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace peat {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(CounterTest, IncrementsByOneOrN) {
  Counter c;
  EXPECT_EQ(c.Value(), 0u);
  c.Inc();
  c.Inc(41);
  EXPECT_EQ(c.Value(), 42u);
}

TEST(GaugeTest, AddsAndSets) {
  Gauge g;
  g.Add(3);
  g.Add(-5);
  EXPECT_EQ(g.Value(), -2);
  g.Set(7);
  EXPECT_EQ(g.Value(), 7);
}

TEST(LatencyHistogramTest, EmptyHistogramRendersZeroBuckets) {
  LatencyHistogram h;
  std::string out;
  h.AppendPrometheus("x_seconds", "", out);
  auto lines = Lines(out);
  ASSERT_EQ(lines.size(), LatencyHistogram::kBounds.size() + 3);
  EXPECT_EQ(lines[0], "x_seconds_bucket{le=\"0.0001\"} 0");
  EXPECT_EQ(lines[14], "x_seconds_bucket{le=\"+Inf\"} 0");
  EXPECT_EQ(lines[15], "x_seconds_sum 0");
  EXPECT_EQ(lines[16], "x_seconds_count 0");
}

TEST(LatencyHistogramTest, BucketsAreCumulativeWithInclusiveUpperBounds) {
  LatencyHistogram h;
  h.Observe(0.00005);  // <= 0.0001
  h.Observe(0.0001);   // == bound: counts in le="0.0001"
  h.Observe(0.003);    // <= 0.005
  h.Observe(0.7);      // <= 1
  h.Observe(30.0);     // +Inf only
  EXPECT_EQ(h.Count(), 5u);

  std::string out;
  h.AppendPrometheus("rpc_seconds", "method=\"/a.B/C\"", out);
  auto lines = Lines(out);
  ASSERT_EQ(lines.size(), 17u) << out;
  // Cumulative count per bucket, in kBounds order, then +Inf.
  const uint64_t want[] = {2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 4, 4, 5};
  const std::string prefix = "rpc_seconds_bucket{method=\"/a.B/C\",le=\"";
  for (size_t i = 0; i < 15; ++i) {
    const std::string& line = lines[i];
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
    size_t close = line.find("\"} ", prefix.size());
    ASSERT_NE(close, std::string::npos) << line;
    std::string le = line.substr(prefix.size(), close - prefix.size());
    if (i < LatencyHistogram::kBounds.size()) {
      EXPECT_EQ(std::stod(le), LatencyHistogram::kBounds[i]) << line;
    } else {
      EXPECT_EQ(le, "+Inf");
    }
    EXPECT_EQ(line.substr(close + 3), std::to_string(want[i])) << line;
  }
  ASSERT_EQ(lines[15].rfind("rpc_seconds_sum{method=\"/a.B/C\"} ", 0), 0u) << lines[15];
  EXPECT_DOUBLE_EQ(std::stod(lines[15].substr(lines[15].rfind(' ') + 1)), 30.70315);
  EXPECT_EQ(lines[16], "rpc_seconds_count{method=\"/a.B/C\"} 5");
}

TEST(LatencyHistogramTest, BucketCountsNeverDecreaseAndEndAtCount) {
  LatencyHistogram h;
  for (int i = 0; i < 200; ++i) h.Observe(i * 0.0007);
  std::string out;
  h.AppendPrometheus("h", "", out);
  uint64_t previous = 0;
  int buckets = 0;
  for (const auto& line : Lines(out)) {
    if (line.rfind("h_bucket{", 0) != 0) continue;
    uint64_t v = std::stoull(line.substr(line.rfind(' ') + 1));
    EXPECT_GE(v, previous) << line;
    previous = v;
    ++buckets;
  }
  EXPECT_EQ(buckets, 15);
  EXPECT_EQ(previous, 200u);
  EXPECT_NE(out.find("\nh_count 200\n"), std::string::npos);
}

TEST(PrometheusLabelValueTest, EscapesBackslashQuoteAndNewline) {
  EXPECT_EQ(PrometheusLabelValue("plain/path.Method"), "plain/path.Method");
  EXPECT_EQ(PrometheusLabelValue("a\\b"), "a\\\\b");
  EXPECT_EQ(PrometheusLabelValue("say \"x\""), "say \\\"x\\\"");
  EXPECT_EQ(PrometheusLabelValue("line1\nline2"), "line1\\nline2");
  EXPECT_EQ(PrometheusLabelValue(""), "");
  EXPECT_EQ(PrometheusLabelValue("caf\xc3\xa9\t"), "caf\xc3\xa9\t");
}

TEST(PrometheusTextTest, HeaderLines) {
  std::string out;
  AppendMetricHeader(out, "peat_docs", "gauge", "Documents stored.");
  EXPECT_EQ(out, "# HELP peat_docs Documents stored.\n# TYPE peat_docs gauge\n");
}

TEST(PrometheusTextTest, SampleLines) {
  std::string out;
  AppendSample(out, "peat_up", "", 1);
  AppendSample(out, "peat_bytes", "peer=\"abc\",dir=\"in\"", 123456789);
  AppendSample(out, "peat_neg", "", -3);
  AppendSample(out, "peat_ratio", "", 0.5);
  AppendSample(out, "peat_big", "", 1e15);
  EXPECT_EQ(out,
            "peat_up 1\n"
            "peat_bytes{peer=\"abc\",dir=\"in\"} 123456789\n"
            "peat_neg -3\n"
            "peat_ratio 0.5\n"
            "peat_big 1000000000000000\n");
}

TEST(MetricsRegistryTest, RendersCollectorsInRegistrationOrderOnEveryScrape) {
  MetricsRegistry registry;
  EXPECT_EQ(registry.Render(), "");
  Counter requests;
  registry.AddCollector([&requests](std::string& out) {
    AppendMetricHeader(out, "peat_requests_total", "counter", "Requests.");
    AppendSample(out, "peat_requests_total", "path=\"" + PrometheusLabelValue("/a\"b") + "\"",
                 static_cast<double>(requests.Value()));
  });
  registry.AddCollector([](std::string& out) { AppendSample(out, "peat_second", "", 2); });
  requests.Inc(3);
  EXPECT_EQ(registry.Render(),
            "# HELP peat_requests_total Requests.\n"
            "# TYPE peat_requests_total counter\n"
            "peat_requests_total{path=\"/a\\\"b\"} 3\n"
            "peat_second 2\n");
  requests.Inc();
  EXPECT_NE(registry.Render().find("peat_requests_total{path=\"/a\\\"b\"} 4\n"), std::string::npos);
}

}  // namespace
}  // namespace peat

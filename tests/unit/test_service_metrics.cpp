// The metrics registry and its Prometheus text format 0.0.4 rendering.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "obs/metrics.hpp"

namespace mediax::metrics {
namespace {

TEST(Metrics, CounterRendersHelpTypeAndLabelledSeriesSortedByName) {
  Registry r;
  r.counter("mediax_b_total", "Second family", {{"platform", "oauth2"}, {"outcome", "success"}}).inc();
  r.counter("mediax_b_total", "Second family", {{"platform", "oauth2"}, {"outcome", "success"}}).inc(2);
  r.counter("mediax_a_total", "First family").inc();
  EXPECT_EQ(r.render(),
            "# HELP mediax_a_total First family\n"
            "# TYPE mediax_a_total counter\n"
            "mediax_a_total 1\n"
            "# HELP mediax_b_total Second family\n"
            "# TYPE mediax_b_total counter\n"
            "mediax_b_total{platform=\"oauth2\",outcome=\"success\"} 3\n");
}

TEST(Metrics, CounterIgnoresNegativeIncrements) {
  Registry r;
  auto& c = r.counter("mediax_x_total", "x");
  c.inc(5);
  c.inc(-3);
  EXPECT_EQ(c.value(), 5);
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  auto& h = r.histogram("mediax_lat_seconds", "Latency", {0.25, 1}, {{"platform", "douyin"}});
  h.observe(0.125);
  h.observe(0.25);  // on the bound: counts in le="0.25"
  h.observe(0.5);
  h.observe(7);
  EXPECT_EQ(r.render(),
            "# HELP mediax_lat_seconds Latency\n"
            "# TYPE mediax_lat_seconds histogram\n"
            "mediax_lat_seconds_bucket{platform=\"douyin\",le=\"0.25\"} 2\n"
            "mediax_lat_seconds_bucket{platform=\"douyin\",le=\"1\"} 3\n"
            "mediax_lat_seconds_bucket{platform=\"douyin\",le=\"+Inf\"} 4\n"
            "mediax_lat_seconds_sum{platform=\"douyin\"} 7.875\n"
            "mediax_lat_seconds_count{platform=\"douyin\"} 4\n");
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(format_labels({{"k", "x\"y"}}), "{k=\"x\\\"y\"}");
  EXPECT_EQ(format_labels({}), "");
}

TEST(Metrics, ValuesUseShortestFormAndPrometheusSpecialValues) {
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(-2), "-2");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(Metrics, SameNameWithAnotherTypeOrBadNameIsRefused) {
  Registry r;
  r.counter("mediax_dup", "x");
  EXPECT_THROW(r.gauge("mediax_dup", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("9starts_with_digit", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("has space", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("mediax_ok", "x", {{"bad-label", "v"}}), std::invalid_argument);
  EXPECT_THROW(r.histogram("mediax_h", "x", {1}, {{"le", "1"}}), std::invalid_argument);
}

TEST(Metrics, CollectorsRunBeforeEachRenderUntilRemoved) {
  Registry r;
  int calls = 0;
  auto id = r.add_collector([&calls](Registry& reg) { reg.gauge("mediax_g", "g").set(++calls); });
  EXPECT_NE(r.render().find("mediax_g 1\n"), std::string::npos);
  EXPECT_NE(r.render().find("mediax_g 2\n"), std::string::npos);
  r.remove_collector(id);
  EXPECT_NE(r.render().find("mediax_g 2\n"), std::string::npos);
  EXPECT_EQ(calls, 2);
}

TEST(Metrics, ClearedGaugeFamilyDropsSeriesThatDisappeared) {
  Registry r;
  r.gauge("mediax_grants", "g", {{"status", "active"}}).set(2);
  r.gauge("mediax_grants", "g", {{"status", "revoked"}}).set(1);
  r.clear_gauge("mediax_grants");
  r.gauge("mediax_grants", "g", {{"status", "active"}}).set(3);
  auto text = r.render();
  EXPECT_NE(text.find("mediax_grants{status=\"active\"} 3\n"), std::string::npos);
  EXPECT_EQ(text.find("revoked"), std::string::npos);
}

TEST(Metrics, SetGaugesReplacesTheWholeFamilyWithTheSnapshot) {
  Registry r;
  r.set_gauges("mediax_grants", "g", {{{{"status", "active"}}, 2}, {{{"status", "revoked"}}, 1}});
  r.set_gauges("mediax_grants", "g", {{{{"status", "active"}}, 3}});
  auto text = r.render();
  EXPECT_NE(text.find("mediax_grants{status=\"active\"} 3\n"), std::string::npos);
  EXPECT_EQ(text.find("revoked"), std::string::npos);
}

TEST(Metrics, RegistriesAreIndependent) {
  // No process-wide registry: each daemon (and each test) owns one.
  Registry a, b;
  a.counter("mediax_x_total", "x").inc();
  EXPECT_NE(a.render().find("mediax_x_total 1\n"), std::string::npos);
  EXPECT_EQ(b.render().find("mediax_x_total"), std::string::npos);
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  Registry r;
  auto& c = r.counter("mediax_c_total", "c");
  auto& h = r.histogram("mediax_h_seconds", "h", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_EQ(h.cumulative(0), 40000u);
  EXPECT_DOUBLE_EQ(h.sum(), 20000);
}

}  // namespace
}  // namespace mediax::metrics

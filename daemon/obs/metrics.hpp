// A small Prometheus metrics registry (text exposition format 0.0.4): counters, gauges and
// histograms with labels. Updates are lock-free atomics on a metric found once; looking a
// metric up by labels takes a mutex, so hot paths keep the reference. No third-party library.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace mediax::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(double by = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // bounds: upper bounds of the buckets, ascending; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative count of observations <= bounds()[i]; i == bounds().size() is +Inf (= count()).
  std::uint64_t cumulative(std::size_t i) const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket, not cumulative
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

class Registry {
 public:
  // Finds or creates the metric; the reference stays valid for the registry's lifetime.
  // Throws std::invalid_argument when `name` was registered with another type or a bad name.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                       const Labels& labels = {});
  // Drops every series of a gauge family (before re-filling it from a fresh snapshot, so
  // label sets that disappeared are not reported forever).
  void clear_gauge(const std::string& name);
  // A gauge family re-filled from a fresh snapshot: clear_gauge(name), then one series per entry.
  void set_gauges(const std::string& name, const std::string& help,
                  const std::vector<std::pair<Labels, double>>& values);

  // Runs before each render(): refreshes gauges computed from other components. Returns an id
  // for remove_collector (call it before what the collector captures goes away).
  std::uint64_t add_collector(std::function<void(Registry&)> collect);
  void remove_collector(std::uint64_t id);

  // Every family, sorted by name, in the Prometheus text format 0.0.4.
  std::string render();

 private:
  enum class Type { counter, gauge, histogram };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // key: rendered label set
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& family(const std::string& name, Type type, const std::string& help);

  std::mutex mu_;
  std::map<std::string, Family> families_;
  std::mutex collectors_mu_;
  std::map<std::uint64_t, std::function<void(Registry&)>> collectors_;
  std::uint64_t next_collector_ = 1;
};

// Text format helpers, exposed for tests.
std::string escape_label_value(const std::string& v);
std::string format_labels(const Labels& labels);  // {a="x",b="y"} or "" when empty
std::string format_value(double v);               // Prometheus float: 1, 0.25, +Inf, NaN

// Bucket bounds in seconds for refresh (platform call) latencies.
const std::vector<double>& latency_buckets();

}  // namespace mediax::metrics

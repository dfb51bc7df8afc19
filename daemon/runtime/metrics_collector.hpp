// Feeds the metrics registry with gauges read from the running daemon at scrape time:
// scheduler state, the earliest token expiry, database counts and round-trip time.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "core/time_source.hpp"
#include "obs/metrics.hpp"

namespace mediax {

class Store;
class TokenCache;
class Scheduler;

class MetricsCollector {
 public:
  // Registers with `metrics` until destroyed. Database numbers are re-read at most
  // every db_period, so frequent scrapes cost the database nothing extra.
  MetricsCollector(Store& store, TokenCache& cache, Scheduler& scheduler, const TimeSource& clock,
                   metrics::Registry& metrics, std::chrono::milliseconds db_period = std::chrono::seconds(10));
  ~MetricsCollector();
  MetricsCollector(const MetricsCollector&) = delete;
  MetricsCollector& operator=(const MetricsCollector&) = delete;

 private:
  void collect();
  void collect_database();

  Store& store_;
  TokenCache& cache_;
  Scheduler& scheduler_;
  const TimeSource& clock_;
  metrics::Registry& metrics_;
  const std::chrono::milliseconds db_period_;
  std::mutex db_mu_;
  std::chrono::steady_clock::time_point db_read_{};
  bool db_read_once_ = false;
  std::uint64_t id_ = 0;
};

}  // namespace mediax

// Feeds the metrics registry with gauges read from the running daemon at scrape time:
// scheduler state, the earliest token expiry, and the database counts and round-trip time that
// the janitor reads every few seconds (read_database), so scrapes cost the database nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/time_source.hpp"
#include "obs/metrics.hpp"
#include "store/records.hpp"

namespace mediax {

class Store;
class TokenCache;
class Scheduler;

class MetricsCollector {
 public:
  // Registers with `metrics` until destroyed.
  MetricsCollector(Store& store, TokenCache& cache, Scheduler& scheduler, const TimeSource& clock,
                   metrics::Registry& metrics);
  ~MetricsCollector();
  MetricsCollector(const MetricsCollector&) = delete;
  MetricsCollector& operator=(const MetricsCollector&) = delete;

  // The janitor's task (blocking pool): pings the database and reads its counts for the next scrapes.
  void read_database();

 private:
  // What read_database() found; published at scrape time.
  struct DatabaseCounts {
    bool up = false;
    double ping_seconds = 0;
    bool counted = false;  // the counts below were read (kept from the last time the database answered)
    std::vector<StatusCount> grants;
    std::vector<TokenCount> tokens;
    std::vector<std::pair<std::string, bool>> waiting_for_ticket;  // app name -> waiting
    std::vector<std::pair<std::string, std::int64_t>> missing_scopes;
    std::vector<std::pair<std::string, bool>> misconfigured;  // app name -> secrets refused
  };
  void collect();
  void publish_database();
  // Store::batch_counts as counters (the store keeps totals; the registry's counters take steps).
  void publish_batches();

  Store& store_;
  TokenCache& cache_;
  Scheduler& scheduler_;
  const TimeSource& clock_;
  metrics::Registry& metrics_;
  std::mutex db_mu_;
  std::optional<DatabaseCounts> db_;  // db_mu_; empty until the first read
  std::mutex batch_mu_;
  std::map<std::string, BatchCount> batches_seen_;  // batch_mu_; totals already counted
  std::uint64_t id_ = 0;
};

}  // namespace mediax

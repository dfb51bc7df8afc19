// How often token/rejected may start a refresh: each such report costs a platform call, so one
// misbehaving consumer could spend a platform's quota. Asked by TokenReads through the
// refresher's admission check, so reports that join a refresh in flight or name a token already
// replaced are neither counted nor refused. Limited per API key (one consumer) and
// per token (a grant's or an app's: however many consumers report it) per minute
// (security.rejected_per_key_per_minute, security.rejected_per_token_per_minute). A refused
// report is counted in mediax_rate_limited_total{limit=...} and reaches neither the refresher nor
// the platform. The counting is core/rate_window.hpp's; this adds the clock and a lock.
// Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "core/rate_window.hpp"
#include "core/types.hpp"
#include "obs/metrics.hpp"
#include "util/time_source.hpp"

namespace mediax {

struct RejectedLimitsConfig {
  int per_key_per_minute = 60;
  int per_token_per_minute = 6;
};

class RejectedLimits {
 public:
  // metrics: null in tests that do not look.
  RejectedLimits(RejectedLimitsConfig config, const TimeSource& time, metrics::Registry* metrics);

  struct Verdict {
    std::chrono::seconds retry_after{0};  // 0: go on (the report was counted)
    std::string which;                    // "key" or "token" when refused
    int limit = 0;                        // that limit, per minute
  };
  // Counts a report of `token` by API key `key_name` when both limits allow it; otherwise says
  // how long to wait and counts nothing (a refused report does not prolong the wait).
  Verdict admit(const std::string& key_name, const RefreshKey& token);

 private:
  const TimeSource& time_;
  metrics::Counter* refused_per_key_ = nullptr;
  metrics::Counter* refused_per_token_ = nullptr;
  std::mutex mu_;
  RateWindows per_key_;
  RateWindows per_token_;
};

}  // namespace mediax

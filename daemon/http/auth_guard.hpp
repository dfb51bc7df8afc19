// Failed authentications per peer address: after security.auth_failures_per_peer failures (an
// unknown or revoked key, no key on a route that needs one) within
// security.auth_failure_window_seconds, the peer gets 429 with Retry-After on every route that
// needs a key until that window ends, even with a good key: the check comes before the key is
// looked at, so a peer that guesses keys learns nothing more, and costs no more hashing. Logged
// once per window and peer, with the peer and the route, never a key. Open routes (health, the
// OAuth callback) stay open. Memory is bounded (core/rate_window.hpp). Thread-safe and
// non-blocking (one short lock): the Dispatcher calls it on the event loop and on the pool.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "core/rate_window.hpp"
#include "obs/metrics.hpp"
#include "util/time_source.hpp"

namespace mediax {

struct AuthGuardConfig {
  int failures_per_peer = 20;
  std::chrono::seconds window{60};
};

class AuthFailureGuard {
 public:
  // metrics: null in tests that do not look.
  AuthFailureGuard(AuthGuardConfig config, const TimeSource& time, metrics::Registry* metrics);

  // How long `peer` must still wait; 0: go on. A refusal is counted in
  // mediax_rate_limited_total{limit="auth_failures_per_peer"}. An empty peer (no socket) never waits.
  std::chrono::seconds wait(const std::string& peer);
  // Counts a failed authentication of `peer` on method and path; logs the peer and the route when
  // this failure makes it wait.
  void failed(const std::string& peer, const std::string& method, const std::string& path);

  const AuthGuardConfig& config() const { return config_; }

 private:
  const AuthGuardConfig config_;
  const TimeSource& time_;
  metrics::Counter* refused_ = nullptr;
  std::mutex mu_;
  RateWindows failures_;
};

}  // namespace mediax

#include "http/auth_guard.hpp"

#include <spdlog/spdlog.h>

namespace mediax {

namespace {

// Peers with failures in their window; a flood from more addresses than this forgets the oldest
// (their count restarts), it never grows memory.
constexpr std::size_t kMaxPeers = 50'000;

}  // namespace

AuthFailureGuard::AuthFailureGuard(AuthGuardConfig config, const TimeSource& time, metrics::Registry* metrics)
    : config_(config), time_(time), failures_(config.failures_per_peer, config.window, kMaxPeers) {
  if (metrics != nullptr) {
    refused_ = &metrics->counter("mediax_rate_limited_total", "requests refused with 429 by a rate limit (security.*)",
                                 {{"limit", "auth_failures_per_peer"}});
  }
}

std::chrono::seconds AuthFailureGuard::wait(const std::string& peer) {
  if (peer.empty()) return std::chrono::seconds(0);
  std::chrono::seconds w;
  {
    std::lock_guard lk(mu_);
    w = failures_.wait(peer, time_.monotonic());
  }
  if (w.count() > 0 && refused_ != nullptr) refused_->inc();
  return w;
}

void AuthFailureGuard::failed(const std::string& peer, const std::string& method, const std::string& path) {
  if (peer.empty()) return;
  bool reached = false;
  {
    std::lock_guard lk(mu_);
    reached = failures_.count(peer, time_.monotonic());
  }
  if (reached) {
    // Once per window and peer: the key (if any) is never logged; the path is (no query string).
    spdlog::warn(
        "auth: {} failed authentications from {} within {} s (the last: {} {}); it gets 429 on routes that need a key "
        "until the window ends",
        config_.failures_per_peer, peer, config_.window.count(), method, path);
  }
}

}  // namespace mediax

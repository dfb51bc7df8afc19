#include "schedule/refresh_policy.hpp"

#include <algorithm>
#include <cmath>

namespace mediax {

TimePoint retry_after_lease_refused(TimePoint now, std::optional<TimePoint> next_refresh_at,
                                    std::optional<TimePoint> lease_until, Seconds lease_for) {
  const auto second = std::chrono::seconds(1);
  if (!next_refresh_at) return now + lease_for;
  if (*next_refresh_at > now + second) return *next_refresh_at;
  if (lease_until && *lease_until > now) return std::min(*lease_until, now + lease_for) + second;
  return now + second;
}

TimePoint next_refresh_after(RefreshPolicy& policy, const TokenResult& t, TimePoint received_at, TimePoint expires_at,
                             const std::optional<std::string>& previous) {
  TimePoint at;
  if (t.same_until_expiry && previous && *previous == t.access_token) {
    at = std::max(expires_at, received_at) + std::chrono::seconds(1);
  } else {
    at = policy.next_refresh(received_at, expires_at, received_at);
  }
  if (t.call_again_by) at = std::min(at, std::max(*t.call_again_by, received_at));
  return at;
}

RefreshPolicy::RefreshPolicy(const RefreshConfig& cfg, std::uint64_t seed) : cfg_(cfg), rng_(seed) {}

RefreshConfig RefreshPolicy::config() const {
  std::lock_guard lk(mu_);
  return cfg_;
}

void RefreshPolicy::update(const RefreshConfig& cfg) {
  std::lock_guard lk(mu_);
  cfg_ = cfg;
}

Seconds RefreshPolicy::lifetime_default() const {
  std::lock_guard lk(mu_);
  return Seconds(cfg_.default_expires_in);
}

TimePoint RefreshPolicy::next_refresh(TimePoint issued_at, TimePoint expires_at, TimePoint now) {
  const auto cfg = config();
  auto lifetime = std::chrono::duration_cast<Seconds>(expires_at - issued_at);
  if (lifetime.count() < 0) lifetime = Seconds(0);
  auto by_fraction =
      Seconds(static_cast<std::int64_t>(std::llround(cfg.fraction * static_cast<double>(lifetime.count()))));
  // min_margin_seconds counts up to half the lifetime: a token that lives 60 s (or 10 s) with a
  // 60 s margin would otherwise be due the moment it arrives and be refreshed in a tight loop,
  // and one of 61 s every second.
  auto margin = std::max(by_fraction, std::min(Seconds(cfg.min_margin_seconds), lifetime / 2));
  Seconds jitter(0);
  if (cfg.jitter_seconds > 0) {
    std::uniform_int_distribution<std::int64_t> d(0, cfg.jitter_seconds);
    {
      std::lock_guard lk(mu_);
      jitter = Seconds(d(rng_));
    }
    // Jitter only spreads load; it must not eat more than a quarter of the remaining margin.
    jitter = std::min(jitter, Seconds((lifetime - margin).count() / 4));
  }
  auto at = expires_at - margin - jitter;
  return std::max(at, now);
}

TimePoint RefreshPolicy::retry_at(int failures, TimePoint now, std::optional<Seconds> retry_after,
                                  std::optional<TimePoint> token_expires_at) {
  const auto cfg = config();
  failures = std::max(failures, 1);
  double base = static_cast<double>(cfg.retry_min_seconds) * std::pow(2.0, std::min(failures - 1, 30));
  base = std::min(base, static_cast<double>(cfg.retry_max_seconds));
  std::uniform_real_distribution<double> d(0.5, 1.0);
  double r;
  {
    std::lock_guard lk(mu_);
    r = d(rng_);
  }
  auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(base * r * 1000.0));
  if (token_expires_at) {
    // Close to expiry: retry at least every quarter of the time left (but not faster than retry_min).
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*token_expires_at - now);
    auto urgent = std::max(left / 4, std::chrono::milliseconds(cfg.retry_min_seconds * 1000));
    delay = std::min(delay, urgent);
  }
  if (retry_after && std::chrono::milliseconds(*retry_after) > delay) delay = *retry_after;
  return now + std::chrono::duration_cast<SysClock::duration>(delay);
}

}  // namespace mediax

#include "service/rejected_limits.hpp"

#include <algorithm>

namespace mediax {

namespace {

constexpr std::chrono::seconds kMinute{60};
// Keys are few; tokens may be millions, but only those reported within the last minute are
// remembered, and never more than this many (core/rate_window.hpp drops the oldest).
constexpr std::size_t kMaxKeys = 10'000;
constexpr std::size_t kMaxTokens = 100'000;

std::string token_id(const RefreshKey& k) {
  return k.is_app_token() ? "app:" + std::to_string(k.app_id) : "grant:" + std::to_string(k.grant_id);
}

}  // namespace

RejectedLimits::RejectedLimits(RejectedLimitsConfig config, const TimeSource& time, metrics::Registry* metrics)
    : time_(time),
      per_key_(config.per_key_per_minute, kMinute, kMaxKeys),
      per_token_(config.per_token_per_minute, kMinute, kMaxTokens) {
  if (metrics != nullptr) {
    const std::string help = "requests refused with 429 by a rate limit (security.*)";
    refused_per_key_ = &metrics->counter("mediax_rate_limited_total", help, {{"limit", "rejected_per_key"}});
    refused_per_token_ = &metrics->counter("mediax_rate_limited_total", help, {{"limit", "rejected_per_token"}});
  }
}

RejectedLimits::Verdict RejectedLimits::admit(const std::string& key_name, const RefreshKey& token) {
  const auto now = time_.monotonic();
  const std::string tid = token_id(token);
  std::lock_guard lk(mu_);
  // An empty name: no API keys configured (tests); the token's limit still holds.
  const auto key_wait = key_name.empty() ? std::chrono::seconds(0) : per_key_.wait(key_name, now);
  const auto token_wait = per_token_.wait(tid, now);
  if (key_wait > std::chrono::seconds(0) || token_wait > std::chrono::seconds(0)) {
    const bool by_key = key_wait >= token_wait;
    if (auto* c = by_key ? refused_per_key_ : refused_per_token_) c->inc();
    return Verdict{std::max(key_wait, token_wait), by_key ? "key" : "token",
                   by_key ? per_key_.limit() : per_token_.limit()};
  }
  if (!key_name.empty()) per_key_.count(key_name, now);
  per_token_.count(tid, now);
  return Verdict{};
}

}  // namespace mediax

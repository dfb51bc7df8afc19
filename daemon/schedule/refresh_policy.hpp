// When to refresh and how long to back off: pure functions of the settings and the time
// (plus a seeded random source for jitter). Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>

#include "config/config.hpp"
#include "core/types.hpp"

namespace mediax {

// When to look again at a key whose lease could not be taken (a scheduled refresh that found
// the row leased or no longer due), from what the database says now: the row's new refresh time
// when another instance moved it (it refreshed first); when the row is still due but leased,
// just after the lease runs out (a dead holder is taken over within a lease, not two: the timer
// wheel fires up to a second early, hence the second added); due and free again, in a second;
// without a refresh time, after a lease.
TimePoint retry_after_lease_refused(TimePoint now, std::optional<TimePoint> next_refresh_at,
                                    std::optional<TimePoint> lease_until, Seconds lease_for);

class RefreshPolicy {
 public:
  explicit RefreshPolicy(const RefreshConfig& cfg, std::uint64_t seed = std::random_device{}());

  // expires_at - max(min_margin, fraction * lifetime) - U(0, jitter), never before now.
  // lifetime is expires_at - issued_at.
  TimePoint next_refresh(TimePoint issued_at, TimePoint expires_at, TimePoint now);
  // Exponential backoff with jitter after the n-th consecutive failure (n >= 1):
  // U(0.5, 1) * min(retry_max, retry_min * 2^(n-1)); a platform's Retry-After wins when longer.
  // Never later than the moment the current token's refresh margin runs out, unless the
  // platform asked for more: a token close to expiry is retried more urgently.
  TimePoint retry_at(int failures, TimePoint now, std::optional<Seconds> retry_after,
                     std::optional<TimePoint> token_expires_at);
  Seconds lifetime_default() const;
  // A copy: settings can be swapped at run time (SIGHUP).
  RefreshConfig config() const;
  void update(const RefreshConfig& cfg);

 private:
  RefreshConfig cfg_;
  mutable std::mutex mu_;  // guards cfg_ and rng_: called from worker threads
  std::mt19937_64 rng_;
};

// When to refresh after a success that gave a token expiring at expires_at:
//  - policy.next_refresh over the token's lifetime as received (a new token: the lifetime it was
//    issued with);
//  - a token the platform keeps until it expires (t.same_until_expiry) that came back unchanged
//    (equal to `previous`) cannot be replaced before it expires: it is served to its end and the
//    next one fetched a second after. A lifetime costs two calls at most, never a burst of calls
//    in its last seconds;
//  - never later than the platform's t.call_again_by (Douyin: a renewal or the last refresh
//    before the refresh token dies), nor earlier than received_at.
TimePoint next_refresh_after(RefreshPolicy& policy, const TokenResult& t, TimePoint received_at, TimePoint expires_at,
                             const std::optional<std::string>& previous);

}  // namespace mediax

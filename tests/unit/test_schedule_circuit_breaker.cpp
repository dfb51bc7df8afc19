// The circuit breaker state machine and the per-endpoint guards, driven by passed-in time; a
// worker's wait for a slot is measured on a ManualTimeSource that the test advances.
#include <gtest/gtest.h>

#include <future>
#include <set>
#include <thread>
#include <vector>

#include "schedule/circuit_breaker.hpp"
#include "support/manual_time_source.hpp"

namespace mediax {
namespace {

using namespace std::chrono_literals;

const TimePoint kT0 = from_unix(1'800'000'000);

BreakerSettings settings(int threshold = 3, int cooldown = 10, int max_cooldown = 60, int max_in_flight = 4) {
  BreakerSettings s;
  s.failure_threshold = threshold;
  s.cooldown = Seconds(cooldown);
  s.max_cooldown = Seconds(max_cooldown);
  s.max_in_flight = max_in_flight;
  s.healthy_max_in_flight = max_in_flight;
  s.busy_retry = Seconds(2);
  return s;
}

// A token that outlives any cool-down in these tests: not urgent.
const std::optional<TimePoint> kFarExpiry = kT0 + 24h;

// Tests whose guards never wait for a slot: the clock they measure waits on never moves.
const ManualTimeSource kStill;

// admit() with a slot wait, on a thread of its own: the test advances the clock or frees a slot
// while it waits.
std::future<PlatformGuards::Permit> admit_waiting(PlatformGuards& g, const PlatformGuards::Endpoint& e, TimePoint now,
                                                  std::chrono::milliseconds wait) {
  return std::async(std::launch::async, [&g, e, now, wait] { return g.admit(e, now, kFarExpiry, wait); });
}

// Spins (no sleep) until a worker waits for a slot of e.
void until_waiting(const PlatformGuards& g, const PlatformGuards::Endpoint& e) {
  for (;;) {
    for (const auto& s : g.snapshot(kT0)) {
      if (s.endpoint.id() == e.id() && s.waiting > 0) return;
    }
    std::this_thread::yield();
  }
}

// A wait that ended: a wait that does not end fails here instead of hanging the suite.
PlatformGuards::Permit ended(std::future<PlatformGuards::Permit>& f) {
  if (f.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "admit() is still waiting";
    std::abort();  // the thread holds references into this test's frame
  }
  return f.get();
}

TEST(CircuitBreaker, StaysClosedBelowTheThresholdAndAnAnswerResetsTheCount) {
  CircuitBreaker b(settings(3));
  b.on_failure(kT0);
  b.on_failure(kT0);
  EXPECT_EQ(b.state(kT0), CircuitState::closed);
  EXPECT_TRUE(b.admit(kT0, kFarExpiry).allowed);
  b.on_answer(kT0);
  EXPECT_EQ(b.consecutive_failures(), 0);
  b.on_failure(kT0);
  b.on_failure(kT0);
  EXPECT_EQ(b.state(kT0), CircuitState::closed) << "failures before the answer must not count";
}

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresAndRefusesUntilTheCooldownEnds) {
  CircuitBreaker b(settings(3, 10));
  for (int i = 0; i < 3; ++i) b.on_failure(kT0);
  EXPECT_EQ(b.state(kT0), CircuitState::open);
  EXPECT_EQ(b.open_until(), kT0 + 10s);
  auto a = b.admit(kT0 + 5s, kFarExpiry);
  EXPECT_FALSE(a.allowed);
  EXPECT_EQ(a.retry_at, kT0 + 10s);
  EXPECT_EQ(b.state(kT0 + 10s), CircuitState::half_open);
}

TEST(CircuitBreaker, HalfOpenLetsExactlyOneProbeThroughAndItsAnswerCloses) {
  CircuitBreaker b(settings(1, 10));
  b.on_failure(kT0);
  auto probe = b.admit(kT0 + 10s, kFarExpiry);
  ASSERT_TRUE(probe.allowed);
  EXPECT_TRUE(probe.probe);
  auto second = b.admit(kT0 + 10s, kFarExpiry);
  EXPECT_FALSE(second.allowed) << "a second call while the probe is out";
  EXPECT_GT(second.retry_at, kT0 + 10s);
  b.on_answer(kT0 + 11s);
  EXPECT_EQ(b.state(kT0 + 11s), CircuitState::closed);
  EXPECT_TRUE(b.admit(kT0 + 11s, kFarExpiry).allowed);
  EXPECT_EQ(b.openings(), 0);
}

TEST(CircuitBreaker, FailedProbesDoubleTheCooldownUpToTheMaximum) {
  CircuitBreaker b(settings(1, 10, 35));
  TimePoint t = kT0;
  b.on_failure(t);
  std::vector<Seconds> periods;
  for (int i = 0; i < 4; ++i) {
    periods.push_back(std::chrono::duration_cast<Seconds>(b.open_until() - t));
    t = b.open_until();
    auto probe = b.admit(t, kFarExpiry);
    ASSERT_TRUE(probe.allowed && probe.probe) << "probe " << i;
    b.on_failure(t);
    EXPECT_EQ(b.state(t), CircuitState::open);
  }
  EXPECT_EQ(periods, (std::vector<Seconds>{10s, 20s, 35s, 35s}));
}

TEST(CircuitBreaker, AFailureOfACallStartedBeforeOpeningDoesNotExtendTheCooldown) {
  CircuitBreaker b(settings(2, 10));
  b.on_failure(kT0);
  b.on_failure(kT0);
  const auto until = b.open_until();
  b.on_failure(kT0 + 1s);  // a call that was already in flight
  EXPECT_EQ(b.open_until(), until);
}

TEST(CircuitBreaker, AnAbandonedProbeLetsTheNextCallProbe) {
  CircuitBreaker b(settings(1, 10));
  b.on_failure(kT0);
  auto probe = b.admit(kT0 + 10s, kFarExpiry);
  ASSERT_TRUE(probe.probe);
  b.on_abandoned(true);
  auto next = b.admit(kT0 + 10s, kFarExpiry);
  EXPECT_TRUE(next.allowed);
  EXPECT_TRUE(next.probe);
}

TEST(CircuitBreaker, ATokenExpiringBeforeTheCircuitClosesMayProbeOncePerCooldown) {
  CircuitBreaker b(settings(1, 10, 600));
  // Open for long: three failed probes in a row (10, 20, 40 s).
  TimePoint t = kT0;
  b.on_failure(t);
  for (int i = 0; i < 2; ++i) {
    t = b.open_until();
    ASSERT_TRUE(b.admit(t, kFarExpiry).probe);
    b.on_failure(t);
  }
  ASSERT_EQ(b.open_until(), t + 40s);
  const auto soon = std::optional<TimePoint>(t + 15s);  // expires long before the circuit closes
  EXPECT_FALSE(b.admit(t + 1s, kFarExpiry).allowed) << "a token with time left waits";
  auto early = b.admit(t + 1s, soon);
  EXPECT_FALSE(early.allowed) << "the last probe was just now";
  EXPECT_EQ(early.retry_at, t + 10s);
  auto urgent = b.admit(t + 10s, soon);
  EXPECT_TRUE(urgent.allowed);
  EXPECT_TRUE(urgent.probe);
  b.on_failure(t + 11s);
  EXPECT_EQ(b.state(t + 11s), CircuitState::open);
  EXPECT_FALSE(b.admit(t + 12s, soon).allowed) << "one urgent probe per cool-down";
  EXPECT_TRUE(b.admit(t + 21s, std::nullopt).allowed) << "no token at all is urgent too";
}

TEST(PlatformGuards, CapsCallsInFlightPerEndpointAndNotAcrossEndpoints) {
  PlatformGuards g(settings(3, 10, 60, 2), kStill, 42);
  const PlatformGuards::Endpoint slow{"oauth2", "slow.example:443"};
  const PlatformGuards::Endpoint fast{"oauth2", "fast.example:443"};
  auto a = g.admit(slow, kT0, kFarExpiry);
  auto b = g.admit(slow, kT0, kFarExpiry);
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = g.admit(slow, kT0, kFarExpiry);
  EXPECT_EQ(c.refusal(), PlatformGuards::Refusal::endpoint_busy);
  EXPECT_GE(c.retry_at(), kT0 + 1s);
  EXPECT_LE(c.retry_at(), kT0 + 2s);
  auto d = g.admit(fast, kT0, kFarExpiry);
  EXPECT_TRUE(d.ok()) << "another endpoint is not held up";
  a.done(true, kT0 + 1s);
  EXPECT_TRUE(g.admit(slow, kT0 + 1s, kFarExpiry).ok()) << "a finished call frees its slot";
}

// request_timeout_ms 3000 gives a busy_retry of 1 s. Halved in whole seconds that was 0: every
// deferred refresh came back at once and the scheduler spun (the soak, tests/e2e/test_soak.cpp,
// logged millions of deferrals and starved the platform). A deferral is at least a second away:
// the scheduler fires by whole seconds.
TEST(PlatformGuards, AWorkerWaitsForASlotOfAnAnsweringEndpointButNotOfAFailingOne) {
  ManualTimeSource clock;
  PlatformGuards g(settings(3, 10, 60, 1), clock);
  const PlatformGuards::Endpoint ep{"oauth2", "idp:443"};
  auto held = g.admit(ep, kT0, kFarExpiry);
  ASSERT_TRUE(held.ok());
  // No wait: refused at once, as before.
  EXPECT_EQ(g.admit(ep, kT0, kFarExpiry).refusal(), PlatformGuards::Refusal::endpoint_busy);
  // A wait long enough for the call in flight to end: the slot is handed over.
  auto waiting = admit_waiting(g, ep, kT0, 10s);
  until_waiting(g, ep);
  held.done(true, kT0);
  auto next = ended(waiting);
  EXPECT_TRUE(next.ok());
  // Still busy when the wait is over: refused then, and not before (it was waiting).
  auto busy = admit_waiting(g, ep, kT0, 50ms);
  until_waiting(g, ep);
  clock.advance(50ms);
  EXPECT_EQ(ended(busy).refusal(), PlatformGuards::Refusal::endpoint_busy);
  // Failing: no waiting at all, whatever the caller allows (the clock does not move).
  next.done(false, kT0);
  auto failing = g.admit(ep, kT0, kFarExpiry);
  ASSERT_TRUE(failing.ok());
  auto at_once = admit_waiting(g, ep, kT0, 10s);
  EXPECT_EQ(ended(at_once).refusal(), PlatformGuards::Refusal::endpoint_busy);
}

TEST(PlatformGuards, AnEndpointWhoseCallsAllHangIsNotWaitedForOnceItHasMadeNoProgressForTheWait) {
  // Found by the e2e Breaker test: calls to a hanging platform look healthy until the first times
  // out; the last free worker waited a second per key of that platform, and another platform's
  // keys, queued behind, expired.
  ManualTimeSource clock;
  PlatformGuards g(settings(3, 10, 60, 1), clock);
  const PlatformGuards::Endpoint ep{"oauth2", "hangs:443"};
  auto held = g.admit(ep, kT0, kFarExpiry);  // started at kT0, never ends in this test
  ASSERT_TRUE(held.ok());
  // 400 ms after it started: wait what is left of the window (600 ms, not the 1000 allowed), then
  // refuse.
  auto rest = admit_waiting(g, ep, kT0 + 400ms, 1000ms);
  until_waiting(g, ep);
  clock.advance(600ms);
  EXPECT_EQ(ended(rest).refusal(), PlatformGuards::Refusal::endpoint_busy);
  // 1.5 s after it started with nothing ended since: no wait at all (the clock does not move).
  auto none = admit_waiting(g, ep, kT0 + 1500ms, 1000ms);
  EXPECT_EQ(ended(none).refusal(), PlatformGuards::Refusal::endpoint_busy);
  // A call that ends is progress: the next caller waits for a slot again, and gets it.
  auto second = g.admit(PlatformGuards::Endpoint{"oauth2", "other:443"}, kT0, kFarExpiry);
  ASSERT_TRUE(second.ok()) << "endpoints are counted apart";
  held.done(true, kT0 + 2s);
  auto next = g.admit(ep, kT0 + 2s + 100ms, kFarExpiry, 1000ms);
  EXPECT_TRUE(next.ok());
}

TEST(PlatformGuards, AnOpenCircuitLetsAProbeThroughOnceTheClockHasPassedTheCooldown) {
  ManualTimeSource clock(kT0);
  PlatformGuards g(settings(2, 20, 60, 4), clock, 7);
  const PlatformGuards::Endpoint ep{"oauth2", "flaky.example:443"};
  for (int i = 0; i < 2; ++i) g.admit(ep, clock.system(), kFarExpiry).done(false, clock.system());
  auto refused = g.admit(ep, clock.system(), kFarExpiry);
  ASSERT_EQ(refused.refusal(), PlatformGuards::Refusal::circuit_open);
  clock.advance(19s);
  EXPECT_EQ(g.admit(ep, clock.system(), kFarExpiry).refusal(), PlatformGuards::Refusal::circuit_open)
      << "a second before the cool-down ends";
  clock.advance(1s);
  ASSERT_EQ(g.snapshot(clock.system()).front().state, CircuitState::half_open);
  auto probe = g.admit(ep, clock.system(), kFarExpiry);
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(g.admit(ep, clock.system(), kFarExpiry).refusal(), PlatformGuards::Refusal::circuit_open)
      << "one probe at a time";
  probe.done(true, clock.system());
  EXPECT_EQ(g.snapshot(clock.system()).front().state, CircuitState::closed);
  EXPECT_TRUE(g.admit(ep, clock.system(), kFarExpiry).ok());
}

TEST(PlatformGuards, ABusyEndpointIsLookedAtAgainNoSoonerThanASecondLater) {
  auto s = settings(3, 10, 60, 1);
  s.busy_retry = Seconds(1);
  PlatformGuards g(s, kStill, 7);
  const PlatformGuards::Endpoint e{"oauth2", "busy.example:443"};
  auto held = g.admit(e, kT0, kFarExpiry);
  ASSERT_TRUE(held.ok());
  for (int i = 0; i < 50; ++i) {
    const auto now = kT0 + std::chrono::milliseconds(37 * i);
    auto p = g.admit(e, now, kFarExpiry);
    ASSERT_EQ(p.refusal(), PlatformGuards::Refusal::endpoint_busy);
    EXPECT_GE(p.retry_at(), now + 1s);
    EXPECT_LE(p.retry_at(), now + 1500ms);
  }
  RefreshConfig cfg;
  cfg.request_timeout_ms = 3000;
  EXPECT_EQ(breaker_settings(cfg).busy_retry, Seconds(1));
}

TEST(PlatformGuards, AbandonedPermitsFreeTheirSlot) {
  PlatformGuards g(settings(3, 10, 60, 1), kStill, 42);
  const PlatformGuards::Endpoint e{"douyin", ""};
  {
    auto p = g.admit(e, kT0, kFarExpiry);
    ASSERT_TRUE(p.ok());
    EXPECT_FALSE(g.admit(e, kT0, kFarExpiry).ok());
  }
  EXPECT_TRUE(g.admit(e, kT0, kFarExpiry).ok());
}

TEST(PlatformGuards, OpenCircuitDefersWithJitterAndSnapshotsShowIt) {
  PlatformGuards g(settings(2, 20, 60, 4), kStill, 7);
  const PlatformGuards::Endpoint e{"oauth2", "down.example:443"};
  for (int i = 0; i < 2; ++i) {
    auto p = g.admit(e, kT0, kFarExpiry);
    ASSERT_TRUE(p.ok());
    p.done(false, kT0);
  }
  std::set<TimePoint> retries;
  for (int i = 0; i < 20; ++i) {
    auto p = g.admit(e, kT0 + 1s, kFarExpiry);
    ASSERT_EQ(p.refusal(), PlatformGuards::Refusal::circuit_open);
    EXPECT_GE(p.retry_at(), kT0 + 20s);
    EXPECT_LE(p.retry_at(), kT0 + 25s);  // cool-down plus up to a quarter of it
    retries.insert(p.retry_at());
  }
  EXPECT_GT(retries.size(), 1u) << "deferred calls must not all come back at the same second";
  auto snap = g.snapshot(kT0 + 1s);
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0].state, CircuitState::open);
  EXPECT_EQ(snap[0].in_flight, 0);
  EXPECT_EQ(snap[0].endpoint.id(), "oauth2 down.example:443");
}

TEST(PlatformGuards, TheJitterOfADeferralNeverCarriesATokenPastItsExpiry) {
  // Found by bench/run.sh punctuality: a burst of failures at start opened the circuit for 30 s;
  // tokens expiring a few seconds after it reopened came back up to 7 s later, already expired.
  PlatformGuards g(settings(2, 20, 60, 4), kStill, 11);
  const PlatformGuards::Endpoint e{"oauth2", "down.example:443"};
  for (int i = 0; i < 2; ++i) {
    auto p = g.admit(e, kT0, kFarExpiry);
    ASSERT_TRUE(p.ok());
    p.done(false, kT0);
  }
  // Open until kT0 + 20 s. Tokens expiring 1..6 s after that are not urgent (they outlive the
  // open circuit) and wait for it, but come back before they expire.
  std::set<TimePoint> spread;
  for (int left_after_open = 1; left_after_open <= 6; ++left_after_open) {
    const auto expires = kT0 + 20s + Seconds(left_after_open);
    for (int i = 0; i < 30; ++i) {
      auto p = g.admit(e, kT0 + 1s, expires);
      ASSERT_EQ(p.refusal(), PlatformGuards::Refusal::circuit_open);
      EXPECT_GE(p.retry_at(), kT0 + 20s);
      EXPECT_LE(p.retry_at(), kT0 + 20s + Seconds(left_after_open / 2)) << left_after_open << " s left at reopening";
      EXPECT_LT(p.retry_at(), expires);
      if (left_after_open == 6) spread.insert(p.retry_at());
    }
  }
  EXPECT_GT(spread.size(), 1u) << "with room to spare, deferrals are still spread";
}

TEST(PlatformGuards, ADeferralIsNeverDueWithinTheCurrentSecond) {
  // The circuit reopens 300 ms into a second; a key deferred earlier in that second to the
  // reopening (no spread: its token expires soon after) would be due at once, again and again.
  // Found by the e2e Breaker test, where such keys spun and starved a healthy platform's refreshes.
  PlatformGuards g(settings(1, 10, 60, 4), kStill, 5);
  const PlatformGuards::Endpoint e{"oauth2", "down.example:443"};
  auto first = g.admit(e, kT0 + 300ms, kFarExpiry);
  ASSERT_TRUE(first.ok());
  first.done(false, kT0 + 300ms);  // open until kT0 + 10.3 s
  for (int i = 0; i < 20; ++i) {
    auto p = g.admit(e, kT0 + 10s + 100ms, kT0 + 10s + 800ms);
    ASSERT_EQ(p.refusal(), PlatformGuards::Refusal::circuit_open);
    EXPECT_GE(p.retry_at(), kT0 + 11s + 100ms);
  }
}

TEST(PlatformGuards, WhileAProbeIsInFlightATokenAboutToExpireLooksAgainSooner) {
  PlatformGuards g(settings(1, 10, 60, 4), kStill, 3);
  const PlatformGuards::Endpoint e{"oauth2", "down.example:443"};
  auto first = g.admit(e, kT0, kFarExpiry);
  ASSERT_TRUE(first.ok());
  first.done(false, kT0);
  auto probe = g.admit(e, kT0 + 10s, kFarExpiry);  // half-open: this call probes
  ASSERT_TRUE(probe.ok());
  auto far = g.admit(e, kT0 + 10s, kFarExpiry);
  ASSERT_EQ(far.refusal(), PlatformGuards::Refusal::circuit_open);
  EXPECT_GE(far.retry_at(), kT0 + 15s) << "a token with time left waits for the probe's answer";
  auto soon = g.admit(e, kT0 + 10s, kT0 + 14s);
  ASSERT_EQ(soon.refusal(), PlatformGuards::Refusal::circuit_open);
  EXPECT_GE(soon.retry_at(), kT0 + 12s) << "half of the 4 s it has left";
  EXPECT_LT(soon.retry_at(), kT0 + 14s) << "jitter included";
  auto last_second = g.admit(e, kT0 + 10s, kT0 + 10s + 500ms);
  EXPECT_EQ(last_second.retry_at(), kT0 + 11s) << "never sooner than a second";
  probe.done(true, kT0 + 11s);
}

TEST(PlatformGuards, HealthyEndpointUsesAllWorkersButOneAndAFailureTightensTheCap) {
  BreakerSettings s = settings(/*threshold=*/3, 10, 60, /*max_in_flight=*/2);
  s.healthy_max_in_flight = 4;
  PlatformGuards g(s, kStill, 7);
  const PlatformGuards::Endpoint e{"oauth2", "idp.example:443"};
  std::vector<PlatformGuards::Permit> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(g.admit(e, kT0, std::nullopt));
    ASSERT_TRUE(held.back().ok()) << "healthy: call " << i;
  }
  EXPECT_EQ(g.admit(e, kT0, std::nullopt).refusal(), PlatformGuards::Refusal::endpoint_busy);
  held[0].done(/*answered=*/false, kT0);  // one failure: the endpoint is suspect now
  held[1].done(false, kT0);
  // Two calls still in flight, the failing cap is 2: refused although the healthy cap would allow it.
  EXPECT_EQ(g.admit(e, kT0, std::nullopt).refusal(), PlatformGuards::Refusal::endpoint_busy);
  held[2].done(true, kT0);  // an answer: healthy again
  auto again = g.admit(e, kT0, std::nullopt);
  EXPECT_TRUE(again.ok());
}

TEST(PlatformGuards, SettingsFromConfigDefaultToHalfTheWorkers) {
  RefreshConfig cfg;
  cfg.max_concurrent = 16;
  EXPECT_EQ(breaker_settings(cfg).max_in_flight, 8);
  EXPECT_EQ(breaker_settings(cfg).healthy_max_in_flight, 15);
  cfg.max_concurrent = 1;
  EXPECT_EQ(breaker_settings(cfg).max_in_flight, 1);
  EXPECT_EQ(breaker_settings(cfg).healthy_max_in_flight, 1);
  cfg.max_in_flight_per_endpoint = 3;
  EXPECT_EQ(breaker_settings(cfg).max_in_flight, 3);
  EXPECT_EQ(breaker_settings(cfg).healthy_max_in_flight, 3);
  cfg.breaker_cooldown_seconds = 100;
  cfg.breaker_max_cooldown_seconds = 10;
  EXPECT_EQ(breaker_settings(cfg).max_cooldown, Seconds(100)) << "the maximum is never below the first cool-down";
}

}  // namespace
}  // namespace mediax

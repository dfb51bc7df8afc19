#include <gtest/gtest.h>

#include "schedule/refresh_policy.hpp"

using namespace mediax;
using std::chrono::seconds;

namespace {
RefreshConfig cfg(double fraction, int margin, int jitter) {
  RefreshConfig c;
  c.fraction = fraction;
  c.min_margin_seconds = margin;
  c.jitter_seconds = jitter;
  c.retry_min_seconds = 5;
  c.retry_max_seconds = 600;
  return c;
}
const TimePoint kNow = from_unix(1'900'000'000);
}  // namespace

TEST(RefreshPolicy, RefreshesAtTheLargerOfMarginAndFraction) {
  RefreshPolicy p(cfg(0.2, 60, 0));
  // 2 h token: 20 % is 1440 s, larger than 60 s.
  EXPECT_EQ(p.next_refresh(kNow, kNow + seconds(7200), kNow), kNow + seconds(7200 - 1440));
  // 150 s token: 20 % is 30 s, the 60 s margin wins.
  EXPECT_EQ(p.next_refresh(kNow, kNow + seconds(150), kNow), kNow + seconds(90));
}

TEST(RefreshPolicy, MarginCountsUpToHalfTheLifetime) {
  RefreshPolicy p(cfg(0.2, 60, 0));
  // A 10 s token with a 60 s margin would be refreshed immediately, forever: use half its life.
  EXPECT_EQ(p.next_refresh(kNow, kNow + seconds(10), kNow), kNow + seconds(5));
  // Exactly the margin (a 60 s token and the default 60 s): half its life too, not at once.
  EXPECT_EQ(p.next_refresh(kNow, kNow + seconds(60), kNow), kNow + seconds(30));
  // Just over it: not a refresh every second.
  EXPECT_EQ(p.next_refresh(kNow, kNow + seconds(61), kNow), kNow + seconds(31));
  EXPECT_EQ(p.next_refresh(kNow, kNow + seconds(100), kNow), kNow + seconds(50));
  EXPECT_EQ(p.next_refresh(kNow, kNow + seconds(120), kNow), kNow + seconds(60));
  // A fraction above one half is taken as configured.
  RefreshPolicy eager(cfg(0.75, 60, 0));
  EXPECT_EQ(eager.next_refresh(kNow, kNow + seconds(100), kNow), kNow + seconds(25));
}

TEST(RefreshPolicy, JitterOnlyMakesItEarlierAndStaysBounded) {
  RefreshPolicy p(cfg(0.1, 60, 30), 42);
  const auto latest = kNow + seconds(3600 - 360);
  bool saw_earlier = false;
  for (int i = 0; i < 200; ++i) {
    auto at = p.next_refresh(kNow, kNow + seconds(3600), kNow);
    EXPECT_LE(at, latest);
    EXPECT_GE(at, latest - seconds(30));
    saw_earlier |= at < latest;
  }
  EXPECT_TRUE(saw_earlier);
}

TEST(RefreshPolicy, AlreadyDueMeansNow) {
  RefreshPolicy p(cfg(0.2, 60, 0));
  EXPECT_EQ(p.next_refresh(kNow - seconds(7200), kNow - seconds(10), kNow), kNow);
}

TEST(RefreshPolicy, BackoffGrowsExponentiallyWithinBounds) {
  RefreshPolicy p(cfg(0.2, 60, 0), 7);
  for (int n = 1; n <= 12; ++n) {
    auto at = p.retry_at(n, kNow, std::nullopt, std::nullopt);
    double cap = std::min(600.0, 5.0 * (1 << (n - 1)));
    auto d = std::chrono::duration<double>(at - kNow).count();
    EXPECT_GE(d, cap * 0.5 - 0.001) << "failure " << n;
    EXPECT_LE(d, cap + 0.001) << "failure " << n;
  }
}

TEST(RefreshPolicy, RetryAfterFromThePlatformWins) {
  RefreshPolicy p(cfg(0.2, 60, 0));
  EXPECT_EQ(p.retry_at(1, kNow, seconds(120), std::nullopt), kNow + seconds(120));
}

TEST(RefreshPolicy, NearExpiryRetriesMoreUrgently) {
  RefreshPolicy p(cfg(0.2, 60, 0));
  // Ninth failure would wait 300..600 s, but the token dies in 100 s: retry within 25 s.
  auto at = p.retry_at(9, kNow, std::nullopt, kNow + seconds(100));
  EXPECT_LE(at, kNow + seconds(25));
  EXPECT_GE(at, kNow + seconds(5));
}

TEST(RefreshPolicy, SettingsCanBeSwappedAtRunTime) {
  RefreshPolicy p(cfg(0.2, 60, 0));
  auto c = cfg(0.5, 60, 0);
  p.update(c);
  EXPECT_EQ(p.next_refresh(kNow, kNow + seconds(7200), kNow), kNow + seconds(3600));
}

// ---- next_refresh_after: the policy, a platform's call_again_by, tokens kept until they expire

TEST(RefreshAfterSuccess, IsThePolicysTimeForANewToken) {
  RefreshPolicy p(cfg(0.2, 60, 0));
  TokenResult t;
  t.access_token = "new";
  EXPECT_EQ(next_refresh_after(p, t, kNow, kNow + seconds(7200), std::string("old")), kNow + seconds(7200 - 1440));
}

TEST(RefreshAfterSuccess, ThePlatformsCallAgainByWinsWhenEarlierAndIsNeverInThePast) {
  RefreshPolicy p(cfg(0.2, 60, 0));
  TokenResult t;
  t.call_again_by = kNow + seconds(100);
  EXPECT_EQ(next_refresh_after(p, t, kNow, kNow + seconds(7200), std::nullopt), kNow + seconds(100));
  t.call_again_by = kNow + seconds(10000);
  EXPECT_EQ(next_refresh_after(p, t, kNow, kNow + seconds(7200), std::nullopt), kNow + seconds(5760));
  t.call_again_by = kNow - seconds(5);
  EXPECT_EQ(next_refresh_after(p, t, kNow, kNow + seconds(7200), std::nullopt), kNow);
}

TEST(RefreshAfterSuccess, ATokenKeptUntilItExpiresIsFetchedAgainRightAfterItsEnd) {
  RefreshPolicy p(cfg(0.2, 60, 15));
  TokenResult t;
  t.same_until_expiry = true;
  t.access_token = "stable-1";
  // It came back unchanged 1440 s before its end: no call can replace it before then.
  EXPECT_EQ(next_refresh_after(p, t, kNow, kNow + seconds(1440), std::string("stable-1")), kNow + seconds(1441));
  // A new one is scheduled by the policy over its whole life.
  const auto next = next_refresh_after(p, t, kNow, kNow + seconds(7200), std::string("stable-0"));
  EXPECT_LE(next, kNow + seconds(7200 - 1440));
  EXPECT_GE(next, kNow + seconds(7200 - 1440 - 15));
}

TEST(RefreshAfterSuccess, AStableTokenCostsAtMostTwoCallsPerLifetime) {
  // Douyin's stable_client_token over 10 lifetimes, with a fake clock: the same token until it
  // expires, a new one (2 h) on the first call after.
  RefreshPolicy p(cfg(0.2, 60, 15));
  TimePoint now = kNow;
  std::string current;
  TimePoint expires = kNow;
  int issued = 0, calls = 0;
  std::optional<std::string> previous;
  while (issued < 10) {
    ++calls;
    if (current.empty() || now >= expires) {
      current = "stable-" + std::to_string(++issued);
      expires = now + seconds(7200);
    }
    TokenResult t;
    t.access_token = current;
    t.same_until_expiry = true;
    const auto next = next_refresh_after(p, t, now, expires, previous);
    ASSERT_GT(next, now) << "never a call in a tight loop";
    if (next > expires) {
      EXPECT_LE(next, expires + seconds(1)) << "fetched right after its end";
    }
    previous = current;
    now = next;
  }
  EXPECT_LE(calls, 2 * 10 + 1);
}

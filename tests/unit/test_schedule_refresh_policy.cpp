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

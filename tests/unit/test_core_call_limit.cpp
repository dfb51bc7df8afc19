#include <gtest/gtest.h>

#include "core/call_limit.hpp"

using namespace mediax;

namespace {

// 2026-05-01T15:59:59Z = 23:59:59 in Beijing.
const TimePoint kBeforeBeijingMidnight = from_unix(1777651199);

CallLimit limit(int daily, int offset = 8, int gap = 0) {
  CallLimit l;
  l.daily_limit = daily;
  l.utc_offset_hours = offset;
  l.min_gap = Seconds(gap);
  return l;
}

}  // namespace

TEST(CallLimitDay, IsThePlatformsDayNotTheUtcDay) {
  const auto beijing = platform_day(kBeforeBeijingMidnight, 8);
  EXPECT_EQ(platform_day(kBeforeBeijingMidnight + Seconds(1), 8), beijing + 1) << "Beijing midnight = 16:00 UTC";
  EXPECT_EQ(platform_day(kBeforeBeijingMidnight, 0), platform_day(kBeforeBeijingMidnight + Seconds(1), 0))
      << "the UTC day goes on until 00:00 UTC";
  EXPECT_EQ(platform_day(kBeforeBeijingMidnight, 0), beijing);
  EXPECT_EQ(platform_day(kBeforeBeijingMidnight + Seconds(8 * 3600 + 1), 0), beijing + 1);
  EXPECT_EQ(platform_day(from_unix(0), 0), 0);
  EXPECT_EQ(platform_day(from_unix(0), -1), -1) << "west of UTC, the epoch is still on 1969-12-31";
  EXPECT_EQ(platform_day(from_unix(-1), 0), -1);
  EXPECT_EQ(platform_day(from_unix(-86400), 0), -1);
  EXPECT_EQ(platform_day(from_unix(-86401), 0), -2);
}

TEST(CallLimitVerdict, CountsUpToTheDailyLimit) {
  const auto now = kBeforeBeijingMidnight;
  EXPECT_EQ(spend_verdict(0, std::nullopt, limit(2), now), CallSpend::Verdict::counted);
  EXPECT_EQ(spend_verdict(1, std::nullopt, limit(2), now), CallSpend::Verdict::counted);
  EXPECT_EQ(spend_verdict(2, std::nullopt, limit(2), now), CallSpend::Verdict::budget_spent);
  EXPECT_EQ(spend_verdict(0, std::nullopt, limit(0), now), CallSpend::Verdict::budget_spent) << "0: no calls at all";
}

TEST(CallLimitVerdict, KeepsTheGapAcrossDaysAndReportsASpentBudgetFirst) {
  const auto now = kBeforeBeijingMidnight + Seconds(10);  // the next Beijing day
  const auto last = kBeforeBeijingMidnight;               // 11 s before, on the previous day
  EXPECT_EQ(spend_verdict(0, last, limit(20, 8, 30), now), CallSpend::Verdict::too_soon);
  EXPECT_EQ(spend_verdict(0, last, limit(20, 8, 30), last + Seconds(30)), CallSpend::Verdict::counted);
  EXPECT_EQ(spend_verdict(0, last, limit(20, 8, 30), last + Seconds(29)), CallSpend::Verdict::too_soon);
  EXPECT_EQ(spend_verdict(20, last, limit(20, 8, 30), now), CallSpend::Verdict::budget_spent);
  EXPECT_EQ(spend_verdict(0, last, limit(20, 8, 0), now), CallSpend::Verdict::counted) << "no gap asked";
  // Another instance's clock ahead: its call counts as just made.
  EXPECT_EQ(spend_verdict(0, now + Seconds(5), limit(20, 8, 30), now), CallSpend::Verdict::too_soon);
  EXPECT_EQ(spend_verdict(0, now + Seconds(5), limit(20, 8, 0), now), CallSpend::Verdict::counted);
}

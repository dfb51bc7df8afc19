// When a scheduled refresh finds its row leased by another instance, it must look again as soon
// as that lease can be taken over: a dead holder's rows are refreshed one lease after it took
// them, not two (tests/e2e/test_soak.cpp, KillNineLoop, found tokens expiring before takeover).
#include <gtest/gtest.h>

#include "schedule/refresh_policy.hpp"

using namespace mediax;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {
const TimePoint kNow = from_unix(1'900'000'000) + milliseconds(400);
const Seconds kLease(5);

// The whole second at which a scheduler that keys its wheel by to_unix() fires for `at`.
TimePoint fires_at(TimePoint at) { return from_unix(to_unix(at)); }
}  // namespace

TEST(LeaseRefused, AnotherInstanceRefreshedFirstFollowsTheRowsNewTime) {
  const auto next = kNow + seconds(40);
  EXPECT_EQ(retry_after_lease_refused(kNow, next, std::nullopt, kLease), next);
  // Even while that instance still holds the lease (it refreshed and is writing).
  EXPECT_EQ(retry_after_lease_refused(kNow, next, kNow + seconds(3), kLease), next);
}

TEST(LeaseRefused, DueButLeasedLooksAgainRightAfterTheLeaseRunsOut) {
  // Another instance took the lease a moment before this one tried: it runs out 4.9 s from now.
  const auto lease_until = kNow + milliseconds(4900);
  const auto at = retry_after_lease_refused(kNow, kNow - seconds(1), lease_until, kLease);
  // The timer fires at a whole second; by then the lease must have run out, and not much later.
  EXPECT_GT(fires_at(at), lease_until);
  EXPECT_LE(fires_at(at), lease_until + seconds(1));
  // What a retry one lease after the attempt gave: the wheel fired before the lease ran out, and
  // only the attempt after that (a second lease later) could take over.
  EXPECT_LT(fires_at(kNow + kLease), kNow + kLease);
}

TEST(LeaseRefused, ALeaseFarInTheFutureIsLookedAtAgainAfterOneLease) {
  // Another instance's longer lease_seconds, or its clock ahead: do not wait longer than ours.
  const auto at = retry_after_lease_refused(kNow, kNow, kNow + seconds(600), kLease);
  EXPECT_EQ(at, kNow + kLease + seconds(1));
}

TEST(LeaseRefused, DueAndFreeAgainIsRetriedInASecond) {
  // The holder released the lease between this instance's attempt and its read of the row.
  EXPECT_EQ(retry_after_lease_refused(kNow, kNow - seconds(2), std::nullopt, kLease), kNow + seconds(1));
  EXPECT_EQ(retry_after_lease_refused(kNow, kNow, kNow - seconds(1), kLease), kNow + seconds(1));
}

TEST(LeaseRefused, ARowWithoutARefreshTimeIsLookedAtAfterALease) {
  EXPECT_EQ(retry_after_lease_refused(kNow, std::nullopt, kNow + seconds(2), kLease), kNow + kLease);
}

// RejectedLimits (service/rejected_limits.hpp): token/rejected reports limited per API key and per
// token per minute on a ManualTimeSource; a refused report counts nothing and is in the metrics.
#include <gtest/gtest.h>

#include "obs/metrics.hpp"
#include "service/rejected_limits.hpp"
#include "support/manual_time_source.hpp"

namespace mediax {
namespace {

using std::chrono::seconds;

const RefreshKey kGrant1{1, 11};
const RefreshKey kGrant2{1, 12};
const RefreshKey kAppToken{2, 0};

double refused(metrics::Registry& m, const std::string& limit) {
  return m.counter("mediax_rate_limited_total", "", {{"limit", limit}}).value();
}

TEST(RejectedLimits, OneTokenIsReportedAtMostItsLimitAMinuteByAllKeys) {
  ManualTimeSource time;
  metrics::Registry m;
  RejectedLimits limits({.per_key_per_minute = 100, .per_token_per_minute = 2}, time, &m);
  EXPECT_EQ(limits.admit("a", kGrant1).retry_after, seconds(0));
  time.advance(seconds(10));
  EXPECT_EQ(limits.admit("b", kGrant1).retry_after, seconds(0));
  const auto v = limits.admit("c", kGrant1);
  EXPECT_EQ(v.retry_after, seconds(50));
  EXPECT_EQ(v.which, "token");
  EXPECT_EQ(v.limit, 2);
  EXPECT_EQ(refused(m, "rejected_per_token"), 1);
  EXPECT_EQ(limits.admit("c", kGrant2).retry_after, seconds(0)) << "another grant's token";
  EXPECT_EQ(limits.admit("c", kAppToken).retry_after, seconds(0)) << "an app token is a token of its own";
  EXPECT_EQ(limits.admit("c", RefreshKey{11, 0}).retry_after, seconds(0)) << "app 11 is not grant 11";
  time.advance(seconds(50));
  EXPECT_EQ(limits.admit("c", kGrant1).retry_after, seconds(0)) << "a new minute";
}

TEST(RejectedLimits, OneKeyReportsAtMostItsLimitAMinuteOverAllTokens) {
  ManualTimeSource time;
  RejectedLimits limits({.per_key_per_minute = 3, .per_token_per_minute = 100}, time, nullptr);
  for (std::int64_t g = 1; g <= 3; ++g) EXPECT_EQ(limits.admit("noisy", RefreshKey{1, g}).retry_after, seconds(0));
  const auto v = limits.admit("noisy", RefreshKey{1, 4});
  EXPECT_EQ(v.retry_after, seconds(60));
  EXPECT_EQ(v.which, "key");
  EXPECT_EQ(v.limit, 3);
  EXPECT_EQ(limits.admit("calm", RefreshKey{1, 4}).retry_after, seconds(0)) << "other keys go on";
}

TEST(RejectedLimits, ARefusedReportCountsAgainstNeitherLimit) {
  ManualTimeSource time;
  RejectedLimits limits({.per_key_per_minute = 2, .per_token_per_minute = 1}, time, nullptr);
  EXPECT_EQ(limits.admit("k", kGrant1).retry_after, seconds(0));
  // The token is held: these are refused, and must not spend the key's allowance.
  for (int i = 0; i < 5; ++i) EXPECT_GT(limits.admit("k", kGrant1).retry_after, seconds(0));
  EXPECT_EQ(limits.admit("k", kGrant2).retry_after, seconds(0)) << "the key has made one report, not six";
  EXPECT_GT(limits.admit("k", RefreshKey{1, 13}).retry_after, seconds(0)) << "now two";
}

TEST(RejectedLimits, WithoutKeysOnlyTheTokenLimitHolds) {
  ManualTimeSource time;
  RejectedLimits limits({.per_key_per_minute = 1, .per_token_per_minute = 5}, time, nullptr);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limits.admit("", kGrant1).retry_after, seconds(0));
  EXPECT_EQ(limits.admit("", kGrant1).which, "token");
}

}  // namespace
}  // namespace mediax

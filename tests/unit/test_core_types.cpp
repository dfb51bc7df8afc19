#include <gtest/gtest.h>

#include "core/types.hpp"

using namespace mediax;

TEST(RefreshKey, GrantsAndAppTokensPackToDistinctIds) {
  RefreshKey app{42, 0};
  RefreshKey grant{42, 42};
  EXPECT_NE(app.pack(), grant.pack());
  EXPECT_TRUE(RefreshKey::unpack(app.pack()).is_app_token());
  EXPECT_EQ(RefreshKey::unpack(app.pack()).app_id, 42);
  EXPECT_FALSE(RefreshKey::unpack(grant.pack()).is_app_token());
  EXPECT_EQ(RefreshKey::unpack(grant.pack()).grant_id, 42);
}

TEST(Time, FormatsAndParsesIsoUtc) {
  auto t = from_unix(1795606408);
  EXPECT_EQ(format_time(t), "2026-11-25T11:33:28Z");
  EXPECT_EQ(parse_time("2026-11-25T11:33:28Z"), t);
  EXPECT_FALSE(parse_time("yesterday").has_value());
}

TEST(GrantStatus, RoundTripsThroughStrings) {
  for (auto s : {GrantStatus::active, GrantStatus::needs_reauth, GrantStatus::revoked, GrantStatus::disabled}) {
    EXPECT_EQ(grant_status_from_string(to_string(s)), s);
  }
  EXPECT_FALSE(grant_status_from_string("expired").has_value());
}

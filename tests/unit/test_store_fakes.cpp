// The store fakes in tests/support answer as PgStore does: these pin the behaviour other tests
// rely on (rows changed at or after `since`, newest events first, a database that is down).
#include <gtest/gtest.h>

#include "support/store_fakes/api_key_store.hpp"
#include "support/store_fakes/event_log.hpp"
#include "support/store_fakes/token_feed.hpp"

namespace mediax {
namespace {

const TimePoint kT0 = from_unix(1'800'000'000);

TEST(FakeTokenFeed, ChangesSinceIncludeTheBoundaryAndSkipOlderRows) {
  FakeTokenFeed feed;
  Token a;
  a.app_id = 1;
  a.access_token = "a";
  Token b;
  b.app_id = 1;
  b.grant_id = 7;
  b.access_token = "b";
  feed.put_token(a, kT0);
  feed.put_token(b, kT0 + Seconds(10));
  EXPECT_EQ(feed.tokens_refreshed_since(kT0).size(), 2u);
  const auto later = feed.tokens_refreshed_since(kT0 + Seconds(10));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].access_token, "b");
  ASSERT_TRUE(feed.get_token(RefreshKey{1, 7}));
  EXPECT_FALSE(feed.get_token(RefreshKey{1, 8}));

  ScheduleChange c;
  c.key = RefreshKey{1, 7};
  c.next_refresh_at = kT0 + Seconds(60);
  feed.put_schedule(c, kT0 + Seconds(5));
  EXPECT_EQ(feed.schedule_changes_since(kT0 + Seconds(6)).size(), 0u);
  EXPECT_EQ(feed.schedule_changes_since(kT0 + Seconds(5)).size(), 1u);
  EXPECT_TRUE(feed.schedule_of(RefreshKey{1, 7}));
  feed.erase_schedule(RefreshKey{1, 7});
  EXPECT_FALSE(feed.schedule_of(RefreshKey{1, 7}));
}

TEST(FakeTokenFeed, ADatabaseThatIsDownThrowsStoreError) {
  FakeTokenFeed feed;
  feed.set_down(true);
  EXPECT_THROW(feed.tokens_refreshed_since(kT0), StoreError);
  feed.set_down(false);
  EXPECT_NO_THROW(feed.tokens_refreshed_since(kT0));
  EXPECT_EQ(feed.reads(), 2);
}

TEST(FakeEventLog, ListsNewestFirstFilteredAndLimited) {
  FakeEventLog log;
  for (int i = 0; i < 5; ++i) {
    Event e;
    e.app_id = i % 2;
    e.kind = i == 4 ? "refresh_failed" : "refreshed";
    log.add_event(e);
  }
  const auto all = log.list_events(std::nullopt, std::nullopt, 10);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all.front().id, 5);
  EXPECT_EQ(log.list_events(std::int64_t{1}, std::nullopt, 10).size(), 2u);
  EXPECT_EQ(log.list_events(std::nullopt, std::nullopt, 3).size(), 3u);
  EXPECT_EQ(log.of_kind("refresh_failed").size(), 1u);
}

TEST(FakeApiKeyStore, ListsByNameKeepsNamesTakenAfterRevocationAndTouches) {
  FakeApiKeyStore store;
  store.create_api_key("ops", "admin", "h1");
  store.create_api_key("app", "reader", "h2");
  EXPECT_THROW(store.create_api_key("ops", "reader", "h3"), DuplicateError);
  auto all = store.list_api_keys();
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].name, "app");
  EXPECT_EQ(all[1].name, "ops");

  EXPECT_TRUE(store.revoke_api_key("app", kT0));
  EXPECT_FALSE(store.revoke_api_key("app", kT0)) << "already revoked";
  EXPECT_FALSE(store.revoke_api_key("nobody", kT0));
  EXPECT_THROW(store.create_api_key("app", "reader", "h4"), DuplicateError);
  store.touch_api_keys({"ops"}, kT0);
  all = store.list_api_keys();
  EXPECT_EQ(all[0].revoked_at, kT0);
  EXPECT_EQ(all[1].last_used_at, kT0);
  ASSERT_EQ(store.touches().size(), 1U);

  store.set_down(true);
  EXPECT_THROW(store.list_api_keys(), StoreError);
  EXPECT_THROW(store.touch_api_keys({"ops"}, kT0), StoreError);
  EXPECT_EQ(store.lists(), 2) << "only the answered lists count";
}

}  // namespace
}  // namespace mediax

// TokenCache: put_if_newer (database reads never undo a newer refresh), put replacing a key's token,
// tokens kept whole, and the memory of partitions given away given back.
#include <gtest/gtest.h>

#include "schedule/token_cache.hpp"

using namespace mediax;

namespace {

Token token(std::int64_t app_id, std::optional<std::int64_t> grant_id, const std::string& value) {
  Token t;
  t.app_id = app_id;
  t.grant_id = grant_id;
  t.access_token = value;
  t.scopes = {"read"};
  t.expires_at = from_unix(1'900'000'000);
  return t;
}

}  // namespace

TEST(TokenCache, PutIfNewerKeepsATokenRefreshedLater) {
  TokenCache cache;
  Token fresh = token(1, 10, "new");
  fresh.refreshed_at = from_unix(1'800'000'030);
  Token stale = token(1, 10, "old");
  stale.refreshed_at = from_unix(1'800'000'000);
  EXPECT_TRUE(cache.put_if_newer(stale));  // nothing there yet
  EXPECT_EQ(cache.get({1, 10})->access_token, "old");
  cache.put(fresh);  // a refresh of this instance
  // The sweep's read from before that refresh arrives late: the fresh token stays.
  EXPECT_FALSE(cache.put_if_newer(stale));
  EXPECT_EQ(cache.get({1, 10})->access_token, "new");
  // Another instance's later refresh replaces it, as does the same row read again.
  Token later = token(1, 10, "later");
  later.refreshed_at = from_unix(1'800'000'060);
  EXPECT_TRUE(cache.put_if_newer(later));
  EXPECT_TRUE(cache.put_if_newer(later));
  EXPECT_EQ(cache.get({1, 10})->access_token, "later");
  EXPECT_EQ(cache.size(), 1u);
}

TEST(TokenCache, PutAddsTokensAndReplacesTheTokenOfTheSameKey) {
  TokenCache cache;
  cache.put(token(1, std::nullopt, "app-old"));
  cache.put(token(1, 10, "kept"));
  for (const auto& t : {token(1, std::nullopt, "app-new"), token(1, 11, "g11"), token(2, 20, "g20")}) cache.put(t);
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(cache.get({1, 0})->access_token, "app-new");
  EXPECT_EQ(cache.get({1, 10})->access_token, "kept");
  EXPECT_EQ(cache.get({1, 11})->access_token, "g11");
  EXPECT_EQ(cache.get({2, 20})->scopes, std::vector<std::string>{"read"});
  EXPECT_FALSE(cache.get({2, 21}));
}

TEST(TokenCache, RestrictedToSomePartitionsItKeepsOnlyTheirTokens) {
  PartitionSet owned;
  owned.set_all(false);
  owned.set(10, true);
  owned.set(3, true);
  TokenCache cache;
  cache.restrict_to(&owned);
  cache.put(token(1, 10, "ours"));
  cache.put(token(1, 11, "theirs"));
  EXPECT_FALSE(cache.put_if_newer(token(1, 12, "theirs")));
  for (const auto& t : {token(1, 10 + kPartitionCount, "ours too"), token(3, std::nullopt, "app 3's"),
                        token(4, std::nullopt, "app 4's")}) {
    cache.put(t);
  }
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.get({1, 11}));
  EXPECT_TRUE(cache.get({3, 0}));
  // Tokens read from the database: never over a token refreshed later, never another partition's.
  Token newer = token(1, 10, "refreshed here");
  newer.refreshed_at = from_unix(1'800'000'100);
  cache.put(newer);
  Token older = token(1, 10, "read before");
  older.refreshed_at = from_unix(1'800'000'000);
  Token later = token(3, std::nullopt, "app 3's, later");
  later.refreshed_at = from_unix(1'800'000'200);
  EXPECT_FALSE(cache.put_if_newer(older));
  EXPECT_TRUE(cache.put_if_newer(later));
  EXPECT_FALSE(cache.put_if_newer(token(1, 11, "theirs")));
  EXPECT_EQ(cache.get({1, 10})->access_token, "refreshed here");
  EXPECT_EQ(cache.get({3, 0})->access_token, "app 3's, later");
  EXPECT_FALSE(cache.get({1, 11}));
  // Partition 10 is given up.
  owned.set(10, false);
  EXPECT_EQ(cache.erase_partitions({10}), 2u);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.get({3, 0}));
}

TEST(TokenCache, KeepsEveryFieldOfAToken) {
  TokenCache cache;
  Token t = token(7, 300, std::string(5000, 'x'));  // longer than a pool block: a mapping of its own
  t.token_type = "Bearer";
  t.scopes = {"user_info", "", "video.list,video.data", std::string(300, 's')};
  t.expires_at = TimePoint(TimePoint::duration(1'900'000'000'123'456'789LL));
  t.refreshed_at = TimePoint(TimePoint::duration(1'800'000'000'987'654'321LL));
  cache.put(t);
  Token app = token(7, std::nullopt, "");
  app.scopes.clear();
  cache.put(app);
  const auto got = cache.get({7, 300});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->app_id, 7);
  EXPECT_EQ(cache.app_id({0, 300}), std::optional<std::int64_t>(7)) << "a grant key without its app";
  EXPECT_EQ(cache.app_id({0, 302}), std::nullopt);
  EXPECT_EQ(got->grant_id, std::optional<std::int64_t>(300));
  EXPECT_EQ(got->access_token, t.access_token);
  EXPECT_EQ(got->token_type, "Bearer");
  EXPECT_EQ(got->scopes, t.scopes);
  EXPECT_EQ(got->expires_at, t.expires_at);
  EXPECT_EQ(got->refreshed_at, t.refreshed_at);
  const auto got_app = cache.get({7, 0});
  ASSERT_TRUE(got_app);
  EXPECT_EQ(got_app->grant_id, std::nullopt);
  EXPECT_EQ(got_app->access_token, "");
  EXPECT_TRUE(got_app->scopes.empty());
  EXPECT_EQ(cache.earliest_expiry(), from_unix(1'900'000'000));
  // Replaced many times over, a token's memory is reused, not added to.
  cache.put(token(7, 301, "short"));
  const auto mapped = cache.mapped_bytes();
  for (int i = 0; i < 10'000; ++i) cache.put(token(7, 301, "refreshed " + std::to_string(i % 10)));
  for (int i = 0; i < 100; ++i) cache.put(t);
  EXPECT_EQ(cache.mapped_bytes(), mapped);
  EXPECT_EQ(cache.get({7, 301})->access_token, "refreshed 9");
}

TEST(TokenCache, APartitionGivenAwayGivesItsMemoryBack) {
  TokenCache cache;
  for (std::int64_t g = 1; g <= 20'000; ++g) cache.put(token(1 + g % 5, g, "token-of-grant-" + std::to_string(g)));
  EXPECT_EQ(cache.size(), 20'000u);
  const auto all = cache.mapped_bytes();
  EXPECT_GT(all, 20'000u * 40);
  std::vector<int> two_thirds;
  for (int p = 0; p < kPartitionCount; ++p) {
    if (p % 3 != 0) two_thirds.push_back(p);
  }
  const auto gone = cache.erase_partitions(two_thirds);
  EXPECT_GT(gone, 13'000u);
  EXPECT_EQ(cache.size(), 20'000u - gone);
  EXPECT_LT(cache.mapped_bytes(), all * 4 / 10) << "the partitions' pages are unmapped, not kept";
  EXPECT_FALSE(cache.get({2, 1}));  // partition 1
  EXPECT_EQ(cache.get({4, 3})->access_token, "token-of-grant-3");
  cache.erase_app(4);
  EXPECT_FALSE(cache.get({4, 3}));
  EXPECT_TRUE(cache.get({2, 6 * kPartitionCount}));  // partition 0
  cache.erase_partitions({0, 3, 6});
  EXPECT_FALSE(cache.get({2, 6 * kPartitionCount}));
}

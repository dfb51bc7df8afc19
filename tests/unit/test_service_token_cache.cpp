// TokenCache: put_if_newer (database reads never undo a newer refresh) and put_all (the start-up batch insert).
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

TEST(TokenCache, PutAllAddsABatchAndReplacesTokensOfTheSameKey) {
  TokenCache cache;
  cache.put(token(1, std::nullopt, "app-old"));
  cache.put(token(1, 10, "kept"));
  cache.put_all({token(1, std::nullopt, "app-new"), token(1, 11, "g11"), token(2, 20, "g20")});
  cache.put_all({});
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
  cache.put_all({token(1, 10 + kPartitionCount, "ours too"), token(3, std::nullopt, "app 3's"),
                 token(4, std::nullopt, "app 4's")});
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.get({1, 11}));
  EXPECT_TRUE(cache.get({3, 0}));
  // A batch read from the database: never over a token refreshed later, never another partition's.
  Token newer = token(1, 10, "refreshed here");
  newer.refreshed_at = from_unix(1'800'000'100);
  cache.put(newer);
  Token older = token(1, 10, "read before");
  older.refreshed_at = from_unix(1'800'000'000);
  Token later = token(3, std::nullopt, "app 3's, later");
  later.refreshed_at = from_unix(1'800'000'200);
  cache.put_all_if_newer({older, later, token(1, 11, "theirs")});
  EXPECT_EQ(cache.get({1, 10})->access_token, "refreshed here");
  EXPECT_EQ(cache.get({3, 0})->access_token, "app 3's, later");
  EXPECT_FALSE(cache.get({1, 11}));
  // Partition 10 is given up.
  owned.set(10, false);
  EXPECT_EQ(cache.erase_partitions({10}), 2u);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.get({3, 0}));
}

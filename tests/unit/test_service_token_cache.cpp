// TokenCache::put_all, the batch insert of the start-up load.
#include <gtest/gtest.h>

#include "service/token_cache.hpp"

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

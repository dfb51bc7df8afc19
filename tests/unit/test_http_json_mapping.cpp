// Token answers (http/json_mapping.cpp): how to send the token, and no "Bearer" a platform never said.
#include <gtest/gtest.h>

#include "http/json_mapping.hpp"

using namespace mediax;

TEST(TokenJson, CarriesTokenUsageAndTheTypeThePlatformGave) {
  Token t;
  t.app_id = 1;
  t.access_token = "act.x";
  t.expires_at = from_unix(1795606408);
  t.token_usage = TokenUsage::access_token_header;
  auto j = to_json(t);
  EXPECT_EQ(j["token_usage"], "header:access-token");
  EXPECT_TRUE(j["token_type"].is_null()) << "Douyin names no type: " << j.dump();

  t.token_type = "Bearer";
  t.token_usage = TokenUsage::authorization_bearer;
  j = to_json(t);
  EXPECT_EQ(j["token_type"], "Bearer");
  EXPECT_EQ(j["token_usage"], "header:Authorization:Bearer");
  EXPECT_EQ(j["expires_at"], "2026-11-25T11:33:28Z");
}

// The token read's answer is written without a JSON tree: the same bytes as the tree's dump, also
// where a string needs escaping (that one takes the tree's path).
TEST(TokenJson, TextIsTheTreesDumpByteForByte) {
  Token t;
  t.access_token = "a_0123456789.x-y";
  t.expires_at = from_unix(1795606408);
  const auto dump = [](const Token& x) {
    return to_json(x).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  EXPECT_EQ(token_json_text(t), dump(t));
  t.token_type = "Bearer";
  t.scopes = {"openid", "email"};
  t.token_usage = TokenUsage::access_token_query;
  EXPECT_EQ(token_json_text(t), dump(t));
  EXPECT_EQ(token_json_text(t),
            R"({"access_token":"a_0123456789.x-y","expires_at":"2026-11-25T11:33:28Z","scopes":["openid","email"],)"
            R"("token_type":"Bearer","token_usage":"query:access_token"})");
  t.scopes = {"a\"b", "tab\there", "\xff\xfe"};
  t.access_token = "quote\"back\\slash\x01";
  EXPECT_EQ(token_json_text(t), dump(t));
}

TEST(AppJson, ShowsHowTheAppsTokensAreSent) {
  App a;
  a.platform = "wechat";
  a.token_usage = TokenUsage::access_token_query;
  EXPECT_EQ(to_json(a)["token_usage"], "query:access_token");
  EXPECT_FALSE(to_json(a).contains("credential_key"));
}

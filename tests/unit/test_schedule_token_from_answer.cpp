// schedule/token_from_answer: the one rule from a platform's token answer to what is stored,
// shared by the Refresher and a newly connected grant. Pure: the time is given.
#include <gtest/gtest.h>

#include "schedule/token_from_answer.hpp"
#include "support/fixed_refresh_policy.hpp"

namespace mediax {
namespace {

using std::chrono::seconds;

const TimePoint kNow = from_unix(1'900'000'000);

RefreshPolicy policy() { return fixed_refresh_policy(); }

HeldBefore grant_held() {
  HeldBefore h;
  h.app_id = 7;
  h.grant = true;
  h.grant_id = 42;
  h.scopes = {"user_info"};
  h.access_token = "old-access";
  h.refresh_expires_at = kNow + seconds(86400);
  return h;
}

TEST(TokenFromAnswer, AFullAnswerWinsEverywhere) {
  auto p = policy();
  TokenResult t;
  t.access_token = "new-access";
  t.token_type = "Bearer";
  t.scopes = {"user_info", "video.list"};
  t.expires_in = seconds(1000);
  t.refresh_token = "rotated";
  t.refresh_expires_in = seconds(5000);
  t.account_id = "acct-1";
  t.extra = {{"open_id", "x"}};
  const auto s = token_from_answer(t, kNow, grant_held(), p);
  EXPECT_EQ(s.token.app_id, 7);
  EXPECT_EQ(s.token.grant_id, std::optional<std::int64_t>(42));
  EXPECT_EQ(s.token.access_token, "new-access");
  EXPECT_EQ(s.token.token_type, "Bearer");
  EXPECT_EQ(s.token.scopes, (std::vector<std::string>{"user_info", "video.list"}));
  EXPECT_EQ(s.token.refreshed_at, kNow);
  EXPECT_EQ(s.token.expires_at, kNow + seconds(1000));
  EXPECT_EQ(s.new_refresh_token, std::optional<std::string>("rotated"));
  EXPECT_EQ(s.refresh_expires_at, std::optional<TimePoint>(kNow + seconds(5000)));
  EXPECT_EQ(s.account_id, std::optional<std::string>("acct-1"));
  EXPECT_EQ(s.grant_extra_patch, nlohmann::json({{"open_id", "x"}}));
  // 20% of a 1000 s lifetime is 200 s, over the 60 s minimum margin; no jitter.
  EXPECT_EQ(s.next_refresh_at, kNow + seconds(800));
  EXPECT_FALSE(s.reauth_due_at);
  EXPECT_EQ(s.last_error, "");
}

TEST(TokenFromAnswer, ASilentAnswerKeepsWhatWasHeldAndUsesTheDefaultLifetime) {
  auto p = policy();
  TokenResult t;
  t.access_token = "new-access";
  t.extra = nullptr;  // not an object: nothing to merge
  const auto s = token_from_answer(t, kNow, grant_held(), p);
  EXPECT_EQ(s.token.scopes, std::vector<std::string>{"user_info"});
  EXPECT_EQ(s.token.token_type, "");
  EXPECT_EQ(s.token.expires_at, kNow + seconds(3600));
  EXPECT_FALSE(s.new_refresh_token);
  EXPECT_FALSE(s.refresh_expires_at);
  EXPECT_FALSE(s.account_id);
  EXPECT_EQ(s.grant_extra_patch, nlohmann::json::object());
  EXPECT_EQ(s.next_refresh_at, kNow + seconds(3600 - 720));
}

TEST(TokenFromAnswer, ReauthDueIsTheRefreshTokensEndAfterTheAnswer) {
  auto p = policy();
  TokenResult renewed;
  renewed.access_token = "a";
  renewed.refresh_token = "renewed";
  renewed.refresh_expires_in = seconds(7200);
  renewed.reauth_due = true;
  EXPECT_EQ(token_from_answer(renewed, kNow, grant_held(), p).reauth_due_at,
            std::optional<TimePoint>(kNow + seconds(7200)));
  TokenResult kept;
  kept.access_token = "a";
  kept.reauth_due = true;
  EXPECT_EQ(token_from_answer(kept, kNow, grant_held(), p).reauth_due_at,
            std::optional<TimePoint>(kNow + seconds(86400)));
}

TEST(TokenFromAnswer, AWarningBecomesTheGrantsLastError) {
  auto p = policy();
  TokenResult t;
  t.access_token = "a";
  t.warning_code = "renew_failed";
  t.warning_message = "system busy";
  EXPECT_EQ(token_from_answer(t, kNow, grant_held(), p).last_error, "renew_failed: system busy");
}

TEST(TokenFromAnswer, AnAppTokenHasNoGrantFields) {
  auto p = policy();
  HeldBefore app;
  app.app_id = 3;
  app.scopes = {"client"};
  app.refresh_expires_at = kNow;
  TokenResult t;
  t.access_token = "a";
  t.reauth_due = true;
  t.warning_code = "w";
  const auto s = token_from_answer(t, kNow, app, p);
  EXPECT_EQ(s.token.app_id, 3);
  EXPECT_FALSE(s.token.grant_id);
  EXPECT_EQ(s.token.scopes, std::vector<std::string>{"client"});
  EXPECT_FALSE(s.reauth_due_at);
  EXPECT_EQ(s.last_error, "");
}

TEST(TokenFromAnswer, ATokenKeptUntilExpiryThatCameBackUnchangedIsServedToItsEnd) {
  auto p = policy();
  TokenResult t;
  t.access_token = "old-access";  // the same as held
  t.expires_in = seconds(1000);
  t.same_until_expiry = true;
  const auto s = token_from_answer(t, kNow, grant_held(), p);
  // Not the policy's margin: no call can replace it sooner, so it is served to its end.
  EXPECT_EQ(s.next_refresh_at, kNow + seconds(1001));
  t.access_token = "another";
  EXPECT_EQ(token_from_answer(t, kNow, grant_held(), p).next_refresh_at, kNow + seconds(800));
}

}  // namespace
}  // namespace mediax

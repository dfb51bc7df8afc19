// Onboarding beyond the browser callback, without HTTP or a database: what a platform's token
// answer makes of a new grant (service/new_grant, shared by the callback, a code from the
// creator's app and an import) and how refusals are answered (service/grant_onboarding).
#include <gtest/gtest.h>

#include "service/grant_onboarding.hpp"
#include "service/new_grant.hpp"
#include "support/fixed_refresh_policy.hpp"

namespace mediax {
namespace {

using std::chrono::seconds;

const TimePoint kNow = from_unix(1'900'000'000);

RefreshPolicy policy() { return fixed_refresh_policy(); }

App app() {
  App a;
  a.id = 7;
  a.name = "dy";
  a.platform = "douyin";
  a.scopes = {"user_info", "video.list"};
  return a;
}

TokenResult answer(const std::string& access) {
  TokenResult t;
  t.access_token = access;
  t.expires_in = seconds(1000);
  return t;
}

TEST(NewGrant, ACodeAnswerGivesTheGrantItsFirstTokenAndSchedule) {
  auto p = policy();
  TokenResult t = answer("act.1");
  t.account_id = "open_alice";
  t.refresh_token = "rft.1";
  t.refresh_expires_in = seconds(30 * 86400);
  t.scopes = {"user_info"};
  t.extra = {{"renewals", 0}};
  const auto n = new_grant_from(app(), t, kNow, Grant{}, p);
  EXPECT_EQ(n.grant.app_id, 7);
  EXPECT_EQ(n.grant.account_id, "open_alice");
  EXPECT_EQ(n.grant.refresh_token, "rft.1");
  EXPECT_EQ(n.grant.refresh_expires_at, kNow + seconds(30 * 86400));
  EXPECT_EQ(n.grant.scopes, std::vector<std::string>{"user_info"});
  EXPECT_EQ(n.grant.extra.value("renewals", -1), 0);
  EXPECT_EQ(n.token.access_token, "act.1");
  EXPECT_EQ(n.token.token_type, "");  // as the platform named it: none here
  EXPECT_EQ(n.token.expires_at, kNow + seconds(1000));
  EXPECT_EQ(n.token.refreshed_at, kNow);
  EXPECT_EQ(n.token.scopes, n.grant.scopes);
  // refresh.fraction 0.2 of 1000 s (200 s) is more than the 60 s margin: 200 s before expiry.
  EXPECT_EQ(n.grant.next_refresh_at, kNow + seconds(800));
}

TEST(NewGrant, WithoutARefreshTokenNothingIsScheduledAndDefaultsFillTheGaps) {
  auto p = policy();
  TokenResult t = answer("at");
  t.expires_in.reset();
  const auto n = new_grant_from(app(), t, kNow, Grant{}, p);
  EXPECT_FALSE(n.grant.next_refresh_at.has_value());
  EXPECT_EQ(n.grant.refresh_token, "");
  EXPECT_EQ(n.grant.scopes, app().scopes);                   // the app's when the platform is silent
  EXPECT_EQ(n.token.expires_at, kNow + seconds(3600));       // refresh.default_expires_in
  EXPECT_EQ(n.grant.account_id.rfind("anonymous-", 0), 0U);  // nobody named the account
  EXPECT_NE(new_grant_from(app(), t, kNow, Grant{}, p).grant.account_id, n.grant.account_id);
}

TEST(NewGrant, AGrantThatEndsWithItsAccessTokenIsDueForReauthorizationThen) {
  // A Weibo web app: no refresh token, the grant lives as long as its access token.
  auto p = policy();
  TokenResult t = answer("2.00at");
  t.account_id = "1404376560";
  t.refresh_expires_in = t.expires_in;
  t.reauth_due = true;
  const auto n = new_grant_from(app(), t, kNow, Grant{}, p);
  EXPECT_EQ(n.grant.refresh_token, "");
  EXPECT_FALSE(n.grant.next_refresh_at.has_value());  // nothing to refresh with
  EXPECT_EQ(n.grant.reauth_due_at, kNow + seconds(1000));
}

TEST(NewGrant, AnImportKeepsWhatItKnewWhereThePlatformIsSilent) {
  auto p = policy();
  Grant known;
  known.account_id = "given";
  known.refresh_token = "rft.imported";
  known.refresh_expires_at = kNow + seconds(86400);
  known.scopes = {"user_info"};
  const auto n = new_grant_from(app(), answer("act.2"), kNow, known, p);
  EXPECT_EQ(n.grant.account_id, "given");
  EXPECT_EQ(n.grant.refresh_token, "rft.imported");  // not rotated: the imported one stays
  EXPECT_EQ(n.grant.refresh_expires_at, kNow + seconds(86400));
  EXPECT_EQ(n.grant.scopes, std::vector<std::string>{"user_info"});
  EXPECT_TRUE(n.grant.next_refresh_at.has_value());
}

TEST(NewGrant, AnImportTakesTheRotatedRefreshTokenAndThePlatformsAccountAndExpiry) {
  auto p = policy();
  Grant known;
  known.account_id = "given";
  known.refresh_token = "rft.imported";
  known.refresh_expires_at = kNow + seconds(86400);
  TokenResult t = answer("act.3");
  t.refresh_token = "rft.rotated";  // the platform may have killed the imported one already
  t.refresh_expires_in = seconds(600);
  t.account_id = "open_real";
  t.scopes = {"video.list"};
  const auto n = new_grant_from(app(), t, kNow, known, p);
  EXPECT_EQ(n.grant.refresh_token, "rft.rotated");
  EXPECT_EQ(n.grant.account_id, "open_real");
  EXPECT_EQ(n.grant.refresh_expires_at, kNow + seconds(600));
  EXPECT_EQ(n.grant.scopes, std::vector<std::string>{"video.list"});
}

Outcome failure(OutcomeKind k, const std::string& code, const std::string& message) {
  return Outcome::failure(k, code, message);
}

TEST(OnboardingError, RefusalsAre422NamingThePlatformsCode) {
  auto e = onboarding_error(failure(OutcomeKind::needs_reauth, "10007", "授权码过期"), "douyin", Onboarding::code);
  EXPECT_EQ(e.status(), 422);
  EXPECT_EQ(e.code(), "code_refused");
  EXPECT_EQ(e.details().value("platform_code", ""), "10007");
  EXPECT_EQ(e.details().value("class", ""), "needs_reauth");
  EXPECT_NE(std::string(e.what()).find("douyin answered 10007 (授权码过期)"), std::string::npos) << e.what();

  e = onboarding_error(failure(OutcomeKind::needs_reauth, "invalid_grant", "unknown refresh token"), "oauth2",
                       Onboarding::import);
  EXPECT_EQ(e.status(), 422);
  EXPECT_EQ(e.code(), "refresh_token_refused");
  EXPECT_NE(std::string(e.what()).find("nothing was stored"), std::string::npos) << e.what();

  for (auto what : {Onboarding::code, Onboarding::import}) {
    e = onboarding_error(failure(OutcomeKind::app_misconfigured, "10013", "client_secret报错"), "douyin", what);
    EXPECT_EQ(e.status(), 422);
    EXPECT_EQ(e.code(), "app_misconfigured");
    EXPECT_EQ(e.details().value("class", ""), "app_misconfigured");
  }
}

TEST(OnboardingError, PlatformTroubleIs502Or503) {
  auto e = onboarding_error(failure(OutcomeKind::retry_later, "http_503", ""), "google", Onboarding::import);
  EXPECT_EQ(e.status(), 502);
  EXPECT_EQ(e.code(), "platform_error");
  EXPECT_EQ(e.details().value("platform_code", ""), "http_503");
  EXPECT_EQ(e.details().value("class", ""), "retry_later");

  Outcome limited =
      Outcome::failure(OutcomeKind::rate_limited, "45009", "reach max api daily quota limit", 200, seconds(120));
  e = onboarding_error(limited, "wechat", Onboarding::code);
  EXPECT_EQ(e.status(), 503);
  EXPECT_EQ(e.code(), "platform_rate_limited");
  EXPECT_EQ(e.details().value("retry_after_seconds", 0), 120);
  e = onboarding_error(failure(OutcomeKind::rate_limited, "http_429", ""), "oauth2", Onboarding::code);
  EXPECT_FALSE(e.details().contains("retry_after_seconds"));
}

}  // namespace
}  // namespace mediax

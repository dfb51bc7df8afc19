// Connecting an account and recovering a grant, without HTTP or a database: what the platform's
// redirect carries (service/callback_params) and how a platform's failure is answered
// (service/platform_call_errors).
#include <gtest/gtest.h>

#include "service/callback_params.hpp"
#include "service/platform_call_errors.hpp"

namespace mediax {
namespace {

TEST(CallbackParams, OAuthCodeAndState) {
  auto p = callback_params({{"code", "c1"}, {"state", "abc123"}});
  EXPECT_EQ(p.code, "c1");
  EXPECT_EQ(p.state, "abc123");
  EXPECT_FALSE(p.auth_code);
  EXPECT_EQ(p.error, "");
}

TEST(CallbackParams, TheWeChatThirdPartyPlatformsAuthCodeWhenCodeIsAbsent) {
  auto p = callback_params({{"auth_code", "queryauthcode@@@x"}, {"expires_in", "600"}, {"state", "abc123"}});
  EXPECT_EQ(p.code, "queryauthcode@@@x");
  EXPECT_TRUE(p.auth_code);
  EXPECT_EQ(p.state, "abc123");
  // code wins when both come.
  auto both = callback_params({{"code", "c1"}, {"auth_code", "a1"}, {"state", "s"}});
  EXPECT_EQ(both.code, "c1");
  EXPECT_FALSE(both.auth_code);
  EXPECT_EQ(callback_params({{"auth_code", ""}, {"state", "s"}}).code, "");
}

TEST(CallbackParams, AQueryAppendedWithASecondQuestionMarkIsReadFromTheState) {
  // redirect_uri ".../oauth/callback?state=S" + "?auth_code=A&expires_in=600".
  auto p = callback_params({{"state", "abc123?auth_code=A@@@1"}, {"expires_in", "600"}});
  EXPECT_EQ(p.state, "abc123");
  EXPECT_EQ(p.code, "A@@@1");
  EXPECT_TRUE(p.auth_code);
  // The parameters the query really has are not overridden by the state's tail.
  auto q = callback_params({{"state", "abc?auth_code=tail&x"}, {"auth_code", "real"}});
  EXPECT_EQ(q.state, "abc");
  EXPECT_EQ(q.code, "real");
  EXPECT_EQ(callback_params({{"state", "abc?"}}).state, "abc");
  EXPECT_EQ(callback_params({{"state", "abc?"}}).code, "");
}

TEST(CallbackParams, ThePlatformsError) {
  auto p = callback_params({{"error", "access_denied"}, {"error_description", "no"}, {"state", "s"}});
  EXPECT_EQ(p.error, "access_denied");
  EXPECT_EQ(p.error_description, "no");
  EXPECT_EQ(p.code, "");
}

Outcome fail(OutcomeKind k, const std::string& code, const std::string& message,
             std::optional<Seconds> retry_after = std::nullopt) {
  return Outcome::failure(k, code, message, 0, retry_after);
}

TEST(PrepareAuthorizeError, WaitingForTheFirstTicketHasItsOwnCodeAndSaysWhereWeChatPushes) {
  const auto e = prepare_authorize_error(
      fail(OutcomeKind::retry_later, "waiting_for_ticket", "no ticket yet", Seconds(600)), "wechat_component", "wxc");
  EXPECT_EQ(e.status(), 503);
  EXPECT_EQ(e.code(), "waiting_for_ticket");
  const std::string m = e.what();
  EXPECT_EQ(m.rfind("WeChat has not pushed a component_verify_ticket yet; ", 0), 0U) << m;
  EXPECT_NE(m.find("/wechat/component/wxc/events"), std::string::npos) << m;
  EXPECT_EQ(e.details().value("retry_after_seconds", 0), 600);
  EXPECT_EQ(e.details().value("class", ""), "retry_later");
}

TEST(PrepareAuthorizeError, AnUnavailableComponentTokenWhileTheAppWaitsForItsTicketIsWaitingForTicket) {
  const Outcome o = fail(OutcomeKind::retry_later, "component_token_unavailable", "not available yet", Seconds(600));
  const auto waiting = prepare_authorize_error(o, "wechat_component", "wxc", true);
  EXPECT_EQ(waiting.status(), 503);
  EXPECT_EQ(waiting.code(), "waiting_for_ticket");
  EXPECT_EQ(waiting.details().value("platform_code", ""), "component_token_unavailable");  // what the platform said
  EXPECT_EQ(prepare_authorize_error(o, "wechat_component", "wxc", false).code(), "platform_unavailable");
  // A refusal is a refusal, whatever the app waits for.
  EXPECT_EQ(
      prepare_authorize_error(fail(OutcomeKind::app_misconfigured, "61004", "ip"), "wechat_component", "wxc", true)
          .code(),
      "app_misconfigured");
}

TEST(PrepareAuthorizeError, EachClassItsStatus) {
  auto busy = prepare_authorize_error(fail(OutcomeKind::retry_later, "-1", "system error"), "wechat_component", "wxc");
  EXPECT_EQ(busy.status(), 503);
  EXPECT_EQ(busy.code(), "platform_unavailable");
  EXPECT_EQ(busy.details().value("platform_code", ""), "-1");
  EXPECT_FALSE(busy.details().contains("retry_after_seconds"));
  auto quota = prepare_authorize_error(fail(OutcomeKind::rate_limited, "45009", "quota", Seconds(3600)),
                                       "wechat_component", "wxc");
  EXPECT_EQ(quota.status(), 503);
  EXPECT_EQ(quota.code(), "platform_unavailable");
  EXPECT_EQ(quota.details().value("retry_after_seconds", 0), 3600);
  // The platform's message (the IP to whitelist) reaches the admin.
  auto ip = prepare_authorize_error(fail(OutcomeKind::app_misconfigured, "61004", "whitelist 203.0.113.7"),
                                    "wechat_component", "wxc");
  EXPECT_EQ(ip.status(), 422);
  EXPECT_EQ(ip.code(), "app_misconfigured");
  EXPECT_NE(std::string(ip.what()).find("whitelist 203.0.113.7"), std::string::npos);
  auto other =
      prepare_authorize_error(fail(OutcomeKind::needs_reauth, "61009", "code is invalid"), "wechat_component", "wxc");
  EXPECT_EQ(other.status(), 502);
  EXPECT_EQ(other.code(), "platform_error");
}

TEST(RecoverGrantError, EachClassItsStatus) {
  auto ns = recover_grant_error(
      fail(OutcomeKind::app_misconfigured, "not_supported", "the douyin platform cannot recover a grant"), "douyin",
      "dy", 7);
  EXPECT_EQ(ns.status(), 409);
  EXPECT_EQ(ns.code(), "not_supported");
  EXPECT_EQ(std::string(ns.what()), "the douyin platform cannot recover a grant");
  auto refused =
      recover_grant_error(fail(OutcomeKind::needs_reauth, "61003", "component is not authorized by this account"),
                          "wechat_component", "wxc", 7);
  EXPECT_EQ(refused.status(), 422);
  EXPECT_EQ(refused.code(), "recovery_refused");
  EXPECT_EQ(refused.details().value("platform_code", ""), "61003");
  EXPECT_EQ(refused.details().value("class", ""), "needs_reauth");
  EXPECT_NE(std::string(refused.what()).find("grant 7"), std::string::npos);
  auto app = recover_grant_error(fail(OutcomeKind::app_misconfigured, "61004", "whitelist 203.0.113.7"),
                                 "wechat_component", "wxc", 7);
  EXPECT_EQ(app.status(), 422);
  EXPECT_EQ(app.code(), "app_misconfigured");
  auto down =
      recover_grant_error(fail(OutcomeKind::retry_later, "http_503", "unavailable"), "wechat_component", "wxc", 7);
  EXPECT_EQ(down.status(), 503);
  EXPECT_EQ(down.code(), "platform_unavailable");
  auto ticket =
      recover_grant_error(fail(OutcomeKind::retry_later, "waiting_for_ticket", ""), "wechat_component", "wxc", 7);
  EXPECT_EQ(ticket.code(), "waiting_for_ticket");
}

}  // namespace
}  // namespace mediax

// The pure rules binding a connect flow to its browser, its app's callback path and its issuer
// (service/connect_checks.hpp), and the connect cookie's header text (http/connect_cookie.hpp).
#include <gtest/gtest.h>

#include "http/connect_cookie.hpp"
#include "service/authorize_choices.hpp"
#include "service/connect_checks.hpp"

namespace mediax {
namespace {

TEST(ConnectChecks, OnlyTheCookieWhoseHashWasStoredWithTheStateBindsIt) {
  const std::string stored = connect_secret_hash("cookie-of-alice");
  EXPECT_EQ(stored.size(), 64U);
  EXPECT_EQ(stored.find("cookie"), std::string::npos) << "a hash, not the value";
  EXPECT_EQ(check_binding(stored, std::string("cookie-of-alice")), BindingVerdict::ok);
  EXPECT_EQ(check_binding(stored, std::string("cookie-of-mallory")), BindingVerdict::mismatch);
  EXPECT_EQ(check_binding(stored, std::nullopt), BindingVerdict::no_cookie);
  EXPECT_EQ(check_binding(stored, std::string()), BindingVerdict::no_cookie);
  EXPECT_EQ(check_binding("", std::string("cookie-of-alice")), BindingVerdict::unbound);
}

TEST(ConnectChecks, AnAppsPathTakesOnlyItsOwnStatesAndTheSharedPathOnlyStatesNotBoundToAnAppPath) {
  EXPECT_EQ(app_callback_url("https://m.example/oauth/callback", "crm"), "https://m.example/oauth/callback/crm");
  const std::string crm = "https://m.example/oauth/callback/crm";
  EXPECT_TRUE(callback_path_fits(std::string("crm"), "crm", crm));
  EXPECT_FALSE(callback_path_fits(std::string("shop"), "crm", crm));
  EXPECT_FALSE(callback_path_fits(std::nullopt, "crm", crm)) << "a per-app state arriving on the shared path";
  EXPECT_FALSE(callback_path_fits(std::nullopt, "crm", "https://m.example/prefix/oauth/callback/crm"));
  EXPECT_FALSE(callback_path_fits(std::nullopt, "crm", crm + "?state=x")) << "the WeChat third-party form";
  // Apps registered before per-app paths keep the shared one (what the platform has registered).
  EXPECT_TRUE(callback_path_fits(std::nullopt, "crm", "https://m.example/oauth/callback"));
  EXPECT_TRUE(callback_path_fits(std::string("crm"), "crm", "https://m.example/oauth/callback"));
  EXPECT_FALSE(callback_path_fits(std::string("shop"), "crm", "https://m.example/oauth/callback"));
}

TEST(ConnectChecks, IssIsRequiredWhenAdvertisedAndComparedExactlyWheneverPresent) {
  const CallbackIssuer advertised{true, "https://id.example", ""};
  EXPECT_EQ(check_iss(advertised, std::string("https://id.example")), IssVerdict::ok);
  EXPECT_EQ(check_iss(advertised, std::nullopt), IssVerdict::missing);
  EXPECT_EQ(check_iss(advertised, std::string("https://id.example/")), IssVerdict::mismatch) << "exact match";
  EXPECT_EQ(check_iss(advertised, std::string("https://evil.example")), IssVerdict::mismatch);
  const CallbackIssuer known_not_advertised{false, "https://id.example", ""};
  EXPECT_EQ(check_iss(known_not_advertised, std::nullopt), IssVerdict::ok);
  EXPECT_EQ(check_iss(known_not_advertised, std::string("https://evil.example")), IssVerdict::mismatch);
  EXPECT_EQ(check_iss(CallbackIssuer{}, std::nullopt), IssVerdict::ok);
  EXPECT_EQ(check_iss(CallbackIssuer{}, std::string("anything")), IssVerdict::ok) << "no issuer to compare with";
  EXPECT_EQ(check_iss(CallbackIssuer{false, "", "unreachable"}, std::string("https://id.example")),
            IssVerdict::metadata_unavailable);
}

TEST(ConnectChecks, AUsedOrExpiredLinkIsGoneAndAnUnknownOneABadRequest) {
  EXPECT_EQ(ticket_refusal(ConsumeResult::used).status, 410);
  EXPECT_EQ(ticket_refusal(ConsumeResult::used).title, "Link already used");
  EXPECT_EQ(ticket_refusal(ConsumeResult::expired).status, 410);
  EXPECT_EQ(ticket_refusal(ConsumeResult::expired).title, "Link expired");
  EXPECT_EQ(ticket_refusal(ConsumeResult::unknown).status, 400);
}

TEST(ConnectCookie, IsReadFromTheCookieHeaderAmongOthers) {
  EXPECT_EQ(cookie_value("a=1; __Host-mediax_connect=abc_-9; b=2", kConnectCookie), "abc_-9");
  EXPECT_EQ(cookie_value("__Host-mediax_connect=\"q\"", kConnectCookie), "q");
  EXPECT_EQ(cookie_value("x__Host-mediax_connect=1;mediax_connect=2", kConnectCookie), std::nullopt);
  EXPECT_EQ(cookie_value("", kConnectCookie), std::nullopt);
  EXPECT_EQ(cookie_value("__Host-mediax_connect=", kConnectCookie), "");
}

TEST(ConnectCookie, IsHostOnlySecureHttpOnlyLaxAndClearedWithMaxAgeZero) {
  EXPECT_EQ(set_connect_cookie("v", std::chrono::seconds(600)),
            "__Host-mediax_connect=v; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600");
  EXPECT_EQ(clear_connect_cookie(), "__Host-mediax_connect=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0");
}

TEST(ConnectChecks, ChoicesKeptWithALinkReadBackTheSame) {
  AuthorizeChoices c;
  c.grant_id = 7;
  c.scopes = {"a", "b"};
  c.prompt = "consent";
  c.login_hint = "x@example.com";
  c.include_granted_scopes = false;
  c.mobile = true;
  c.auth_type = 2;
  c.biz_appid = "wx1";
  const AuthorizeChoices back = authorize_choices_from_request(authorize_choices_to_json(c));
  EXPECT_EQ(back.grant_id, c.grant_id);
  EXPECT_EQ(back.scopes, c.scopes);
  EXPECT_EQ(back.prompt, c.prompt);
  EXPECT_EQ(back.login_hint, c.login_hint);
  EXPECT_EQ(back.include_granted_scopes, c.include_granted_scopes);
  EXPECT_EQ(back.mobile, c.mobile);
  EXPECT_EQ(back.auth_type, c.auth_type);
  EXPECT_EQ(back.biz_appid, c.biz_appid);
  EXPECT_EQ(authorize_choices_to_json(AuthorizeChoices{}), nlohmann::json::object());
}

}  // namespace
}  // namespace mediax

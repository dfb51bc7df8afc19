// Bilibili's spec beyond its fixtures (tests/platforms/bilibili): which per-connection choices it
// takes, what registration refuses, and the late-refresh rule at its edges.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_http_client.hpp"
#include "platforms/spec_platform.hpp"
#include "platforms/specs.hpp"

using namespace mediax;
using mediax::testing::FakeHttpClient;
using nlohmann::json;

namespace {

App make_app(json options = json::object()) {
  App a;
  a.id = 21;
  a.name = "bili";
  a.platform = "bilibili";
  a.client_id = "b1d2f3a4c5e6f708";
  a.client_secret = "bili-secret-1a2b3c4d5e6f7a8b";
  a.redirect_uri = "https://mediax.example/oauth/callback/bili";
  a.options = std::move(options);
  return a;
}

Grant make_grant(json extra) {
  Grant g;
  g.id = 3;
  g.app_id = 21;
  g.account_id = "anonymous-0011223344556677";
  g.refresh_token = "WxFDKwqScZIQDm4iWmKDvetyFugM6HkX";
  g.extra = std::move(extra);
  return g;
}

std::int64_t unix_in(std::int64_t seconds) {
  return std::chrono::duration_cast<Seconds>(SysClock::now().time_since_epoch()).count() + seconds;
}

std::string refused(std::int64_t code) { return json{{"code", code}, {"message", "x"}, {"ttl", 1}}.dump(); }

}  // namespace

TEST(BilibiliAuthorize, TakesTheMobileChoiceOnlyAndKuaishouNone) {
  FakeHttpClient http;
  SpecPlatform bili(specs::bilibili(), http, {});
  App app = make_app();
  AuthorizeParams mobile{"st", "", app.redirect_uri};
  mobile.mobile = true;
  EXPECT_EQ(bili.check_authorize(app, mobile), "");
  AuthorizeParams scoped{"st", "", app.redirect_uri};
  scoped.scopes = {"USER_INFO"};
  EXPECT_NE(bili.check_authorize(app, scoped), "");

  SpecPlatform kuaishou(specs::kuaishou(), http, {});
  EXPECT_NE(kuaishou.check_authorize(app, mobile), "") << "a spec without a mobile page refuses mobile";
}

TEST(BilibiliAuthorize, AnH5AppStaysOnTheH5PageAndAPcAppMovesToItForAPhone) {
  FakeHttpClient http;
  SpecPlatform p(specs::bilibili(), http, {});
  AuthorizeParams pc{"st", "", "https://mediax.example/oauth/callback/bili"};
  AuthorizeParams phone = pc;
  phone.mobile = true;
  const std::string h5 = "https://account.bilibili.com/h5/account-h5/auth/oauth?";
  EXPECT_EQ(p.authorize_url(make_app({{"authorize_page", "h5"}}), pc).rfind(h5, 0), 0u);
  EXPECT_EQ(p.authorize_url(make_app(), phone).rfind(h5, 0), 0u);
  EXPECT_EQ(p.authorize_url(make_app(), pc).rfind("https://account.bilibili.com/pc/account-pc/auth/oauth?", 0), 0u);
}

TEST(BilibiliRegistration, RefusesAnAppTokenAndBadOptions) {
  FakeHttpClient http;
  SpecPlatform p(specs::bilibili(), http, {});
  App app = make_app();
  EXPECT_TRUE(p.prepare_app(app).ok) << "no scopes needed: the console holds them";
  App with_app_token = make_app();
  with_app_token.client_credentials = true;
  EXPECT_FALSE(p.prepare_app(with_app_token).ok);
  for (const json& bad : {json{{"token_params_in", "json"}}, json{{"h5_callback", "stay"}}, json{{"h5_navhide", 1}},
                          json{{"refresh_token_lifetime_seconds", 0}}, json{{"authorize_page", "passport"}},
                          json{{"late_refresh_failure_is_reauth", "yes"}}}) {
    App a = make_app(bad);
    EXPECT_FALSE(p.prepare_app(a).ok) << bad.dump();
  }
}

TEST(BilibiliLateRefresh, WithoutAKnownAccessEndARefusalKeepsItsClass) {
  // A grant imported or connected before extra.access_expires_at existed: nothing says it is late.
  FakeHttpClient http;
  http.respond(200, refused(127001));
  SpecPlatform p(specs::bilibili(), http, {});
  const Outcome o = p.refresh(make_app(), make_grant(json::object()));
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
  EXPECT_EQ(o.code, "127001");
}

TEST(BilibiliLateRefresh, AnUnknownCodeAfterTheEndIsReauthWithoutTheRefreshToken) {
  FakeHttpClient http;
  http.respond(200, refused(129999));
  SpecPlatform p(specs::bilibili(), http, {});
  const Grant g = make_grant({{"access_expires_at", unix_in(-60)}});
  const Outcome o = p.refresh(make_app(), g);
  EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
  EXPECT_EQ(o.code, "129999");
  EXPECT_EQ(o.message.find(g.refresh_token), std::string::npos);
  EXPECT_EQ(o.message.find("bili-secret"), std::string::npos);
}

TEST(BilibiliExpiry, AnEndYearsAwayIsNotClampedBeforeItIsReadAsATime) {
  FakeHttpClient http;
  const std::int64_t end = unix_in(5LL * 365 * 24 * 3600);
  http.respond(200,
               json{{"code", 0},
                    {"message", "0"},
                    {"ttl", 1},
                    {"data", {{"access_token", "d30bedaa4d8e"}, {"refresh_token", "WxFDKwqS"}, {"expires_in", end}}}}
                   .dump());
  SpecPlatform p(specs::bilibili(), http, {});
  const Outcome o = p.exchange_code(make_app(), "bili-code-1", "", "");
  ASSERT_TRUE(o.ok()) << o.message;
  ASSERT_TRUE(o.token.expires_in.has_value());
  EXPECT_NEAR(static_cast<double>(o.token.expires_in->count()), 5.0 * 365 * 24 * 3600, 5);
  EXPECT_EQ(o.token.extra["access_expires_at"], end);
}

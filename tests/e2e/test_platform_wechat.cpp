// WeChat against the fake WeChat: the two browser flows ending in #wechat_redirect, GET calls with
// the secret in the query (never in the daemon's log), openid/unionid, errcode answers with HTTP 200,
// the stable app token (the same token until it is due; forced refreshes counted) and the classic
// token under a daily budget and quota.
#include "platform_fixture.hpp"

namespace mediax::e2e {
namespace {

class WeChatE2E : public PlatformE2ETest {
 protected:
  WeChatE2E() {
    platform_ = "wechat";
    fake_args_ = {"--expires-in", "4", "--client-expires-in", "8", "--force-interval", "0"};
  }

  json register_wechat(const std::string& name, json options = json::object(), bool client_credentials = false,
                       json ip_whitelist = nullptr) {
    appid_ = random_hex("wx", 16);
    secret_ = random_hex("wxsec-", 32);
    remember_secret(secret_);
    json client{{"appid", appid_}, {"secret", secret_}, {"redirect_uris", {daemon().callback_url()}}};
    if (!ip_whitelist.is_null()) client["ip_whitelist"] = ip_whitelist;
    fake().control("/_fake/clients", client);
    return register_app({{"name", name},
                         {"platform", "wechat"},
                         {"client_id", appid_},
                         {"client_secret", secret_},
                         {"client_credentials", client_credentials},
                         {"options", options}});
  }

  std::string appid_;
  std::string secret_;
};

class WeChatQuotaE2E : public WeChatE2E {
 protected:
  WeChatQuotaE2E() { fake_args_ = {"--client-expires-in", "3600", "--daily-token-quota", "1"}; }
};

TEST_F(WeChatE2E, QrLoginConnectsTheOpenidWithItsUnionidAndRefreshes) {
  json app = register_wechat("wxweb");
  EXPECT_EQ(app["scopes"], json::array({"snsapi_login"}));
  auto r = daemon().post("/v1/apps/wxweb/authorize");
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string url = r.json().value("authorize_url", "");
  EXPECT_EQ(url.rfind(fake().base() + "/connect/qrconnect?appid=", 0), 0u) << url;
  EXPECT_EQ(url.substr(url.size() - 16), "#wechat_redirect") << url;

  // The fake insists on WeChat's parameter order, so reaching the callback proves it.
  const std::int64_t id = connect_account("wxweb", "alice", "o_alice");
  json g = grant(id);
  EXPECT_EQ(g["extra"].value("unionid", ""), "u_o_alice");
  EXPECT_TRUE(g["refresh_expires_at"].is_string()) << "the documented 30 days are shown: " << g.dump();

  auto refreshed = daemon().post("/v1/grants/" + std::to_string(id) + "/refresh");
  ASSERT_EQ(refreshed.status, 200) << refreshed.describe();
  std::string token = refreshed.json().value("access_token", "");
  remember_secret(token);
  EXPECT_TRUE(fake().token_active(token));
  EXPECT_EQ(fake().stat_in("refreshes_by_account", "o_alice"), 1);
  EXPECT_EQ(fake().stat("token_errors"), 0) << "the fake refused a request, e.g. a secret sent with a refresh";

  // The scheduler keeps it fresh ahead of the 4-second expiry.
  ASSERT_TRUE(eventually([&] { return fake().stat("refreshes") >= 3; }, 15s, 200ms));
  EXPECT_TRUE(fake().token_active(published("wxweb", id)));
  EXPECT_EQ(grant(id)["extra"].value("unionid", ""), "u_o_alice") << "a refresh keeps the unionid";
}

TEST_F(WeChatE2E, OfficialAccountFlowUsesTheChosenScope) {
  register_wechat("wxoa", {{"authorize", "oauth2"}, {"scope_mode", "snsapi_base"}});
  auto r = daemon().post("/v1/apps/wxoa/authorize");
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string url = r.json().value("authorize_url", "");
  EXPECT_EQ(url.rfind(fake().base() + "/connect/oauth2/authorize?", 0), 0u) << url;
  EXPECT_EQ(test::query_param(url.substr(0, url.find('#')), "scope").value_or(""), "snsapi_base");
  const std::int64_t id = connect_account("wxoa", "bob", "o_bob");
  EXPECT_FALSE(grant(id)["extra"].contains("unionid")) << "snsapi_base gives no unionid";
}

TEST_F(WeChatE2E, UsedCodeIsRefusedWithItsErrcode) {
  register_wechat("wxcode");
  std::string callback = authorize_at_platform("wxcode", "carol");
  auto code = test::query_param(callback, "code");
  ASSERT_TRUE(code.has_value());
  // Someone else (a replayed link) uses the code first.
  auto stolen = test::http_get(fake().base() + "/sns/oauth2/access_token?appid=" + appid_ + "&secret=" + secret_ +
                               "&code=" + test::url_encode(*code) + "&grant_type=authorization_code");
  ASSERT_EQ(stolen.status, 200);
  remember_secret(stolen.json().value("access_token", ""));
  remember_secret(stolen.json().value("refresh_token", ""));
  auto r = test::http_get(callback);
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_NE(r.body.find("40163"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("needs_reauth"), std::string::npos) << r.body;
}

TEST_F(WeChatE2E, StableAppTokenIsReusedUntilDueAndForcedOnlyByAnAdmin) {
  register_wechat("wxapp", {{"daily_token_budget", 1}}, true);
  std::string first;
  ASSERT_TRUE(eventually([&] { return !(first = published("wxapp")).empty(); }, 10s, 100ms));
  EXPECT_TRUE(fake().token_active(first));

  // Scheduled calls never force: WeChat hands back the same token until its last moments.
  ASSERT_TRUE(eventually([&] { return fake().stat("stable_token_calls") >= 2; }, 15s, 200ms));
  EXPECT_EQ(fake().stat("stable_token_forced"), 0);

  // An admin's refresh forces a new token (WeChat kills the previous one at once).
  std::string before = published("wxapp");
  auto forced = daemon().post("/v1/apps/wxapp/refresh");
  ASSERT_EQ(forced.status, 200) << forced.describe();
  std::string after = forced.json().value("access_token", "");
  remember_secret(after);
  EXPECT_NE(after, before);
  EXPECT_TRUE(fake().token_active(after));
  EXPECT_EQ(published("wxapp"), after);
  EXPECT_EQ(fake().stat("stable_token_forced"), 1);

  // The daily budget of forced calls (1) is spent: the daemon refuses before calling WeChat.
  auto refused = daemon().post("/v1/apps/wxapp/refresh");
  EXPECT_EQ(refused.status, 502) << refused.describe();
  EXPECT_EQ(refused.json().value("platform_code", ""), "daily_budget");
  EXPECT_EQ(refused.json().value("class", ""), "rate_limited");
  EXPECT_EQ(fake().stat("stable_token_forced"), 1);
  EXPECT_TRUE(fake().token_active(published("wxapp")));
}

TEST_F(WeChatE2E, ClassicTokenStopsAtTheDailyBudget) {
  register_wechat("wxclassic", {{"app_token", "token"}, {"daily_token_budget", 2}}, true);
  // 8-second tokens are fetched again every 4 s; the third fetch is over budget.
  ASSERT_TRUE(eventually([&] { return fake().stat("token_calls") >= 2; }, 15s, 200ms));
  ASSERT_TRUE(eventually(
      [&] {
        auto app = daemon().get("/v1/apps/wxclassic").json();
        return app.value("last_error", json()).is_string() &&
               app["last_error"].get<std::string>().find("daily_budget") != std::string::npos;
      },
      15s, 200ms))
      << daemon().get("/v1/apps/wxclassic").body;
  EXPECT_EQ(fake().stat("token_calls"), 2) << "no call beyond the budget reached WeChat";
  EXPECT_TRUE(fake().token_active(published("wxclassic")));
}

TEST_F(WeChatQuotaE2E, QuotaErrorFromWeChatIsRateLimited) {
  register_wechat("wxquota", {{"app_token", "token"}, {"daily_token_budget", 100}}, true);
  ASSERT_TRUE(eventually([&] { return !published("wxquota").empty(); }, 10s, 100ms));
  auto r = daemon().post("/v1/apps/wxquota/refresh");
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.json().value("platform_code", ""), "45009");
  EXPECT_EQ(r.json().value("class", ""), "rate_limited");
  EXPECT_EQ(fake().stat("quota_refusals"), 1);
}

TEST_F(WeChatE2E, CallerIpOutsideTheWhitelistIsNamed) {
  register_wechat("wxip", json::object(), true, json::array({"192.0.2.10"}));
  ASSERT_TRUE(eventually(
      [&] {
        auto app = daemon().get("/v1/apps/wxip").json();
        return app.value("last_error", json()).is_string();
      },
      10s, 100ms));
  auto app = daemon().get("/v1/apps/wxip").json();
  std::string error = app["last_error"].get<std::string>();
  EXPECT_NE(error.find("40164"), std::string::npos) << error;
  EXPECT_NE(error.find("127.0.0.1"), std::string::npos) << "the IP to whitelist is named: " << error;
  EXPECT_EQ(app.value("status", ""), "needs_reauth") << "no blind retries: " << app.dump();
  EXPECT_EQ(error.find(secret_), std::string::npos);
}

}  // namespace
}  // namespace mediax::e2e

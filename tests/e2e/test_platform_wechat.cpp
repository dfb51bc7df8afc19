// WeChat against the fake WeChat: the two browser flows ending in #wechat_redirect, GET calls with
// the secret in the query (never in the daemon's log), openid/unionid, errcode answers with HTTP 200,
// the stable app token (the same token until WeChat hands over to the next; forced refreshes counted
// by Beijing day, 30 s apart; a consumer's rejected report never cuts off the other holders) and the
// classic token under a daily budget and quota.
#include <pqxx/pqxx>

#include <ctime>
#include <set>
#include <thread>

#include "core/types.hpp"
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
    json client{{"appid", appid_}, {"secret", secret_}, {"redirect_uris", {daemon().callback_url(name)}}};
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

// Stable tokens that live an hour: nothing is due during a test, so every call the fake sees was
// asked for by the test. WeChat's own 30 s between forced calls.
class WeChatStableE2E : public WeChatE2E {
 protected:
  WeChatStableE2E() { fake_args_ = {"--client-expires-in", "3600"}; }

  std::string register_stable(const std::string& name, json options = json::object()) {
    register_wechat(name, std::move(options), true);
    std::string token;
    EXPECT_TRUE(eventually([&] { return !(token = published(name)).empty(); }, 10s, 100ms));
    return token;
  }
  test::HttpResult report_rejected(const std::string& app, const std::string& token) {
    return daemon().post("/v1/apps/" + app + "/token/rejected", {{"access_token", token}});
  }
  // What another system holding the AppSecret would do (WeChat's advice notwithstanding).
  std::string force_at_wechat_directly() {
    auto r = test::http_post_json(
        fake().base() + "/cgi-bin/stable_token",
        {{"grant_type", "client_credential"}, {"appid", appid_}, {"secret", secret_}, {"force_refresh", true}});
    std::string token = r.json().value("access_token", "");
    remember_secret(token);
    return token;
  }
  // The days on which forced calls were counted, as the database names them.
  std::vector<std::string> force_count_days() {
    pqxx::connection c(daemon().db_url());
    pqxx::nontransaction tx(c);
    std::vector<std::string> days;
    for (const auto& row : tx.exec("SELECT day::text || ':' || count FROM mediax.call_counts"
                                   " WHERE kind = 'wechat_stable_token_force' ORDER BY day")) {
      days.push_back(row[0].as<std::string>());
    }
    return days;
  }
};

// 8-second stable tokens: WeChat hands over to the next one in the last 2 s (a quarter of the life).
class WeChatHandoverE2E : public WeChatE2E {
 protected:
  WeChatHandoverE2E() { fake_args_ = {"--client-expires-in", "8"}; }
};

class WeChatQuotaE2E : public WeChatE2E {
 protected:
  WeChatQuotaE2E() { fake_args_ = {"--client-expires-in", "3600", "--daily-token-quota", "1"}; }
};

TEST_F(WeChatE2E, QrLoginConnectsTheOpenidWithItsUnionidAndRefreshes) {
  json app = register_wechat("wxweb");
  EXPECT_EQ(app["scopes"], json::array({"snsapi_login"}));
  std::string url = platform_url("wxweb");
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
  std::string url = platform_url("wxoa");
  EXPECT_EQ(url.rfind(fake().base() + "/connect/oauth2/authorize?", 0), 0u) << url;
  EXPECT_EQ(test::query_param(url.substr(0, url.find('#')), "scope").value_or(""), "snsapi_base");
  const std::int64_t id = connect_account("wxoa", "bob", "o_bob");
  EXPECT_FALSE(grant(id)["extra"].contains("unionid")) << "snsapi_base gives no unionid";
}

TEST_F(WeChatE2E, UsedCodeIsRefusedWithItsErrcode) {
  register_wechat("wxcode");
  auto callback = authorize_at_platform("wxcode", "carol");
  auto code = test::query_param(callback.url, "code");
  ASSERT_TRUE(code.has_value());
  // Someone else (a replayed link) uses the code first.
  auto stolen = test::http_get(fake().base() + "/sns/oauth2/access_token?appid=" + appid_ + "&secret=" + secret_ +
                               "&code=" + test::url_encode(*code) + "&grant_type=authorization_code");
  ASSERT_EQ(stolen.status, 200);
  remember_secret(stolen.json().value("access_token", ""));
  remember_secret(stolen.json().value("refresh_token", ""));
  auto r = visit(callback);
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

TEST_F(WeChatStableE2E, RejectedReportGetsTheNewerTokenWithoutAForcedCall) {
  const std::string stored = register_stable("wxnewer");
  // Another system forced a new token: the stored one is dead at WeChat.
  const std::string newer = force_at_wechat_directly();
  ASSERT_FALSE(newer.empty());
  ASSERT_FALSE(fake().token_active(stored));
  const auto forced_before = fake().stat("stable_token_forced");

  auto r = report_rejected("wxnewer", stored);
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json().value("access_token", ""), newer) << "WeChat's normal answer is the newer token";
  EXPECT_EQ(fake().stat("stable_token_forced"), forced_before) << "the daemon forced nothing";
  EXPECT_TRUE(fake().token_active(newer)) << "and so cut off no one";
  EXPECT_EQ(published("wxnewer"), newer);
  EXPECT_TRUE(force_count_days().empty()) << "nothing counted";
}

TEST_F(WeChatStableE2E, RejectedReportOnTheCurrentTokenIsAnsweredWithoutInvalidatingIt) {
  const std::string token = register_stable("wxkeep");
  auto r = report_rejected("wxkeep", token);
  ASSERT_EQ(r.status, 409) << r.describe();
  EXPECT_EQ(r.json().value("error", ""), "token_still_current");
  const std::string message = r.json().value("message", "");
  EXPECT_NE(message.find("options.force_on_reject is off"), std::string::npos) << message;
  EXPECT_NE(message.find("POST /v1/apps/wxkeep/refresh"), std::string::npos) << message;
  EXPECT_TRUE(r.json().value("expires_at", json()).is_string()) << r.body;
  EXPECT_EQ(fake().stat("stable_token_forced"), 0);
  EXPECT_TRUE(fake().token_active(token)) << "the other holders keep working";
  EXPECT_EQ(published("wxkeep"), token);
  auto app = daemon().get("/v1/apps/wxkeep").json();
  EXPECT_EQ(app.value("status", ""), "active") << app.dump();
  EXPECT_EQ(app.value("failure_count", -1), 0) << "a consumer's report is no failure of the app: " << app.dump();
}

TEST_F(WeChatStableE2E, ForceOnRejectForcesOnlyWhenNeededNotTwiceInThirtySecondsCountedByBeijingDay) {
  const std::string first = register_stable("wxforce", {{"force_on_reject", true}});
  auto r = report_rejected("wxforce", first);
  ASSERT_EQ(r.status, 200) << r.describe();
  const std::string second = r.json().value("access_token", "");
  remember_secret(second);
  EXPECT_NE(second, first);
  EXPECT_EQ(fake().stat("stable_token_forced"), 1);
  EXPECT_TRUE(fake().token_active(second));
  EXPECT_FALSE(fake().token_active(first)) << "force mode kills the refused token at once";

  // A holder of the old token reports it too: it is no longer current, so no call at all.
  const auto calls = fake().stat("stable_token_calls");
  auto late = report_rejected("wxforce", first);
  ASSERT_EQ(late.status, 200) << late.describe();
  EXPECT_EQ(late.json().value("access_token", ""), second);
  EXPECT_EQ(fake().stat("stable_token_calls"), calls);

  // The new token is reported at once: WeChat would ignore a forced call within 30 s.
  auto soon = report_rejected("wxforce", second);
  ASSERT_EQ(soon.status, 409) << soon.describe();
  EXPECT_EQ(soon.json().value("error", ""), "token_still_current");
  EXPECT_NE(soon.json().value("message", "").find("less than 30 s before"), std::string::npos) << soon.body;
  EXPECT_EQ(fake().stat("stable_token_forced"), 1);
  EXPECT_EQ(fake().stat("stable_token_forced_ignored"), 0) << "the daemon did not try";
  EXPECT_TRUE(fake().token_active(second));
  // So does an admin's forced refresh: the gap is WeChat's, whoever asks.
  auto admin = daemon().post("/v1/apps/wxforce/refresh");
  EXPECT_EQ(admin.status, 502) << admin.describe();
  EXPECT_EQ(admin.json().value("platform_code", ""), "force_too_soon");
  EXPECT_EQ(fake().stat("stable_token_forced"), 1);

  // The one forced call is counted on WeChat's (Beijing) day.
  const auto beijing = std::chrono::system_clock::now() + std::chrono::hours(8);
  const std::time_t t = std::chrono::system_clock::to_time_t(beijing);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char day[16];
  std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
  EXPECT_EQ(force_count_days(), std::vector<std::string>{std::string(day) + ":1"});
}

TEST_F(WeChatStableE2E, PendingAdminConfirmationKeepsTheAppAndAsksAgainInAnHour) {
  fake().fail({{"endpoint", "stable_token"},
               {"errcode", 89501},
               {"errmsg", "risky ip 127.0.0.1 is pending admin confirm"},
               {"count", 1}});
  register_wechat("wxconfirm", json::object(), true);
  json app;
  ASSERT_TRUE(eventually(
      [&] {
        app = daemon().get("/v1/apps/wxconfirm").json();
        return app.value("last_error", json()).is_string() && !app["last_error"].get<std::string>().empty();
      },
      10s, 100ms));
  EXPECT_NE(app["last_error"].get<std::string>().find("89501"), std::string::npos) << app.dump();
  EXPECT_EQ(app.value("status", ""), "active") << "not ended: " << app.dump();
  auto next = parse_time(app.value("next_refresh_at", ""));
  ASSERT_TRUE(next.has_value()) << app.dump();
  EXPECT_GT(*next, SysClock::now() + std::chrono::minutes(55)) << app.dump();
  EXPECT_EQ(fake().stat_in("errors_by_code", "89501"), 1);
  EXPECT_EQ(fake().stat("stable_token_calls"), 0) << "no retries in between";
}

TEST_F(WeChatHandoverE2E, StableTokensAreServedThroughWeChatsHandoverWithoutABurstOfCalls) {
  register_wechat("wxhandover", json::object(), true);
  ASSERT_TRUE(eventually([&] { return !published("wxhandover").empty(); }, 10s, 100ms));
  // Every token the daemon publishes is one WeChat accepts, through several handovers.
  std::set<std::string> seen;
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until) {
    const std::string t = published("wxhandover");
    if (!t.empty()) {
      EXPECT_TRUE(fake().token_active(t)) << "a published token was already dead";
      seen.insert(t);
    }
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_GE(seen.size(), 3u) << "WeChat renewed the token every 6 s";
  EXPECT_EQ(fake().stat("stable_token_forced"), 0);
  // WeChat renews every 6 s (8 s less the 2 s handover). A token is asked for again when half of what
  // was left of it is left (refresh.fraction 0.5): at about 4 s, 2 s and 1 s left, the last inside the
  // handover at the latest; never more than a handful of calls per token, never a burst near expiry
  // (WeChat answers with at least the handover left).
  const auto issued = fake().stat("stable_tokens_issued");
  const auto calls = fake().stat("stable_token_calls");
  RecordProperty("stable_token_calls", static_cast<int>(calls));
  RecordProperty("stable_tokens_issued", static_cast<int>(issued));
  EXPECT_LE(calls, 4 * issued + 2) << "calls " << calls << ", tokens " << issued;
  EXPECT_LE(issued, 6) << "one token per handover in 20 s, not more";
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

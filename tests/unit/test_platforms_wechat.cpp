#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <tuple>

#include "fake_http_client.hpp"
#include "platform_test_util.hpp"
#include "platforms/registry.hpp"
#include "support/manual_time_source.hpp"
#include "platforms/wechat_platform.hpp"
#include "util/url.hpp"

using namespace mediax;
using mediax::testing::expect_no_leak;
using mediax::testing::FakeHttpClient;
using mediax::testing::header_value;
using mediax::testing::http_response;
using mediax::testing::query_fields;
using mediax::testing::query_names;
using nlohmann::json;

namespace {

const std::string kOpen = "http://127.0.0.1:18002";
const std::string kApi = "http://127.0.0.1:18003/api";
const std::string kSecret = "wx-secret-0123456789abcdef";
const std::string kAccess = "wx-access-88776655443322";
const std::string kRefresh = "wx-refresh-11223344556677";
const std::string kCode = "wx-code-99aa88bb77cc";
// 2026-05-01T15:59:00Z = 23:59 in Beijing.
const TimePoint kNow = from_unix(1777651140);

App make_app(json options = json::object()) {
  App a;
  a.id = 21;
  a.name = "wx";
  a.platform = "wechat";
  a.client_id = "wx1234567890abcdef";
  a.client_secret = kSecret;
  a.redirect_uri = "https://mediax.example/oauth/callback";
  a.options = std::move(options);
  return a;
}

Grant make_grant(std::optional<TimePoint> refresh_expires_at = std::nullopt) {
  Grant g;
  g.id = 8;
  g.app_id = 21;
  g.account_id = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M";
  g.refresh_token = kRefresh;
  g.refresh_expires_at = refresh_expires_at;
  return g;
}

PlatformSettings settings() {
  PlatformSettings s;
  s.urls["wechat"]["open_base_url"] = kOpen;
  s.urls["wechat"]["api_base_url"] = kApi;
  return s;
}

std::string user_token(const std::string& access = kAccess, const std::string& refresh = kRefresh) {
  return json{{"access_token", access},     {"expires_in", 7200},
              {"refresh_token", refresh},   {"openid", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"},
              {"scope", "snsapi_userinfo"}, {"unionid", "o6_bmasdasdsad6_2sgVt7hMZOPfL"}}
      .dump();
}

std::string error(std::int64_t code, const std::string& msg) { return json{{"errcode", code}, {"errmsg", msg}}.dump(); }

Outcome parse(const std::string& body, wechat::Flow flow = wechat::Flow::refresh_token, int status = 200) {
  return wechat::parse_response(http_response(status, body), flow, kNow, {kSecret, kRefresh, kCode});
}

// Counts as the store does (per app, kind and platform day, with the core rule spend_verdict), on
// the test's clock.
class FakeBudget : public CallBudget {
 public:
  explicit FakeBudget(const TimeSource* clock = nullptr) : clock_(clock) {}
  CallSpend try_spend(std::int64_t app_id, const std::string& kind, const CallLimit& limit) override {
    calls.emplace_back(app_id, kind, limit.daily_limit);
    limits.push_back(limit);
    if (fail) throw std::runtime_error("database unavailable");
    const TimePoint now = clock_ != nullptr ? clock_->system() : kNow;
    auto& k = kinds_[{app_id, kind}];
    CallSpend s;
    s.count = k.per_day[platform_day(now, limit.utc_offset_hours)];
    s.last_at = k.last_at;
    s.verdict = spend_verdict(s.count, s.last_at, limit, now);
    if (s.counted()) {
      s.count = ++k.per_day[platform_day(now, limit.utc_offset_hours)];
      k.last_at = now;
    }
    return s;
  }
  std::vector<std::tuple<std::int64_t, std::string, int>> calls;
  std::vector<CallLimit> limits;
  bool fail = false;

 private:
  struct Kind {
    std::map<std::int64_t, int> per_day;
    std::optional<TimePoint> last_at;
  };
  const TimeSource* clock_;
  std::map<std::pair<std::int64_t, std::string>, Kind> kinds_;
};

std::string stable(const std::string& token, int expires_in = 7200) {
  return json{{"access_token", token}, {"expires_in", expires_in}}.dump();
}

bool forced(const ClientRequest& r) { return json::parse(r.body).at("force_refresh").get<bool>(); }

}  // namespace

// ---- authorize URLs

TEST(WeChatAuthorizeUrl, QrConnectIsTheDefaultWithSnsapiLoginInWeChatsOrder) {
  FakeHttpClient http;
  WeChatPlatform p(http, settings());
  App app = make_app();
  ASSERT_TRUE(p.prepare_app(app).ok);
  EXPECT_EQ(app.scopes, std::vector<std::string>{"snsapi_login"});
  EXPECT_FALSE(p.uses_pkce(app));
  auto url = p.authorize_url(app, {"state123", "", "https://cb.example/oauth/callback?x=1"});
  EXPECT_EQ(url.rfind(kOpen + "/connect/qrconnect?", 0), 0u) << url;
  ASSERT_GE(url.size(), 16u);
  EXPECT_EQ(url.substr(url.size() - 16), "#wechat_redirect");
  EXPECT_EQ(query_names(url), (std::vector<std::string>{"appid", "redirect_uri", "response_type", "scope", "state"}));
  auto q = query_fields(url);
  EXPECT_EQ(q["appid"], "wx1234567890abcdef");
  EXPECT_EQ(q["redirect_uri"], "https://cb.example/oauth/callback?x=1");
  EXPECT_NE(url.find("redirect_uri=https%3A%2F%2Fcb.example%2Foauth%2Fcallback%3Fx%3D1"), std::string::npos)
      << "the redirect URI must be URL-encoded";
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["scope"], "snsapi_login");
  EXPECT_EQ(q["state"], "state123");
}

TEST(WeChatAuthorizeUrl, OfficialAccountAuthorizationUsesTheChosenScope) {
  FakeHttpClient http;
  WeChatPlatform p(http, settings());
  App base = make_app({{"authorize", "oauth2"}});
  ASSERT_TRUE(p.prepare_app(base).ok);
  EXPECT_EQ(base.scopes, std::vector<std::string>{"snsapi_base"});
  auto url = p.authorize_url(base, {"st", "", ""});
  EXPECT_EQ(url.rfind(kOpen + "/connect/oauth2/authorize?", 0), 0u) << url;
  EXPECT_EQ(query_fields(url)["scope"], "snsapi_base");
  EXPECT_EQ(query_fields(url)["redirect_uri"], "https://mediax.example/oauth/callback");
  EXPECT_EQ(url.substr(url.size() - 16), "#wechat_redirect");

  App info = make_app({{"authorize", "oauth2"}, {"scope_mode", "snsapi_userinfo"}});
  ASSERT_TRUE(p.prepare_app(info).ok);
  EXPECT_EQ(query_fields(p.authorize_url(info, {"st", "", ""}))["scope"], "snsapi_userinfo");
}

// ---- API requests

TEST(WeChatRequests, CodeExchangeIsAGetWithTheSecretInTheQuery) {
  auto r = wechat::build_code_request(kApi, make_app(), kCode);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url.rfind(kApi + "/sns/oauth2/access_token?", 0), 0u) << r.url;
  auto q = query_fields(r.url);
  EXPECT_EQ(q["appid"], "wx1234567890abcdef");
  EXPECT_EQ(q["secret"], kSecret);
  EXPECT_EQ(q["code"], kCode);
  EXPECT_EQ(q["grant_type"], "authorization_code");
  EXPECT_EQ(q.size(), 4u);
  EXPECT_TRUE(r.body.empty());
  // What may be logged of it: no secret, no code.
  EXPECT_EQ(redact_url(r.url), kApi + "/sns/oauth2/access_token");
}

TEST(WeChatRequests, RefreshIsAGetWithoutTheSecret) {
  auto r = wechat::build_refresh_request(kApi, make_app(), kRefresh);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url.rfind(kApi + "/sns/oauth2/refresh_token?", 0), 0u) << r.url;
  auto q = query_fields(r.url);
  EXPECT_EQ(q["appid"], "wx1234567890abcdef");
  EXPECT_EQ(q["grant_type"], "refresh_token");
  EXPECT_EQ(q["refresh_token"], kRefresh);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(r.url.find(kSecret), std::string::npos);
}

TEST(WeChatRequests, StableTokenIsAJsonPostWithForceRefreshAsAsked) {
  for (bool force : {false, true}) {
    auto r = wechat::build_stable_token_request(kApi, make_app(), force);
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.url, kApi + "/cgi-bin/stable_token");
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(header_value(r, "Accept"), "application/json");
    EXPECT_EQ(json::parse(r.body), (json{{"grant_type", "client_credential"},
                                         {"appid", "wx1234567890abcdef"},
                                         {"secret", kSecret},
                                         {"force_refresh", force}}));
    EXPECT_EQ(r.url.find(kSecret), std::string::npos);
  }
}

TEST(WeChatRequests, ClassicTokenIsAGetWithClientCredential) {
  auto r = wechat::build_token_request(kApi, make_app());
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url.rfind(kApi + "/cgi-bin/token?", 0), 0u) << r.url;
  auto q = query_fields(r.url);
  EXPECT_EQ(q["grant_type"], "client_credential");
  EXPECT_EQ(q["appid"], "wx1234567890abcdef");
  EXPECT_EQ(q["secret"], kSecret);
  EXPECT_EQ(q.size(), 3u);
}

// ---- response parsing

TEST(WeChatParse, UserTokenWithOpenidAndUnionid) {
  auto o = parse(user_token(), wechat::Flow::authorization_code);
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.access_token, kAccess);
  EXPECT_EQ(o.token.refresh_token.value_or(""), kRefresh);
  EXPECT_EQ(o.token.expires_in, Seconds(7200));
  EXPECT_EQ(o.token.account_id, "o6_bmjrPTlm6_2sgVt7hMZOPfL2M");
  EXPECT_EQ(o.token.extra.value("unionid", ""), "o6_bmasdasdsad6_2sgVt7hMZOPfL");
  EXPECT_FALSE(o.token.extra.contains("is_snapshotuser"));
  EXPECT_EQ(o.token.scopes, std::vector<std::string>{"snsapi_userinfo"});
}

TEST(WeChatParse, SnapshotUsersAndStringNumbersAndErrcodeZero) {
  auto o = parse(R"({"errcode":0,"errmsg":"ok","access_token":"A-123456","expires_in":"7200","openid":"virt",)"
                 R"("scope":"snsapi_base,snsapi_userinfo","is_snapshotuser":1})");
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.expires_in, Seconds(7200));
  EXPECT_EQ(o.token.extra.value("is_snapshotuser", false), true);
  EXPECT_EQ(o.token.scopes, (std::vector<std::string>{"snsapi_base", "snsapi_userinfo"}));
}

TEST(WeChatParse, AppTokenHasOnlyTokenAndLifetime) {
  auto o = parse(R"({"access_token":"APP-TOKEN-1","expires_in":7200})", wechat::Flow::app_token);
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.access_token, "APP-TOKEN-1");
  EXPECT_FALSE(o.token.refresh_token.has_value());
  EXPECT_TRUE(o.token.account_id.empty());
}

TEST(WeChatParse, EveryErrcodeOfTheTableHasItsClass) {
  struct Case {
    std::int64_t code;
    wechat::Flow flow;
    OutcomeKind kind;
  };
  using F = wechat::Flow;
  using K = OutcomeKind;
  const std::vector<Case> cases = {
      {-1, F::app_token, K::retry_later},
      {40001, F::app_token, K::app_misconfigured},
      {40001, F::authorization_code, K::app_misconfigured},
      {40001, F::refresh_token, K::retry_later},
      {42001, F::refresh_token, K::retry_later},
      {40014, F::refresh_token, K::retry_later},
      {40002, F::app_token, K::app_misconfigured},
      {40013, F::app_token, K::app_misconfigured},
      {40125, F::app_token, K::app_misconfigured},
      {41002, F::app_token, K::app_misconfigured},
      {41004, F::authorization_code, K::app_misconfigured},
      {40243, F::app_token, K::app_misconfigured},
      {40164, F::app_token, K::app_misconfigured},
      {89501, F::app_token, K::rate_limited},
      {89503, F::app_token, K::app_misconfigured},
      {89506, F::app_token, K::app_misconfigured},
      {89507, F::app_token, K::app_misconfigured},
      {40029, F::authorization_code, K::needs_reauth},
      {40163, F::authorization_code, K::needs_reauth},
      {41008, F::authorization_code, K::needs_reauth},
      {42003, F::authorization_code, K::needs_reauth},
      {40030, F::refresh_token, K::needs_reauth},
      {42002, F::refresh_token, K::needs_reauth},
      {42007, F::refresh_token, K::needs_reauth},
      {45009, F::app_token, K::rate_limited},
      {45011, F::app_token, K::rate_limited},
      {48001, F::app_token, K::app_misconfigured},
      {12345, F::app_token, K::retry_later},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(wechat::kind_for_errcode(c.code, c.flow), c.kind) << c.code;
    auto o = parse(error(c.code, "some text, rid: 6620f1c1-1d0a2b3c"), c.flow);
    EXPECT_EQ(o.kind, c.kind) << c.code;
    EXPECT_EQ(o.code, std::to_string(c.code));
    EXPECT_EQ(o.http_status, 200);
    EXPECT_NE(o.message.find("rid: 6620f1c1"), std::string::npos) << "WeChat's own text is kept: " << o.message;
  }
}

TEST(WeChatParse, ErrcodeAsStringIsRead) {
  auto o = parse(R"({"errcode":"40030","errmsg":"invalid refresh_token"})");
  EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
  EXPECT_EQ(o.code, "40030");
}

TEST(WeChatParse, DailyQuotaWaitsForTheNextDayAndMinuteQuotaForTheNextMinute) {
  // kNow is 23:59:00 in Beijing: WeChat's day ends in 60 s (+60 s margin).
  auto daily = parse(error(45009, "reach max api daily quota limit"), wechat::Flow::app_token);
  EXPECT_EQ(daily.kind, OutcomeKind::rate_limited);
  EXPECT_EQ(daily.retry_after, Seconds(120));
  auto utc = wechat::parse_response(http_response(200, error(45009, "quota")), wechat::Flow::app_token, kNow, {}, 0);
  EXPECT_EQ(utc.retry_after, Seconds(8 * 3600 + 60 + 60));
  auto minute = parse(error(45011, "api minute-quota reach limit"), wechat::Flow::app_token);
  EXPECT_EQ(minute.retry_after, Seconds(60));
}

TEST(WeChatParse, IpNotWhitelistedNamesTheIp) {
  auto o = parse(error(40164, "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist rid: 66aa"),
                 wechat::Flow::app_token);
  EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured);
  EXPECT_NE(o.message.find("IP 203.0.113.7: add it to the app's API IP whitelist"), std::string::npos) << o.message;
  auto confirm = parse(error(89503, "risky ip 198.51.100.2 need admin confirm"), wechat::Flow::app_token);
  EXPECT_NE(confirm.message.find("198.51.100.2"), std::string::npos) << confirm.message;
  EXPECT_NE(confirm.message.find("confirm"), std::string::npos) << confirm.message;
}

TEST(WeChatParse, PendingAdminConfirmationIsAskedAgainHourlyTheOthersStopTheApp) {
  auto pending = parse(error(89501, "risky ip 198.51.100.2 is pending admin confirm"), wechat::Flow::app_token);
  EXPECT_EQ(pending.kind, OutcomeKind::rate_limited) << "the app is fine; an admin has yet to answer";
  EXPECT_EQ(pending.retry_after, Seconds(3600));
  EXPECT_NE(pending.message.find("198.51.100.2"), std::string::npos) << pending.message;
  EXPECT_NE(pending.message.find("every hour"), std::string::npos) << pending.message;
  for (std::int64_t code : {89503, 89506, 89507}) {
    auto o = parse(error(code, "risky ip 198.51.100.2"), wechat::Flow::app_token);
    EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured) << code;
    EXPECT_NE(o.message.find("whitelist"), std::string::npos) << o.message;
  }
  EXPECT_NE(parse(error(89506, "x"), wechat::Flow::app_token).message.find("24 hours"), std::string::npos);
  EXPECT_NE(parse(error(89507, "x"), wechat::Flow::app_token).message.find("1 hour"), std::string::npos);
}

TEST(WeChatParse, IpIsFoundInVariousErrmsgShapes) {
  EXPECT_EQ(wechat::ip_from_errmsg("invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist"), "1.2.3.4");
  EXPECT_EQ(wechat::ip_from_errmsg("invalid ip 10.0.0.255, not in whitelist rid: 1.2"), "10.0.0.255");
  EXPECT_EQ(wechat::ip_from_errmsg("invalid ip ipv6 2001:db8::1, not in whitelist"), "2001:db8::1");
  EXPECT_EQ(wechat::ip_from_errmsg("version 1.2.3.4.5 and 300.1.1.1"), "");
  EXPECT_EQ(wechat::ip_from_errmsg("no address here, rid: 6620f1c1-1d0a"), "");
  EXPECT_EQ(wechat::ip_from_errmsg(""), "");
}

TEST(WeChatParse, HttpAndTransportFailures) {
  ClientResponse conn;
  conn.error = "connection";
  auto c = wechat::parse_response(conn, wechat::Flow::app_token, kNow);
  EXPECT_EQ(c.kind, OutcomeKind::retry_later);
  EXPECT_EQ(c.code, "transport_connection");
  EXPECT_EQ(parse("busy", wechat::Flow::app_token, 503).kind, OutcomeKind::retry_later);
  auto not_json = parse("<html>", wechat::Flow::app_token, 200);
  EXPECT_EQ(not_json.kind, OutcomeKind::retry_later);
  EXPECT_EQ(not_json.code, "bad_response");
  auto no_token = parse(R"({"expires_in":7200})", wechat::Flow::app_token);
  EXPECT_EQ(no_token.code, "bad_response");
}

TEST(WeChatParse, SecretsEchoedInErrmsgAreScrubbed) {
  auto o = parse(error(40125, "invalid appsecret " + kSecret + " code " + kCode + " rt " + kRefresh),
                 wechat::Flow::authorization_code);
  expect_no_leak(o, {kSecret, kCode, kRefresh});
}

// ---- the class: user grants

TEST(WeChatPlatformUser, ExchangeKeepsOpenidUnionidAndAssumesThirtyDays) {
  FakeHttpClient http;
  http.respond(200, user_token());
  WeChatPlatform p(http, settings());
  auto o = p.exchange_code(make_app(), kCode, "", "");
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.account_id, "o6_bmjrPTlm6_2sgVt7hMZOPfL2M");
  EXPECT_EQ(o.token.extra.value("unionid", ""), "o6_bmasdasdsad6_2sgVt7hMZOPfL");
  EXPECT_EQ(o.token.refresh_expires_in, Seconds(30 * 24 * 3600));
  EXPECT_EQ(query_fields(http.requests.at(0).url)["code"], kCode);
}

TEST(WeChatPlatformUser, UsedCodeNeedsReauthorizationWithoutLeakingIt) {
  FakeHttpClient http;
  http.respond(200, error(40163, "code been used, hints: [ req_id: " + kCode + " ]"));
  WeChatPlatform p(http, settings());
  auto o = p.exchange_code(make_app(), kCode, "", "");
  EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
  EXPECT_EQ(o.code, "40163");
  expect_no_leak(o, {kCode, kSecret});
}

TEST(WeChatPlatformUser, RefreshKeepsTheStoredRefreshTokenWhenRepeated) {
  FakeHttpClient http;
  http.respond(200, user_token("wx-access-new-000111"));
  WeChatPlatform p(http, settings());
  auto o = p.refresh(make_app(), make_grant(SysClock::now() + Seconds(86400 * 20)));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.access_token, "wx-access-new-000111");
  EXPECT_FALSE(o.token.refresh_token.has_value());
  EXPECT_FALSE(o.token.refresh_expires_in.has_value());
}

TEST(WeChatPlatformUser, ADifferentRefreshTokenKeepsTheOldExpiry) {
  FakeHttpClient http;
  http.respond(200, user_token(kAccess, "wx-refresh-other-9988"));
  WeChatPlatform p(http, settings());
  auto o = p.refresh(make_app(), make_grant(SysClock::now() + Seconds(86400 * 20)));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.refresh_token.value_or(""), "wx-refresh-other-9988");
  ASSERT_TRUE(o.token.refresh_expires_in.has_value());
  EXPECT_NEAR(static_cast<double>(o.token.refresh_expires_in->count()), 86400.0 * 20, 5.0);
}

TEST(WeChatPlatformUser, ExpiredRefreshTokenNeedsReauthorization) {
  FakeHttpClient http;
  http.respond(200, error(42002, "refresh_token timeout"));
  WeChatPlatform p(http, settings());
  auto o = p.refresh(make_app(), make_grant());
  EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
  EXPECT_EQ(o.code, "42002");
  EXPECT_EQ(query_fields(http.requests.at(0).url)["refresh_token"], kRefresh);
}

// ---- the class: app tokens and the daily budget

TEST(WeChatPlatformAppToken, StableTokenByDefaultForcesOnlyWhenAnAdminAsks) {
  FakeHttpClient http;
  http.respond(200, stable("STABLE-1"));
  http.respond(200, stable("STABLE-2"));
  FakeBudget budget;
  WeChatPlatform p(http, settings(), &budget);
  App app = make_app();
  app.client_credentials = true;
  auto a = p.client_token(app, {});
  ASSERT_TRUE(a.ok()) << a.message;
  EXPECT_FALSE(forced(http.requests.at(0)));
  EXPECT_TRUE(budget.calls.empty()) << "plain stable_token calls are not counted";
  auto b = p.client_token(app, AppTokenCall::forced());
  ASSERT_TRUE(b.ok()) << b.message;
  EXPECT_TRUE(forced(http.requests.at(1)));
  ASSERT_EQ(budget.calls.size(), 1u);
  EXPECT_EQ(budget.calls[0], std::make_tuple(std::int64_t{21}, std::string(wechat::kBudgetForce), 20));
  // Counted on WeChat's day (Beijing), 30 s apart.
  EXPECT_EQ(budget.limits[0].utc_offset_hours, 8);
  EXPECT_EQ(budget.limits[0].min_gap, Seconds(30));
}

TEST(WeChatPlatformAppToken, SpentForceBudgetRefusesWithoutCallingAndWithoutHoldingBackTheSchedule) {
  FakeHttpClient http;
  ManualTimeSource clock(kNow);
  FakeBudget budget(&clock);
  WeChatPlatform p(http, settings(), &budget, &clock);
  App app = make_app({{"daily_token_budget", 1}});
  http.respond(200, stable("STABLE-F"));
  ASSERT_TRUE(p.client_token(app, AppTokenCall::forced()).ok());
  clock.advance(Seconds(40));
  auto refused = p.client_token(app, AppTokenCall::forced());
  EXPECT_EQ(refused.kind, OutcomeKind::rate_limited);
  EXPECT_EQ(refused.code, "daily_budget");
  EXPECT_FALSE(refused.retry_after.has_value());
  EXPECT_NE(refused.message.find("1 forced stable_token calls"), std::string::npos) << refused.message;
  EXPECT_NE(refused.message.find("midnight UTC+8"), std::string::npos) << refused.message;
  EXPECT_EQ(http.requests.size(), 1u);
  // The scheduled (unforced) call still goes out.
  http.respond(200, stable("STABLE-F", 7000));
  EXPECT_TRUE(p.client_token(app, {}).ok());
  EXPECT_EQ(http.requests.size(), 2u);
}

TEST(WeChatPlatformAppToken, AnAdminsForcedCallsAreThirtySecondsApart) {
  FakeHttpClient http;
  ManualTimeSource clock(kNow);
  FakeBudget budget(&clock);
  WeChatPlatform p(http, settings(), &budget, &clock);
  App app = make_app();
  http.respond(200, stable("STABLE-1"));
  ASSERT_TRUE(p.client_token(app, AppTokenCall::forced()).ok());
  clock.advance(Seconds(29));
  auto soon = p.client_token(app, AppTokenCall::forced());
  EXPECT_EQ(soon.kind, OutcomeKind::rate_limited);
  EXPECT_EQ(soon.code, "force_too_soon");
  EXPECT_FALSE(soon.retry_after.has_value()) << "the next scheduled (normal) call is not held back";
  EXPECT_NE(soon.message.find(format_time(kNow + Seconds(30))), std::string::npos)
      << "says when forcing is possible again: " << soon.message;
  EXPECT_EQ(http.requests.size(), 1u) << "WeChat would ignore it: not sent";
  clock.advance(Seconds(1));
  http.respond(200, stable("STABLE-2"));
  auto again = p.client_token(app, AppTokenCall::forced());
  ASSERT_TRUE(again.ok()) << again.message;
  EXPECT_EQ(again.token.access_token, "STABLE-2");
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_TRUE(forced(http.requests[1]));
}

TEST(WeChatPlatformAppToken, ForceBudgetRestartsAtBeijingMidnight) {
  FakeHttpClient http;
  ManualTimeSource clock(kNow);  // 23:59:00 in Beijing, 15:59:00 UTC
  FakeBudget budget(&clock);
  WeChatPlatform p(http, settings(), &budget, &clock);
  App app = make_app({{"daily_token_budget", 1}});
  http.respond(200, stable("STABLE-1"));
  ASSERT_TRUE(p.client_token(app, AppTokenCall::forced()).ok());
  clock.advance(Seconds(59));  // 23:59:59 in Beijing: still WeChat's day
  EXPECT_EQ(p.client_token(app, AppTokenCall::forced()).code, "daily_budget");
  clock.advance(Seconds(1));  // 00:00:00 in Beijing, 16:00 UTC: a new day at WeChat, not in UTC
  http.respond(200, stable("STABLE-2"));
  auto next_day = p.client_token(app, AppTokenCall::forced());
  ASSERT_TRUE(next_day.ok()) << next_day.message;
  EXPECT_EQ(http.requests.size(), 2u);

  // With quota_reset_utc_offset_hours = 0 the day is the UTC day: 16:00 UTC is the same day.
  App utc = make_app({{"daily_token_budget", 1}, {"quota_reset_utc_offset_hours", 0}});
  utc.id = 22;
  clock.advance(Seconds(60));
  http.respond(200, stable("STABLE-3"));
  ASSERT_TRUE(p.client_token(utc, AppTokenCall::forced()).ok());
  clock.advance(Seconds(3600));
  EXPECT_EQ(p.client_token(utc, AppTokenCall::forced()).code, "daily_budget");
}

// ---- a consumer's token/rejected report on a stable_token app

TEST(WeChatPlatformRejected, AsksInNormalModeAndServesTheNewerToken) {
  FakeHttpClient http;
  FakeBudget budget;
  WeChatPlatform p(http, settings(), &budget);
  // WeChat has moved on (its own handover, or another system forced a new token).
  http.respond(200, stable("STABLE-2", 7100));
  auto o = p.client_token(make_app({{"force_on_reject", true}}), AppTokenCall::rejected("STABLE-1"));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.access_token, "STABLE-2");
  EXPECT_TRUE(o.code.empty());
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_FALSE(forced(http.requests[0]));
  EXPECT_TRUE(budget.calls.empty()) << "nothing forced, nothing counted";
}

TEST(WeChatPlatformRejected, StillCurrentTokenIsExplainedNotForcedByDefault) {
  FakeHttpClient http;
  FakeBudget budget;
  WeChatPlatform p(http, settings(), &budget);
  http.respond(200, stable("STABLE-1", 5000));
  auto o = p.client_token(make_app(), AppTokenCall::rejected("STABLE-1"));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.code, kTokenStillCurrent);
  EXPECT_EQ(o.token.access_token, "STABLE-1");
  EXPECT_NE(o.message.find("options.force_on_reject is off"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("POST /v1/apps/wx/refresh"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("valid 5000 s more"), std::string::npos) << o.message;
  EXPECT_EQ(o.message.find("STABLE-1"), std::string::npos) << "never the token itself: " << o.message;
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_FALSE(forced(http.requests[0]));
  EXPECT_TRUE(budget.calls.empty());
}

TEST(WeChatPlatformRejected, WithForceOnRejectForcesOnlyWhenStillCurrentAndNotTwiceInThirtySeconds) {
  FakeHttpClient http;
  ManualTimeSource clock(kNow);
  FakeBudget budget(&clock);
  WeChatPlatform p(http, settings(), &budget, &clock);
  App app = make_app({{"force_on_reject", true}});
  http.respond(200, stable("STABLE-1", 5000));  // normal mode: still the refused token
  http.respond(200, stable("STABLE-2"));        // forced
  auto o = p.client_token(app, AppTokenCall::rejected("STABLE-1"));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.access_token, "STABLE-2");
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_FALSE(forced(http.requests[0]));
  EXPECT_TRUE(forced(http.requests[1]));
  ASSERT_EQ(budget.calls.size(), 1u);
  EXPECT_EQ(std::get<1>(budget.calls[0]), wechat::kBudgetForce);

  // The new token is refused too, 10 s later: WeChat would ignore a second forced call.
  clock.advance(Seconds(10));
  http.respond(200, stable("STABLE-2", 7190));
  auto soon = p.client_token(app, AppTokenCall::rejected("STABLE-2"));
  ASSERT_TRUE(soon.ok()) << soon.message;
  EXPECT_EQ(soon.code, kTokenStillCurrent);
  EXPECT_NE(soon.message.find("less than 30 s before"), std::string::npos) << soon.message;
  EXPECT_EQ(http.requests.size(), 3u) << "only the normal-mode call";
  EXPECT_FALSE(forced(http.requests[2]));

  // After 30 s it may force again.
  clock.advance(Seconds(20));
  http.respond(200, stable("STABLE-2", 7170));
  http.respond(200, stable("STABLE-3"));
  auto later = p.client_token(app, AppTokenCall::rejected("STABLE-2"));
  ASSERT_TRUE(later.ok()) << later.message;
  EXPECT_EQ(later.token.access_token, "STABLE-3");
  EXPECT_TRUE(forced(http.requests.at(4)));
}

TEST(WeChatPlatformRejected, WithForceOnRejectASpentBudgetIsExplained) {
  FakeHttpClient http;
  ManualTimeSource clock(kNow);
  FakeBudget budget(&clock);
  WeChatPlatform p(http, settings(), &budget, &clock);
  App app = make_app({{"force_on_reject", true}, {"daily_token_budget", 0}});
  http.respond(200, stable("STABLE-1", 4000));
  auto o = p.client_token(app, AppTokenCall::rejected("STABLE-1"));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.code, kTokenStillCurrent);
  EXPECT_NE(o.message.find("daily budget of 0 forced stable_token calls is spent"), std::string::npos) << o.message;
  EXPECT_EQ(http.requests.size(), 1u);
}

TEST(WeChatPlatformAppToken, WeChatsForceQuotaDoesNotHoldBackTheNormalSchedule) {
  FakeHttpClient http;
  FakeBudget budget;
  WeChatPlatform p(http, settings(), &budget);
  // Other systems with the AppSecret used WeChat's 20 forced calls of the day.
  http.respond(200, error(45009, "reach max api daily quota limit"));
  auto o = p.client_token(make_app(), AppTokenCall::forced());
  EXPECT_EQ(o.kind, OutcomeKind::rate_limited);
  EXPECT_EQ(o.code, "45009");
  EXPECT_FALSE(o.retry_after.has_value()) << "normal mode has its own quota: the due token is still renewed";
  // cgi-bin/token's 45009 waits for WeChat's midnight.
  http.respond(200, error(45009, "reach max api daily quota limit"));
  EXPECT_TRUE(p.client_token(make_app({{"app_token", "token"}}), {}).retry_after.has_value());
}

TEST(WeChatPlatformRejected, WeChatsForceQuotaIsExplainedAsStillCurrent) {
  FakeHttpClient http;
  FakeBudget budget;
  WeChatPlatform p(http, settings(), &budget);
  http.respond(200, stable("STABLE-1", 3000));
  http.respond(200, error(45009, "reach max api daily quota limit"));
  auto o = p.client_token(make_app({{"force_on_reject", true}}), AppTokenCall::rejected("STABLE-1"));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.code, kTokenStillCurrent);
  EXPECT_NE(o.message.find("WeChat refused the forced call"), std::string::npos) << o.message;
  EXPECT_EQ(o.token.access_token, "STABLE-1");
}

TEST(WeChatPlatformRejected, FailuresOfTheNormalCallAreTheAnswer) {
  FakeHttpClient http;
  FakeBudget budget;
  WeChatPlatform p(http, settings(), &budget);
  http.respond(200, error(-1, "system error"));
  auto o = p.client_token(make_app({{"force_on_reject", true}}), AppTokenCall::rejected("STABLE-1"));
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
  EXPECT_EQ(http.requests.size(), 1u) << "a failed normal call is not followed by a forced one";
  EXPECT_TRUE(budget.calls.empty());
}

TEST(WeChatPlatformRejected, ClassicTokenIsFetchedAgainWithinItsBudget) {
  // cgi-bin/token has no normal mode: each call issues a new token (the old one lives 5 minutes).
  FakeHttpClient http;
  FakeBudget budget;
  WeChatPlatform p(http, settings(), &budget);
  http.respond(200, R"({"access_token":"CLASSIC-2","expires_in":7200})");
  auto o = p.client_token(make_app({{"app_token", "token"}}), AppTokenCall::rejected("CLASSIC-1"));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.access_token, "CLASSIC-2");
  ASSERT_EQ(budget.calls.size(), 1u);
  EXPECT_EQ(std::get<1>(budget.calls[0]), wechat::kBudgetToken);
}

TEST(WeChatPlatformAppToken, ClassicTokenCountsEveryCallAndStopsUntilBeijingMidnight) {
  FakeHttpClient http;
  ManualTimeSource clock(kNow);  // 23:59:00 in Beijing
  FakeBudget budget(&clock);
  WeChatPlatform p(http, settings(), &budget, &clock);
  App app = make_app({{"app_token", "token"}, {"daily_token_budget", 2}});
  http.respond(200, R"({"access_token":"CLASSIC-1","expires_in":7200})");
  http.respond(200, R"({"access_token":"CLASSIC-2","expires_in":7200})");
  EXPECT_TRUE(p.client_token(app, {}).ok());
  EXPECT_TRUE(p.client_token(app, AppTokenCall::forced()).ok());
  auto refused = p.client_token(app, {});
  EXPECT_EQ(refused.kind, OutcomeKind::rate_limited);
  EXPECT_EQ(refused.code, "daily_budget");
  EXPECT_EQ(refused.retry_after, Seconds(60)) << "until WeChat's midnight";
  EXPECT_EQ(http.requests.size(), 2u);
  EXPECT_EQ(http.requests[0].method, "GET");
  EXPECT_EQ(http.requests[0].url.rfind(kApi + "/cgi-bin/token?", 0), 0u);
  ASSERT_EQ(budget.calls.size(), 3u);
  EXPECT_EQ(std::get<1>(budget.calls[0]), wechat::kBudgetToken);
  EXPECT_EQ(std::get<2>(budget.calls[0]), 2);
  EXPECT_EQ(budget.limits[0].min_gap, Seconds(0)) << "cgi-bin/token calls need no gap";
  expect_no_leak(refused, {kSecret});
}

TEST(WeChatPlatformAppToken, ClassicTokenDefaultBudgetIsTwoThousand) {
  FakeHttpClient http;
  FakeBudget budget;
  WeChatPlatform p(http, settings(), &budget);
  http.respond(200, R"({"access_token":"CLASSIC-1","expires_in":7200})");
  ASSERT_TRUE(p.client_token(make_app({{"app_token", "token"}}), {}).ok());
  ASSERT_EQ(budget.calls.size(), 1u);
  EXPECT_EQ(std::get<2>(budget.calls[0]), 2000);
}

TEST(WeChatPlatformAppToken, WithoutABudgetNothingIsCountedOrRefused) {
  FakeHttpClient http;
  WeChatPlatform p(http, settings(), nullptr);
  App app = make_app({{"app_token", "token"}, {"daily_token_budget", 0}});
  http.respond(200, R"({"access_token":"CLASSIC-1","expires_in":7200})");
  EXPECT_TRUE(p.client_token(app, AppTokenCall::forced()).ok());
}

TEST(WeChatPlatformAppToken, BudgetStoreFailureIsRetriedLater) {
  FakeHttpClient http;
  FakeBudget budget;
  budget.fail = true;
  WeChatPlatform p(http, settings(), &budget);
  auto o = p.client_token(make_app({{"app_token", "token"}}), {});
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
  EXPECT_EQ(o.code, "budget_unavailable");
  EXPECT_TRUE(http.requests.empty());
}

TEST(WeChatPlatformAppToken, WrongSecretIsAnAppProblem) {
  FakeHttpClient http;
  http.respond(200, error(40125, "invalid appsecret, view more at http://t.cn/RAEkdVq rid: 66"));
  WeChatPlatform p(http, settings());
  auto o = p.client_token(make_app(), {});
  EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(o.code, "40125");
}

TEST(WeChatPlatformRevoke, IsNotSupported) {
  FakeHttpClient http;
  WeChatPlatform p(http, settings());
  auto o = p.revoke(make_app(), make_grant());
  EXPECT_TRUE(o.ok());
  EXPECT_EQ(o.code, "not_supported");
  EXPECT_TRUE(http.requests.empty());
}

// ---- registration

TEST(WeChatPrepareApp, ChecksOptionsStrictly) {
  FakeHttpClient http;
  WeChatPlatform p(http, settings());
  App ok = make_app({{"authorize", "oauth2"},
                     {"scope_mode", "snsapi_userinfo"},
                     {"app_token", "token"},
                     {"daily_token_budget", 100},
                     {"quota_reset_utc_offset_hours", 0},
                     {"refresh_token_lifetime_seconds", 180 * 86400}});
  auto c = p.prepare_app(ok);
  EXPECT_TRUE(c.ok) << c.message;
  EXPECT_EQ(ok.scopes, std::vector<std::string>{"snsapi_userinfo"});

  auto fails = [&](App a, const std::string& needle) {
    auto r = p.prepare_app(a);
    EXPECT_FALSE(r.ok) << needle;
    EXPECT_NE(r.message.find(needle), std::string::npos) << r.message;
    EXPECT_EQ(r.message.find(kSecret), std::string::npos);
  };
  fails(make_app({{"authorize", "popup"}}), "options.authorize");
  fails(make_app({{"scope_mode", "snsapi_login"}}), "options.scope_mode");
  fails(make_app({{"scope_mode", "snsapi_base"}}), "options.scope_mode: only with authorize");
  fails(make_app({{"app_token", "stable"}}), "options.app_token");
  fails(make_app({{"daily_token_budget", -1}}), "options.daily_token_budget");
  fails(make_app({{"daily_token_budget", "20"}}), "options.daily_token_budget");
  fails(make_app({{"quota_reset_utc_offset_hours", 15}}), "options.quota_reset_utc_offset_hours");
  fails(make_app({{"secret", "x"}}), "options.secret: unknown option");
  fails(make_app({{"force_on_reject", "yes"}}), "options.force_on_reject");
  fails(make_app({{"force_on_reject", true}, {"app_token", "token"}}), "options.force_on_reject: only with");
  App force_on_reject = make_app({{"force_on_reject", true}});
  EXPECT_TRUE(p.prepare_app(force_on_reject).ok);
  App wrong_scope = make_app();
  wrong_scope.scopes = {"snsapi_userinfo"};
  fails(wrong_scope, "scopes: must be [\"snsapi_login\"]");
  App no_id = make_app();
  no_id.client_id.clear();
  fails(no_id, "client_id");
  App no_secret = make_app();
  no_secret.client_secret.clear();
  fails(no_secret, "client_secret");
  App basic = make_app();
  basic.token_auth_method = "client_secret_basic";
  fails(basic, "token_auth_method");
  App issuer = make_app();
  issuer.issuer = "https://open.weixin.qq.com";
  fails(issuer, "issuer");
}

TEST(WeChatRegistry, IsRegisteredWithTheConfiguredUrlsAndTheBudget) {
  FakeHttpClient http;
  FakeBudget budget;
  PlatformRegistry reg(http, settings(), &budget);
  auto* p = dynamic_cast<WeChatPlatform*>(reg.get("wechat"));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->open_base_url(), kOpen);
  EXPECT_EQ(p->api_base_url(), kApi);
  http.respond(200, R"({"access_token":"CLASSIC-1","expires_in":7200})");
  ASSERT_TRUE(p->client_token(make_app({{"app_token", "token"}}), {}).ok());
  EXPECT_EQ(budget.calls.size(), 1u);

  WeChatPlatform defaults(http, {});
  EXPECT_EQ(defaults.open_base_url(), "https://open.weixin.qq.com");
  EXPECT_EQ(defaults.api_base_url(), "https://api.weixin.qq.com");
}

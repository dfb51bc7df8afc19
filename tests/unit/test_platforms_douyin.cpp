#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_http_client.hpp"
#include "platform_test_util.hpp"
#include "platforms/douyin_renewal.hpp"
#include "platforms/registry.hpp"
#include "platforms/spec_platform.hpp"
#include "platforms/specs.hpp"

using namespace mediax;
using mediax::testing::expect_no_leak;
using mediax::testing::FakeHttpClient;
using mediax::testing::fields_of;
using mediax::testing::header_value;
using mediax::testing::http_response;
using mediax::testing::query_fields;
using nlohmann::json;
using spec::Call;

namespace {

const std::string kBase = "http://127.0.0.1:18001";
const std::string kSecret = "dy-secret-7f6e5d4c3b2a";
const std::string kAccess = "act.1a2b3c4d5e6f7a8b9c0d";
const std::string kRefresh = "rft.0f9e8d7c6b5a4f3e2d1c";
const std::string kRenewed = "rft.renewed-5566778899aabb";
const std::string kCode = "dy-code-aabbccddeeff";
const TimePoint kNow = from_unix(1780000000);
constexpr std::int64_t kDay = 24 * 3600;

App make_app() {
  App a;
  a.id = 11;
  a.name = "dy";
  a.platform = "douyin";
  a.client_id = "awkey123";
  a.client_secret = kSecret;
  a.scopes = {"user_info", "video.list"};
  a.redirect_uri = "https://mediax.example/oauth/callback";
  return a;
}

PlatformSettings settings() {
  PlatformSettings s;
  s.urls["douyin"]["base_url"] = kBase;
  return s;
}

Grant make_grant(std::optional<TimePoint> refresh_expires_at, int renewals) {
  Grant g;
  g.id = 5;
  g.app_id = 11;
  g.account_id = "open-1";
  g.refresh_token = kRefresh;
  g.refresh_expires_at = refresh_expires_at;
  g.extra = {{"renewals", renewals}};
  return g;
}

std::string wrapped(const json& data) { return json{{"data", data}, {"message", "success"}}.dump(); }

std::string token_data(const std::string& access, const std::string& refresh, bool as_strings = false) {
  json d{{"access_token", access},
         {"description", ""},
         {"open_id", "open-1"},
         {"refresh_token", refresh},
         {"scope", "user_info,video.list"}};
  if (as_strings) {
    d["error_code"] = "0";
    d["expires_in"] = "1296000";
    d["refresh_expires_in"] = "2592000";
  } else {
    d["error_code"] = 0;
    d["expires_in"] = 1296000;
    d["refresh_expires_in"] = 2592000;
  }
  return wrapped(d);
}

std::string error_body(std::int64_t code, const std::string& description = "oops") {
  return json{{"data", {{"description", description}, {"error_code", code}}},
              {"extra", {{"logid", "2020070614111601014400110020"}, {"now", 1594015876138}}}}
      .dump();
}

// Douyin's answers as the spec reads them.
Outcome read(const HttpClientResponse& r, Call call, const std::vector<std::string>& secrets = {}) {
  return spec::read_answer(specs::douyin(), call, *specs::douyin().request(call), r, kNow, secrets);
}

Outcome parse(const std::string& body, Call call = Call::refresh, int status = 200) {
  return read(http_response(status, body), call, {kSecret, kRefresh, kCode});
}

// A request as the spec builds it for `app`, against `base`.
HttpClientRequest build(Call call, const App& app, CallInputs in = {}, const std::string& base = kBase) {
  FakeHttpClient http;
  PlatformSettings s;
  s.urls["douyin"]["base_url"] = base;
  SpecPlatform p(specs::douyin(), http, s);
  return p.build(call, *specs::douyin().request(call), app, in);
}

CallInputs with_code(const std::string& code) {
  CallInputs in;
  in.code = code;
  return in;
}

CallInputs with_refresh(const std::string& refresh_token) {
  CallInputs in;
  in.refresh_token = refresh_token;
  return in;
}

}  // namespace

// ---- request builders

TEST(DouyinAuthorizeUrl, UsesClientKeyAndCommaSeparatedScopesWithoutPkce) {
  FakeHttpClient http;
  SpecPlatform p(specs::douyin(), http, settings());
  App app = make_app();
  EXPECT_FALSE(p.uses_pkce(app));
  auto url = p.authorize_url(app, {"state-xyz", "ignored-challenge", "https://cb.example/oauth/callback"});
  EXPECT_EQ(url.rfind(kBase + "/platform/oauth/connect/?", 0), 0u) << url;
  auto q = query_fields(url);
  EXPECT_EQ(q["client_key"], "awkey123");
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["scope"], "user_info,video.list");
  EXPECT_EQ(q["redirect_uri"], "https://cb.example/oauth/callback");
  EXPECT_EQ(q["state"], "state-xyz");
  EXPECT_EQ(q.size(), 5u);
  EXPECT_TRUE(http.requests.empty());
}

TEST(DouyinAuthorizeUrl, OptionalScopesBecomeOptionalScopeWithTheirTickedFlag) {
  FakeHttpClient http;
  SpecPlatform p(specs::douyin(), http, settings());
  App app = make_app();
  app.options = {{"optional_scopes", {{"friend_relation", true}, {"message", false}}}};
  auto q = query_fields(p.authorize_url(app, {"s", "", ""}));
  EXPECT_EQ(q["scope"], "user_info,video.list") << "the required scopes stay in scope";
  EXPECT_EQ(q["optionalScope"], "friend_relation,1,message,0");
}

TEST(DouyinAuthorizeUrl, DefaultsToTheRealHostAndTheAppsRedirectUri) {
  FakeHttpClient http;
  SpecPlatform p(specs::douyin(), http, {});
  EXPECT_EQ(p.base_url(make_app(), "base_url"), "https://open.douyin.com");
  auto url = p.authorize_url(make_app(), {"s", "", ""});
  EXPECT_EQ(url.rfind("https://open.douyin.com/platform/oauth/connect/?", 0), 0u) << url;
  EXPECT_EQ(query_fields(url)["redirect_uri"], "https://mediax.example/oauth/callback");
}

TEST(DouyinRequests, CodeExchangeIsAFormPostWithTheSecret) {
  auto r = build(Call::exchange_code, make_app(), with_code(kCode), kBase + "/");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, kBase + "/oauth/access_token/");
  EXPECT_EQ(r.content_type, "application/x-www-form-urlencoded");
  auto f = fields_of(r.body);
  EXPECT_EQ(f["client_key"], "awkey123");
  EXPECT_EQ(f["client_secret"], kSecret);
  EXPECT_EQ(f["code"], kCode);
  EXPECT_EQ(f["grant_type"], "authorization_code");
  EXPECT_EQ(f.size(), 4u);
}

TEST(DouyinRequests, RefreshSendsNoSecret) {
  auto r = build(Call::refresh, make_app(), with_refresh(kRefresh));
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, kBase + "/oauth/refresh_token/");
  EXPECT_EQ(r.content_type, "application/x-www-form-urlencoded");
  auto f = fields_of(r.body);
  EXPECT_EQ(f["client_key"], "awkey123");
  EXPECT_EQ(f["grant_type"], "refresh_token");
  EXPECT_EQ(f["refresh_token"], kRefresh);
  EXPECT_EQ(f.size(), 3u);
  EXPECT_EQ(r.body.find(kSecret), std::string::npos);
  EXPECT_EQ(r.url.find(kSecret), std::string::npos);
}

TEST(DouyinRequests, RenewSendsClientKeyAndRefreshTokenOnly) {
  auto r = build(Call::renew, make_app(), with_refresh(kRefresh));
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, kBase + "/oauth/renew_refresh_token/");
  EXPECT_EQ(r.content_type, "application/x-www-form-urlencoded");
  auto f = fields_of(r.body);
  EXPECT_EQ(f["client_key"], "awkey123");
  EXPECT_EQ(f["refresh_token"], kRefresh);
  EXPECT_EQ(f.size(), 2u);
}

TEST(DouyinRequests, ClientTokenIsJsonWithClientCredentialGrant) {
  auto r = build(Call::client_token, make_app());
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, kBase + "/oauth/client_token/");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(header_value(r, "Accept"), "application/json");
  auto body = json::parse(r.body);
  EXPECT_EQ(body, (json{{"client_key", "awkey123"}, {"client_secret", kSecret}, {"grant_type", "client_credential"}}));
}

TEST(DouyinRequests, StableClientTokenOptionUsesItsEndpoint) {
  FakeHttpClient http;
  SpecPlatform p(specs::douyin(), http, settings());
  App app = make_app();
  app.options = {{"client_token", "stable_client_token"}};
  http.respond(200, wrapped({{"error_code", 0}, {"access_token", kAccess}, {"expires_in", 7200}}));
  auto o = p.client_token(app, {});
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_TRUE(o.token.same_until_expiry);
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_EQ(http.requests[0].url, kBase + "/oauth/stable_client_token/");
  EXPECT_EQ(json::parse(http.requests[0].body)["grant_type"], "client_credential");
}

// ---- response parsing

TEST(DouyinParse, WrappedSuccessWithNumbers) {
  auto o = parse(token_data(kAccess, kRefresh), Call::exchange_code);
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.access_token, kAccess);
  EXPECT_EQ(o.token.refresh_token.value_or(""), kRefresh);
  EXPECT_EQ(o.token.expires_in, Seconds(1296000));
  EXPECT_EQ(o.token.refresh_expires_in, Seconds(2592000));
  EXPECT_EQ(o.token.account_id, "open-1");
  EXPECT_EQ(o.token.scopes, (std::vector<std::string>{"user_info", "video.list"}));
  EXPECT_EQ(o.token.token_type, "") << "Douyin names no type; its tokens go in an access-token header";
}

TEST(DouyinParse, NumbersGivenAsStringsAreAccepted) {
  auto o = parse(token_data(kAccess, kRefresh, true));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.expires_in, Seconds(1296000));
  EXPECT_EQ(o.token.refresh_expires_in, Seconds(2592000));
}

TEST(DouyinParse, ClientTokenDataHasOnlyTheToken) {
  auto o =
      parse(wrapped({{"access_token", "clt.abc123"}, {"description", ""}, {"error_code", 0}, {"expires_in", 7200}}),
            Call::client_token);
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.access_token, "clt.abc123");
  EXPECT_EQ(o.token.expires_in, Seconds(7200));
  EXPECT_FALSE(o.token.refresh_token.has_value());
  EXPECT_TRUE(o.token.account_id.empty());
}

TEST(DouyinParse, RenewAnswerCarriesTheNewRefreshTokenAndItsLifetime) {
  auto o =
      parse(wrapped({{"description", ""}, {"error_code", "0"}, {"expires_in", "2592000"}, {"refresh_token", kRenewed}}),
            Call::renew);
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.refresh_token.value_or(""), kRenewed);
  EXPECT_EQ(o.token.refresh_expires_in, Seconds(2592000));
  EXPECT_TRUE(o.token.access_token.empty());
  // Without expires_in the documented 30 days are assumed.
  auto d = parse(wrapped({{"error_code", 0}, {"refresh_token", kRenewed}}), Call::renew);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.token.refresh_expires_in, Seconds(douyin::kRefreshTokenLifetime));
}

TEST(DouyinParse, ErrorWithHttp200IsAFailureWithTheCodeAndDescription) {
  auto o = parse(error_body(10010, "refresh_token过期"));
  EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
  EXPECT_EQ(o.code, "10010");
  EXPECT_EQ(o.http_status, 200);
  EXPECT_NE(o.message.find("refresh_token过期"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("connect the account again"), std::string::npos) << o.message;
}

TEST(DouyinParse, ErrorCodeGivenAsStringAndMessageShapeAreRead) {
  auto o =
      parse(R"({"data":{"captcha":"","desc_url":"","description":"配置无效","error_code":"10003"},"message":"error"})",
            Call::client_token);
  EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(o.code, "10003");
}

TEST(DouyinParse, EveryDocumentedErrorCodeHasItsClass) {
  struct Case {
    std::int64_t code;
    Call call;
    OutcomeKind kind;
  };
  using K = OutcomeKind;
  const std::vector<Case> cases = {
      {10001, Call::refresh, K::retry_later},
      {10002, Call::exchange_code, K::app_misconfigured},
      {10003, Call::client_token, K::app_misconfigured},
      {10004, Call::renew, K::app_misconfigured},
      {10005, Call::renew, K::app_misconfigured},
      {10006, Call::exchange_code, K::app_misconfigured},
      {10007, Call::exchange_code, K::needs_reauth},
      {10008, Call::refresh, K::retry_later},
      {10010, Call::refresh, K::needs_reauth},
      {10010, Call::renew, K::needs_reauth},
      {10011, Call::exchange_code, K::app_misconfigured},
      {10012, Call::exchange_code, K::app_misconfigured},
      {10013, Call::client_token, K::app_misconfigured},
      {10014, Call::exchange_code, K::needs_reauth},
      {10015, Call::exchange_code, K::app_misconfigured},
      {10017, Call::exchange_code, K::app_misconfigured},
      {10020, Call::client_token, K::rate_limited},
      {10020, Call::renew, K::needs_reauth},
      {2100005, Call::exchange_code, K::app_misconfigured},
      {2190002, Call::refresh, K::retry_later},
      {2190008, Call::refresh, K::retry_later},
      {28001008, Call::refresh, K::retry_later},
      {28003018, Call::client_token, K::rate_limited},
      {2190001, Call::client_token, K::rate_limited},
      {28003017, Call::client_token, K::rate_limited},
      {28001005, Call::refresh, K::retry_later},
      {2100004, Call::refresh, K::retry_later},
      {28001014, Call::client_token, K::app_misconfigured},
      {28001016, Call::refresh, K::app_misconfigured},
      {28001018, Call::client_token, K::app_misconfigured},
      {28001019, Call::refresh, K::app_misconfigured},
      {28001020, Call::refresh, K::app_misconfigured},
      {28001021, Call::exchange_code, K::app_misconfigured},
      {28001045, Call::refresh, K::needs_reauth},
      {28001046, Call::refresh, K::needs_reauth},
      {28001047, Call::exchange_code, K::needs_reauth},
      {99999999, Call::refresh, K::retry_later},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parse(error_body(c.code), c.call).kind, c.kind) << c.code;
    auto o = parse(error_body(c.code, ""), c.call);
    EXPECT_EQ(o.kind, c.kind) << c.code;
    EXPECT_EQ(o.code, std::to_string(c.code));
    EXPECT_FALSE(o.message.empty()) << c.code;
  }
}

TEST(DouyinParse, ClientTokenRateLimitWaitsFiveMinutes) {
  auto o = parse(error_body(10020, "too many"), Call::client_token);
  EXPECT_EQ(o.kind, OutcomeKind::rate_limited);
  EXPECT_EQ(o.retry_after, Seconds(300));
}

TEST(DouyinParse, TransportAndHttpFailures) {
  HttpClientResponse timeout;
  timeout.error = "timeout";
  auto t = read(timeout, Call::refresh);
  EXPECT_EQ(t.kind, OutcomeKind::retry_later);
  EXPECT_EQ(t.code, "transport_timeout");

  auto s = parse("<html>bad gateway</html>", Call::refresh, 502);
  EXPECT_EQ(s.kind, OutcomeKind::retry_later);
  EXPECT_EQ(s.code, "http_502");

  auto limited = read(http_response(429, "", {{"Retry-After", "42"}}), Call::client_token);
  EXPECT_EQ(limited.kind, OutcomeKind::rate_limited);
  EXPECT_EQ(limited.retry_after, Seconds(42));

  auto garbage = parse("not json");
  EXPECT_EQ(garbage.kind, OutcomeKind::retry_later);
  EXPECT_EQ(garbage.code, "bad_response");

  auto empty = parse(wrapped({{"error_code", 0}, {"description", ""}}));
  EXPECT_EQ(empty.kind, OutcomeKind::retry_later);
  EXPECT_EQ(empty.code, "bad_response");

  // A wrapped error inside a 4xx still names Douyin's code.
  auto wrapped_4xx = parse(error_body(10013), Call::client_token, 400);
  EXPECT_EQ(wrapped_4xx.kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(wrapped_4xx.code, "10013");
}

TEST(DouyinParse, EchoedSecretsAreScrubbedFromMessages) {
  auto o = parse(error_body(10013, "bad secret " + kSecret + " for refresh_token " + kRefresh + " code " + kCode));
  expect_no_leak(o, {kSecret, kRefresh, kCode});
  EXPECT_NE(o.message.find("[redacted]"), std::string::npos) << o.message;
}

// ---- renewal planning (pure, fixed time)

namespace {

douyin::RefreshTokenState rt_state(std::int64_t seconds_left, int renewals = 0, std::int64_t lifetime = 30 * kDay) {
  douyin::RefreshTokenState rt;
  rt.expires_at = kNow + Seconds(seconds_left);
  rt.lifetime = Seconds(lifetime);
  rt.renewals = renewals;
  return rt;
}

}  // namespace

TEST(DouyinRenewPlan, RenewsOnceLateWhenRenewBeforeIsLeft) {
  douyin::Options o;  // renew_before 3 days
  using A = douyin::RefreshAction;
  auto at = [&](std::int64_t left, int renewals) {
    return douyin::plan_refresh(rt_state(left, renewals), o, true, kNow);
  };
  EXPECT_EQ(at(20 * kDay, 0), A::refresh) << "refreshing the access token does not renew";
  EXPECT_EQ(at(3 * kDay + 1, 0), A::refresh);
  EXPECT_EQ(at(3 * kDay, 0), A::refresh_and_renew);
  EXPECT_EQ(at(60, 4), A::refresh_and_renew);
  EXPECT_EQ(at(3 * kDay, 5), A::refresh) << "no renewal left: refresh on to the end";
  EXPECT_EQ(at(0, 0), A::expired);
  EXPECT_EQ(at(-10, 5), A::expired);
  douyin::RefreshTokenState unknown;
  EXPECT_EQ(douyin::plan_refresh(unknown, o, true, kNow), A::refresh);
}

TEST(DouyinRenewPlan, RenewLeadIsRenewBeforeButAtMostHalfTheLifetime) {
  douyin::Options o;
  EXPECT_EQ(o.renew_before, Seconds(3 * kDay));
  EXPECT_EQ(douyin::renew_lead(o, Seconds(30 * kDay)), Seconds(3 * kDay));
  // Short lifetimes (tests, sandboxes) renew at half their life, the same late-renewal shape.
  EXPECT_EQ(douyin::renew_lead(o, Seconds(40)), Seconds(20));
  o.renew_before = Seconds(20 * kDay);
  EXPECT_EQ(douyin::renew_lead(o, Seconds(30 * kDay)), Seconds(15 * kDay));
  EXPECT_EQ(spec::last_refresh_lead(Seconds(30 * kDay)), Seconds(600));
  EXPECT_EQ(spec::last_refresh_lead(Seconds(40)), Seconds(4));
  EXPECT_EQ(spec::last_refresh_lead(Seconds(5)), Seconds(1));
}

TEST(DouyinRenewPlan, NoRenewalWithoutPermissionOrWhenExhausted) {
  douyin::Options o;
  EXPECT_TRUE(douyin::may_renew(rt_state(kDay, 4), o, true));
  EXPECT_FALSE(douyin::may_renew(rt_state(kDay, 4), o, false)) << "the app lacks the permission (10004)";
  EXPECT_FALSE(douyin::may_renew(rt_state(kDay, 5), o, true));
  auto told = rt_state(kDay, 1);
  told.exhausted = true;
  EXPECT_FALSE(douyin::may_renew(told, o, true)) << "Douyin said 10020";
  o.max_renewals = 0;
  EXPECT_FALSE(douyin::may_renew(rt_state(kDay, 0), o, true));
}

TEST(DouyinRenewPlan, StateIsReadFromTheGrant) {
  Grant g = make_grant(kNow + Seconds(100), 2);
  g.extra["refresh_lifetime"] = 40;
  g.extra["renewals_exhausted"] = true;
  auto rt = douyin::refresh_token_state(g);
  EXPECT_EQ(rt.expires_at, kNow + Seconds(100));
  EXPECT_EQ(rt.lifetime, Seconds(40));
  EXPECT_EQ(rt.renewals, 2);
  EXPECT_TRUE(rt.exhausted);
  auto plain = douyin::refresh_token_state(make_grant(std::nullopt, 0));
  EXPECT_EQ(plain.lifetime, Seconds(douyin::kRefreshTokenLifetime));
  EXPECT_FALSE(plain.exhausted);
}

TEST(DouyinRenewPlan, RenewalCountIsReadFromNumbersOrStrings) {
  Grant g = make_grant(kNow, 0);
  g.extra = {{"renewals", "3"}};
  EXPECT_EQ(douyin::renewals_of(g), 3);
  g.extra = {{"renewals", 2}};
  EXPECT_EQ(douyin::renewals_of(g), 2);
  g.extra = json::object();
  EXPECT_EQ(douyin::renewals_of(g), 0);
  g.extra = {{"renewals", "garbage"}};
  EXPECT_EQ(douyin::renewals_of(g), 0);
  g.extra = {{"renewals", -4}};
  EXPECT_EQ(douyin::renewals_of(g), 0);
}

TEST(DouyinFollowUp, WithRenewalsLeftCallBackByTheRenewal) {
  douyin::Options o;
  auto f = douyin::follow_up(rt_state(30 * kDay), o, true, kNow);
  EXPECT_EQ(f.call_again_by, kNow + Seconds(27 * kDay));
  EXPECT_FALSE(f.reauth_due_at.has_value());
}

TEST(DouyinFollowUp, ADueRenewalThatFailedIsRetriedAfterAnEighthOfWhatIsLeft) {
  douyin::Options o;
  EXPECT_EQ(douyin::follow_up(rt_state(2 * kDay), o, true, kNow).call_again_by, kNow + Seconds(3600)) << "at most 1 h";
  EXPECT_EQ(douyin::follow_up(rt_state(16, 0, 40), o, true, kNow).call_again_by, kNow + Seconds(2));
  EXPECT_EQ(douyin::follow_up(rt_state(3, 0, 40), o, true, kNow).call_again_by, kNow + Seconds(1)) << "at least 1 s";
}

TEST(DouyinFollowUp, WithoutRenewalsTheGrantGetsAReauthDateAndALastRefreshJustBeforeIt) {
  douyin::Options o;
  auto f = douyin::follow_up(rt_state(10 * kDay, 5), o, true, kNow);
  EXPECT_EQ(f.reauth_due_at, kNow + Seconds(10 * kDay));
  EXPECT_EQ(f.call_again_by, kNow + Seconds(10 * kDay - 600));
  // That last refresh done: nothing more until the refresh token's end (then: expired).
  auto after = douyin::follow_up(rt_state(300, 5), o, true, kNow);
  EXPECT_EQ(after.call_again_by, kNow + Seconds(300));
  EXPECT_EQ(after.reauth_due_at, kNow + Seconds(300));
  // Not permitted: the same, whatever renewals are left.
  auto denied = douyin::follow_up(rt_state(20 * kDay, 0), o, false, kNow);
  EXPECT_EQ(denied.reauth_due_at, kNow + Seconds(20 * kDay));
  EXPECT_EQ(denied.call_again_by, kNow + Seconds(20 * kDay - 600));
  douyin::RefreshTokenState unknown;
  EXPECT_FALSE(douyin::follow_up(unknown, o, true, kNow).call_again_by.has_value());
}

namespace {

// A grant's whole life with a fake clock: the platform is asked at the earlier of the access
// token's refresh time (every 12 days of its 15) and what follow_up says, as the refresher does.
struct Life {
  TimePoint end;  // when the grant needed re-authorization
  int renewals = 0;
  int calls = 0;
  std::optional<TimePoint> reauth_due_at;  // first seen
  TimePoint last_refresh{};
};

Life live(bool permitted, int douyin_max_renewals = 5) {
  douyin::Options o;
  TimePoint now = kNow;
  douyin::RefreshTokenState rt;
  rt.expires_at = now + Seconds(30 * kDay);
  Life life;
  auto next = std::min(now + Seconds(12 * kDay), *douyin::follow_up(rt, o, permitted, now).call_again_by);
  for (int guard = 0; guard < 1000; ++guard) {
    now = next;
    auto action = douyin::plan_refresh(rt, o, permitted, now);
    if (action == douyin::RefreshAction::expired) {
      life.end = now;
      return life;
    }
    ++life.calls;
    life.last_refresh = now;
    if (action == douyin::RefreshAction::refresh_and_renew) {
      if (rt.renewals < douyin_max_renewals) {
        rt.expires_at = now + Seconds(30 * kDay);  // 30 days from the renewal
        ++rt.renewals;
        life.renewals = rt.renewals;
      } else {
        rt.exhausted = true;  // 10020
      }
    }
    auto f = douyin::follow_up(rt, o, permitted, now);
    if (f.reauth_due_at && !life.reauth_due_at) life.reauth_due_at = f.reauth_due_at;
    next = std::min(now + Seconds(12 * kDay), *f.call_again_by);
  }
  ADD_FAILURE() << "the grant never ended";
  return life;
}

}  // namespace

TEST(DouyinWholeLife, WithThePermissionAGrantLivesThirtyPlusFiveTimesTwentySevenDays) {
  Life life = live(true);
  EXPECT_EQ(life.renewals, 5);
  // 30 days, then 5 renewals each 3 days before the end: 30 + 5 x 27 = 165 days.
  EXPECT_EQ(life.end, kNow + Seconds(165 * kDay));
  ASSERT_TRUE(life.reauth_due_at.has_value());
  EXPECT_EQ(*life.reauth_due_at, life.end) << "reauth_due_at is the refresh token's real end";
  EXPECT_EQ(life.last_refresh, life.end - Seconds(600)) << "the last refresh comes just before the end";
  EXPECT_LT(life.calls, 40) << "no refresh storm";
}

TEST(DouyinWholeLife, WithoutThePermissionAGrantLivesThirtyDaysAndStaysActiveToTheEnd) {
  Life life = live(false);
  EXPECT_EQ(life.renewals, 0);
  EXPECT_EQ(life.end, kNow + Seconds(30 * kDay));
  EXPECT_EQ(life.reauth_due_at, life.end);
  EXPECT_EQ(life.last_refresh, life.end - Seconds(600));
}

TEST(DouyinWholeLife, DouyinSayingNoMoreRenewalsEndsTheChainWithoutEndingTheGrantEarly) {
  Life life = live(true, 2);
  EXPECT_EQ(life.renewals, 2);
  EXPECT_EQ(life.end, kNow + Seconds((30 + 2 * 27) * kDay));
  EXPECT_EQ(life.reauth_due_at, life.end);
}

// ---- the class

TEST(DouyinPlatformRefresh, FarFromExpiryRefreshesOnlyAndKeepsTheRefreshToken) {
  FakeHttpClient http;
  http.respond(200, token_data(kAccess, kRefresh, true));
  SpecPlatform p(specs::douyin(), http, settings());
  const auto expires = SysClock::now() + Seconds(25 * kDay);
  auto o = p.refresh(make_app(), make_grant(expires, 0));
  ASSERT_TRUE(o.ok()) << o.message;
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_EQ(http.requests[0].url, kBase + "/oauth/refresh_token/");
  EXPECT_EQ(o.token.access_token, kAccess);
  EXPECT_FALSE(o.token.refresh_token.has_value()) << "the same refresh token is not stored again";
  EXPECT_FALSE(o.token.refresh_expires_in.has_value()) << "refreshing does not move the refresh token's expiry";
  EXPECT_FALSE(o.token.extra.contains("renewals"));
  EXPECT_EQ(o.token.call_again_by, expires - Seconds(3 * kDay)) << "called again for the renewal";
  EXPECT_FALSE(o.token.reauth_due);
}

TEST(DouyinPlatformRefresh, ADifferentRefreshTokenInTheAnswerIsStoredWithTheOldExpiry) {
  FakeHttpClient http;
  http.respond(200, token_data(kAccess, "rft.other-value-1234"));
  SpecPlatform p(specs::douyin(), http, settings());
  auto o = p.refresh(make_app(), make_grant(SysClock::now() + Seconds(25 * kDay), 0));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.refresh_token.value_or(""), "rft.other-value-1234");
  ASSERT_TRUE(o.token.refresh_expires_in.has_value());
  EXPECT_NEAR(static_cast<double>(o.token.refresh_expires_in->count()), 25.0 * kDay, 5.0);
}

TEST(DouyinPlatformRefresh, WhenTheRenewalIsDueRefreshesThenRenewsAndReturnsTheNewRefreshToken) {
  FakeHttpClient http;
  http.respond(200, token_data(kAccess, kRefresh));
  http.respond(
      200, wrapped({{"description", ""}, {"error_code", 0}, {"expires_in", "2592000"}, {"refresh_token", kRenewed}}));
  SpecPlatform p(specs::douyin(), http, settings());
  App app = make_app();
  const auto before = SysClock::now();
  auto o = p.refresh(app, make_grant(before + Seconds(2 * kDay), 2));
  ASSERT_TRUE(o.ok()) << o.message;
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_EQ(http.requests[0].url, kBase + "/oauth/refresh_token/");
  EXPECT_EQ(fields_of(http.requests[0].body)["refresh_token"], kRefresh);
  EXPECT_EQ(http.requests[1].url, kBase + "/oauth/renew_refresh_token/");
  EXPECT_EQ(fields_of(http.requests[1].body)["refresh_token"], kRefresh);
  EXPECT_EQ(o.token.access_token, kAccess);
  EXPECT_EQ(o.token.refresh_token.value_or(""), kRenewed);
  EXPECT_EQ(o.token.refresh_expires_in, Seconds(2592000));
  EXPECT_EQ(o.token.extra.value("renewals", -1), 3);
  EXPECT_EQ(o.token.extra.value("refresh_lifetime", -1), 2592000);
  ASSERT_TRUE(o.token.call_again_by.has_value());
  // The next renewal: 27 days from now, 3 days before the new refresh token's end.
  EXPECT_GE(*o.token.call_again_by, before + Seconds(27 * kDay));
  EXPECT_LE(*o.token.call_again_by, SysClock::now() + Seconds(27 * kDay));
  EXPECT_TRUE(o.token.warning_code.empty());
}

TEST(DouyinPlatformRefresh, ExhaustedRenewalsRefreshOnToTheEndWithAReauthDate) {
  FakeHttpClient http;
  http.respond(200, token_data(kAccess, kRefresh));
  SpecPlatform p(specs::douyin(), http, settings());
  auto expires = SysClock::now() + Seconds(2 * kDay);
  auto o = p.refresh(make_app(), make_grant(expires, 5));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(http.requests.size(), 1u) << "no renewal is tried";
  EXPECT_TRUE(o.token.reauth_due) << "reauth_due_at: the refresh token's end";
  EXPECT_EQ(o.token.call_again_by, expires - Seconds(600)) << "the last refresh just before the end";
}

TEST(DouyinPlatformRefresh, APastRefreshTokenNeedsReauthorizationWithoutACall) {
  FakeHttpClient http;
  SpecPlatform p(specs::douyin(), http, settings());
  auto expired = SysClock::now() - Seconds(1);
  auto o = p.refresh(make_app(), make_grant(expired, 5));
  EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
  EXPECT_EQ(o.code, "refresh_token_expired");
  EXPECT_NE(o.message.find(format_time(expired)), std::string::npos) << o.message;
  EXPECT_TRUE(http.requests.empty());
  expect_no_leak(o, {kRefresh, kSecret});
}

TEST(DouyinPlatformRefresh, MaxRenewalsZeroNeverRenews) {
  FakeHttpClient http;
  http.respond(200, token_data(kAccess, kRefresh));
  SpecPlatform p(specs::douyin(), http, settings());
  App app = make_app();
  app.options = {{"max_renewals", 0}};
  auto expires = SysClock::now() + Seconds(kDay);
  auto o = p.refresh(app, make_grant(expires, 0));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(http.requests.size(), 1u);
  EXPECT_TRUE(o.token.reauth_due) << "reauth_due_at: the refresh token's end";
}

TEST(DouyinPlatformRefresh, RenewNotPermittedKeepsTheRefreshedTokenAndFlagsTheApp) {
  FakeHttpClient http;
  http.respond(200, token_data(kAccess, kRefresh));
  http.respond(200, error_body(10004, "权限不足"));
  SpecPlatform p(specs::douyin(), http, settings());
  auto expires = SysClock::now() + Seconds(kDay);
  auto o = p.refresh(make_app(), make_grant(expires, 0));
  ASSERT_TRUE(o.ok()) << "a failed renewal never throws the refreshed access token away";
  EXPECT_EQ(o.token.access_token, kAccess);
  EXPECT_FALSE(o.token.refresh_token.has_value()) << "the old refresh token is still the one";
  EXPECT_TRUE(o.token.renew_not_permitted);
  EXPECT_EQ(o.token.warning_code, "10004");
  EXPECT_NE(o.token.warning_message.find("renewing the refresh token failed"), std::string::npos);
  EXPECT_NE(o.token.warning_message.find("renew_refresh_token permission"), std::string::npos);
  EXPECT_TRUE(o.token.reauth_due) << "reauth_due_at: the refresh token's end";
  EXPECT_EQ(o.token.call_again_by, expires - Seconds(600));
  expect_no_leak(o, {kRefresh, kSecret});
}

TEST(DouyinPlatformRefresh, AnAppFlaggedAsNotPermittedIsNotAskedToRenew) {
  FakeHttpClient http;
  http.respond(200, token_data(kAccess, kRefresh));
  SpecPlatform p(specs::douyin(), http, settings());
  App app = make_app();
  app.renew_not_permitted_at = SysClock::now() - Seconds(kDay);
  auto expires = SysClock::now() + Seconds(kDay);
  auto o = p.refresh(app, make_grant(expires, 0));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(http.requests.size(), 1u);
  EXPECT_FALSE(o.token.renew_not_permitted) << "known already: nothing new to record";
  EXPECT_TRUE(o.token.reauth_due) << "reauth_due_at: the refresh token's end";
}

TEST(DouyinPlatformRefresh, RenewalLimitReachedAtDouyinKeepsTheGrantUntilItsEnd) {
  FakeHttpClient http;
  http.respond(200, token_data(kAccess, kRefresh));
  http.respond(200, error_body(10020, "超过刷新次数限制"));
  SpecPlatform p(specs::douyin(), http, settings());
  auto expires = SysClock::now() + Seconds(kDay);
  auto o = p.refresh(make_app(), make_grant(expires, 1));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.warning_code, "10020");
  EXPECT_EQ(o.token.extra.value("renewals_exhausted", false), true);
  EXPECT_TRUE(o.token.reauth_due) << "reauth_due_at: the refresh token's end";
}

TEST(DouyinPlatformRefresh, ATransientRenewalFailureIsRetriedSoonAndStoresTheRefresh) {
  FakeHttpClient http;
  http.respond(200, token_data(kAccess, kRefresh));
  http.respond(503, "busy");
  SpecPlatform p(specs::douyin(), http, settings());
  auto o = p.refresh(make_app(), make_grant(SysClock::now() + Seconds(2 * kDay), 0));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_FALSE(o.token.warning_code.empty());
  EXPECT_FALSE(o.token.renew_not_permitted);
  EXPECT_FALSE(o.token.reauth_due);
  ASSERT_TRUE(o.token.call_again_by.has_value());
  EXPECT_LE(*o.token.call_again_by, SysClock::now() + Seconds(3600));
}

TEST(DouyinPlatformRefresh, AFailedRefreshDoesNotRenew) {
  FakeHttpClient http;
  http.respond(200, error_body(10010, "refresh_token expired"));
  SpecPlatform p(specs::douyin(), http, settings());
  auto o = p.refresh(make_app(), make_grant(SysClock::now() + Seconds(kDay), 0));
  EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
  EXPECT_EQ(o.code, "10010");
  EXPECT_EQ(http.requests.size(), 1u);
}

TEST(DouyinPlatformRefresh, WithoutARefreshTokenNeedsReauthorization) {
  FakeHttpClient http;
  SpecPlatform p(specs::douyin(), http, settings());
  Grant g = make_grant(std::nullopt, 0);
  g.refresh_token.clear();
  EXPECT_EQ(p.refresh(make_app(), g).kind, OutcomeKind::needs_reauth);
  EXPECT_TRUE(http.requests.empty());
}

TEST(DouyinPlatformRefresh, AnAppsBaseUrlOptionIsUsed) {
  FakeHttpClient http;
  http.respond(200, token_data(kAccess, kRefresh));
  http.respond(200, wrapped({{"access_token", "clt.one"}, {"error_code", 0}, {"expires_in", 7200}}));
  SpecPlatform p(specs::douyin(), http, settings());
  App app = make_app();
  app.options = {{"base_url", "https://open-sandbox.douyin.com/"}};
  ASSERT_TRUE(p.refresh(app, make_grant(SysClock::now() + Seconds(20 * kDay), 0)).ok());
  EXPECT_EQ(http.requests.at(0).url, "https://open-sandbox.douyin.com/oauth/refresh_token/");
  ASSERT_TRUE(p.client_token(app, {}).ok());
  EXPECT_EQ(http.requests.at(1).url, "https://open-sandbox.douyin.com/oauth/client_token/");
  auto url = p.authorize_url(app, {"s", "", ""});
  EXPECT_EQ(url.rfind("https://open-sandbox.douyin.com/platform/oauth/connect/?", 0), 0u) << url;
}

TEST(DouyinPlatformExchange, StartsTheRenewalCountAndNamesTheAccount) {
  FakeHttpClient http;
  http.respond(200, token_data(kAccess, kRefresh));
  SpecPlatform p(specs::douyin(), http, settings());
  auto o = p.exchange_code(make_app(), kCode, "", "");
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.account_id, "open-1");
  EXPECT_EQ(o.token.extra.value("renewals", -1), 0);
  EXPECT_EQ(o.token.extra.value("refresh_lifetime", -1), 2592000);
  EXPECT_EQ(o.token.refresh_expires_in, Seconds(2592000));
  EXPECT_EQ(fields_of(http.requests.at(0).body)["code"], kCode);
  ASSERT_TRUE(o.token.call_again_by.has_value()) << "called again by the first renewal";
  EXPECT_GT(*o.token.call_again_by, SysClock::now() + Seconds(26 * kDay));
  EXPECT_FALSE(o.token.reauth_due);
}

TEST(DouyinPlatformExchange, AnAppWithoutTheRenewPermissionGetsAReauthDateAtOnce) {
  FakeHttpClient http;
  http.respond(200, token_data(kAccess, kRefresh));
  SpecPlatform p(specs::douyin(), http, settings());
  App app = make_app();
  app.renew_not_permitted_at = SysClock::now();
  const auto before = SysClock::now();
  auto o = p.exchange_code(app, kCode, "", "");
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_TRUE(o.token.reauth_due) << "reauth_due_at: the refresh token's end, 30 days away";
  ASSERT_TRUE(o.token.call_again_by.has_value());
  EXPECT_GE(*o.token.call_again_by, before + Seconds(30 * kDay - 600)) << "its last refresh";
  EXPECT_LE(*o.token.call_again_by, SysClock::now() + Seconds(30 * kDay - 600));
}

TEST(DouyinPlatformExchange, UsedCodeIsReportedWithoutTheCode) {
  FakeHttpClient http;
  http.respond(200, error_body(10007, "授权码过期 " + kCode));
  SpecPlatform p(specs::douyin(), http, settings());
  auto o = p.exchange_code(make_app(), kCode, "", "");
  EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
  expect_no_leak(o, {kCode, kSecret});
}

TEST(DouyinPlatformClientToken, PostsJsonAndUsesStableEndpointWhenAsked) {
  FakeHttpClient http;
  http.respond(200, wrapped({{"access_token", "clt.one"}, {"error_code", 0}, {"expires_in", 7200}}));
  http.respond(200, wrapped({{"access_token", "clt.two"}, {"error_code", 0}, {"expires_in", "7200"}}));
  SpecPlatform p(specs::douyin(), http, settings());
  App app = make_app();
  app.client_credentials = true;
  auto a = p.client_token(app, {});
  ASSERT_TRUE(a.ok()) << a.message;
  EXPECT_EQ(a.token.access_token, "clt.one");
  EXPECT_EQ(http.requests.at(0).url, kBase + "/oauth/client_token/");
  app.options = {{"client_token", "stable_client_token"}};
  EXPECT_FALSE(a.token.same_until_expiry) << "client_token: each call issues a new token";
  auto b = p.client_token(app, AppTokenCall::forced());
  ASSERT_TRUE(b.ok()) << b.message;
  EXPECT_EQ(http.requests.at(1).url, kBase + "/oauth/stable_client_token/");
  EXPECT_TRUE(b.token.same_until_expiry) << "stable_client_token: the same token until it expires";
}

TEST(DouyinPlatformRevoke, IsNotSupportedAndSendsNothing) {
  FakeHttpClient http;
  SpecPlatform p(specs::douyin(), http, settings());
  auto o = p.revoke(make_app(), make_grant(std::nullopt, 0));
  EXPECT_TRUE(o.ok());
  EXPECT_EQ(o.code, "not_supported");
  EXPECT_TRUE(http.requests.empty());
}

// ---- registration

TEST(DouyinPrepareApp, AcceptsDocumentedOptionsAndRejectsTheRest) {
  FakeHttpClient http;
  SpecPlatform p(specs::douyin(), http, settings());
  App ok = make_app();
  ok.options = {{"renew_before_seconds", 86400},
                {"max_renewals", 5},
                {"client_token", "stable_client_token"},
                {"optional_scopes", {{"friend_relation", true}, {"message", false}}},
                {"base_url", "https://open-sandbox.douyin.com"}};
  EXPECT_TRUE(p.prepare_app(ok).ok) << p.prepare_app(ok).message;
  // The old option name is read as renew_before_seconds (apps registered before keep working).
  App old = make_app();
  old.options = {{"renew_window_seconds", 86400}};
  EXPECT_TRUE(p.prepare_app(old).ok);
  douyin::Options parsed;
  ASSERT_FALSE(douyin::parse_options(old.options, parsed).has_value());
  EXPECT_EQ(parsed.renew_before, Seconds(86400));

  auto fails = [&](App a, const std::string& needle) {
    auto c = p.prepare_app(a);
    EXPECT_FALSE(c.ok) << needle;
    EXPECT_EQ(c.status, 400);
    EXPECT_NE(c.message.find(needle), std::string::npos) << c.message;
    EXPECT_EQ(c.message.find(kSecret), std::string::npos);
  };
  App a = make_app();
  a.options = {{"renew", true}};
  fails(a, "options.renew: unknown option");
  a.options = {{"renew_window_seconds", "86400"}};
  fails(a, "options.renew_window_seconds");
  a.options = {{"renew_window_seconds", 10}};
  fails(a, "options.renew_window_seconds");
  a.options = {{"renew_before_seconds", 10}};
  fails(a, "options.renew_before_seconds");
  a.options = {{"renew_before_seconds", 86400}, {"renew_window_seconds", 86400}};
  fails(a, "give only one");
  a.options = {{"max_renewals", -1}};
  fails(a, "options.max_renewals");
  a.options = {{"optional_scopes", {"friend_relation"}}};
  fails(a, "options.optional_scopes");
  a.options = {{"optional_scopes", {{"a,b", true}}}};
  fails(a, "options.optional_scopes");
  a.options = {{"optional_scopes", {{"message", 1}}}};
  fails(a, "options.optional_scopes.message");
  a.options = {{"base_url", "open-sandbox.douyin.com"}};
  fails(a, "options.base_url");
  a.options = {{"base_url", "https://user:pw@open.douyin.com"}};
  fails(a, "options.base_url");
  a.options = {{"base_url", 5}};
  fails(a, "options.base_url");
  a.options = {{"client_token", "other"}};
  fails(a, "options.client_token");
  a = make_app();
  a.client_id.clear();
  fails(a, "client_id");
  a = make_app();
  a.client_secret.clear();
  fails(a, "client_secret");
  a = make_app();
  a.endpoints.token_url = "http://elsewhere/token";
  fails(a, "endpoints");
  a = make_app();
  a.scopes = {"user_info,video.list"};
  fails(a, "scopes");
  a = make_app();
  a.scopes.clear();
  fails(a, "scopes");
  a.client_credentials = true;
  EXPECT_TRUE(p.prepare_app(a).ok) << "a client-credentials-only app needs no scope";
}

TEST(DouyinRegistry, IsRegisteredWithTheConfiguredBaseUrl) {
  FakeHttpClient http;
  PlatformRegistry reg(http, settings());
  auto* p = dynamic_cast<SpecPlatform*>(reg.get("douyin"));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->base_url(make_app(), "base_url"), kBase);
}

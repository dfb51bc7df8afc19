// The WeChat third-party platform (wechat_component): request builders, answer parsers, the error
// table and the flows of WeChatComponentPlatform against a scripted HttpClient and a fixed
// ComponentCredentials (reference ../shared/platforms-wechat-component.md §2–§7).
#include <gtest/gtest.h>

#include <deque>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "fake_http_client.hpp"
#include "platform_test_util.hpp"
#include "platforms/registry.hpp"
#include "support/manual_time_source.hpp"
#include "platforms/wechat_component_platform.hpp"

using namespace mediax;
using mediax::testing::expect_no_leak;
using mediax::testing::FakeHttpClient;
using mediax::testing::fields_of;
using mediax::testing::http_response;
using mediax::testing::query_fields;
using mediax::testing::query_names;
using nlohmann::json;
namespace wc = mediax::wechat_component;

namespace {

const std::string kApi = "http://127.0.0.1:18003/api";
const std::string kMp = "http://127.0.0.1:18005/mp";
const std::string kOpen = "http://127.0.0.1:18002";
const std::string kSecret = "component-secret-0123456789";
const std::string kTicket = "ticket@@@verify-ticket-abcdef";
const std::string kToken1 = "component-token-one-111111";
const std::string kToken2 = "component-token-two-222222";
const std::string kPreAuth = "preauthcode@@@pre-auth-code-xyz";
const std::string kAuthCode = "queryauthcode@@@auth-code-987";
const std::string kAccess = "authorizer-access-aaaaaaaa";
const std::string kRefresh = "refreshtoken@@@authorizer-refresh-1";
const std::string kRefresh2 = "refreshtoken@@@authorizer-refresh-2";
const std::string kMessageToken = "msgToken123";
const std::string kAesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";  // 43 characters
const std::string kAuthorizer = "wxf8b4f85f3a794e77";
// 2026-05-01T15:59:00Z = 23:59 in Beijing.
const TimePoint kNow = from_unix(1777651140);


// The daemon's side as a table: the stored ticket, and a queue of component tokens where a refusal
// of the current one moves to the next (the real one refreshes only if the refused token is current).
class FakeCredentials : public ComponentCredentials {
 public:
  std::optional<std::string> latest_ticket(const App&) override {
    ++ticket_reads;
    if (fail) throw std::runtime_error("database unavailable");
    return ticket;
  }
  std::optional<std::string> component_token(const App&, const std::optional<std::string>& refused) override {
    refusals.push_back(refused);
    if (fail) throw std::runtime_error("database unavailable");
    if (tokens.empty()) return std::nullopt;
    if (refused && *refused == tokens.front() && tokens.size() > 1) tokens.pop_front();
    return tokens.front();
  }

  std::optional<std::string> ticket = kTicket;
  std::deque<std::string> tokens{kToken1, kToken2};
  std::vector<std::optional<std::string>> refusals;
  int ticket_reads = 0;
  bool fail = false;
};

App make_app(json options = json::object()) {
  App a;
  a.id = 31;
  a.name = "wxc";
  a.platform = "wechat_component";
  a.client_id = "wx0123456789component";
  a.client_secret = kSecret;
  a.redirect_uri = "https://mediax.example/oauth/callback";
  a.options = std::move(options);
  a.secret_options = {{"message_token", kMessageToken}, {"encoding_aes_key", kAesKey}};
  return a;
}

Grant make_grant(const std::string& refresh = kRefresh) {
  Grant g;
  g.id = 9;
  g.app_id = 31;
  g.account_id = kAuthorizer;
  g.refresh_token = refresh;
  return g;
}

PlatformSettings settings() {
  PlatformSettings s;
  s.urls["wechat"]["api_base_url"] = kApi;
  s.urls["wechat"]["mp_base_url"] = kMp;
  s.urls["wechat"]["open_base_url"] = kOpen;
  return s;
}

std::string error(std::int64_t code, const std::string& msg) { return json{{"errcode", code}, {"errmsg", msg}}.dump(); }

json func_info(std::initializer_list<int> ids) {
  json a = json::array();
  for (int id : ids) a.push_back({{"funcscope_category", {{"id", id}}}});
  return a;
}

std::string query_auth_body(bool wrapped, const std::string& access = kAccess, const std::string& refresh = kRefresh) {
  json info = {{"authorizer_appid", kAuthorizer}, {"expires_in", 7200}, {"func_info", func_info({1, 15, 1, 24})}};
  if (!access.empty()) info["authorizer_access_token"] = access;
  if (!refresh.empty()) info["authorizer_refresh_token"] = refresh;
  return wrapped ? json{{"authorization_info", info}}.dump() : info.dump();
}

std::string authorizer_token_body(const std::string& access, const std::string& refresh) {
  return json{{"authorizer_access_token", access}, {"expires_in", 7200}, {"authorizer_refresh_token", refresh}}.dump();
}

std::string authorizer_info_body(const std::string& refresh) {
  return json{
      {"authorizer_info", {{"nick_name", "demo"}}},
      {"authorization_info",
       {{"authorizer_appid", kAuthorizer}, {"authorizer_refresh_token", refresh}, {"func_info", func_info({1, 2})}}}}
      .dump();
}

std::string path_of(const ClientRequest& r) {
  auto u = r.url.substr(0, r.url.find('?'));
  return u.substr(kApi.size());
}

json body_of(const ClientRequest& r) { return json::parse(r.body); }

const std::vector<std::string> kAllSecrets{kSecret,   kTicket, kToken1,  kToken2,  kPreAuth,
                                           kAuthCode, kAccess, kRefresh, kRefresh2};

struct Fixture {
  FakeHttpClient http;
  FakeCredentials creds;
  ManualTimeSource clock{kNow};
  WeChatComponentPlatform platform{http, settings(), &creds, &clock};
};

}  // namespace

// ----- registration -----

TEST(WeChatComponentPrepareApp, MovesSecretOptionsAndMakesTheComponentTokenTheAppToken) {
  Fixture f;
  App a = make_app({{"message_token", kMessageToken},
                    {"encoding_aes_key", kAesKey},
                    {"previous_encoding_aes_key", "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"},
                    {"auth_type", 2},
                    {"mobile_link", "mp"}});
  a.secret_options = json::object();
  a.client_credentials = false;
  ASSERT_TRUE(f.platform.prepare_app(a).ok);
  EXPECT_EQ(a.options, (json{{"auth_type", 2}, {"mobile_link", "mp"}})) << "no secret stays visible";
  EXPECT_EQ(a.secret_options["message_token"], kMessageToken);
  EXPECT_EQ(a.secret_options["encoding_aes_key"], kAesKey);
  EXPECT_EQ(a.secret_options.size(), 3u);
  EXPECT_TRUE(a.client_credentials);
  EXPECT_EQ(a.token_usage, TokenUsage::access_token_query);
  EXPECT_TRUE(f.http.requests.empty());
}

TEST(WeChatComponentPrepareApp, RefusesMissingOrMalformedSecretsWithoutQuotingThem) {
  Fixture f;
  auto check = [&](json options) {
    App a = make_app(std::move(options));
    a.secret_options = json::object();
    return f.platform.prepare_app(a);
  };
  auto with = [](json extra) {
    json o = {{"message_token", kMessageToken}, {"encoding_aes_key", kAesKey}};
    for (const auto& [k, v] : extra.items()) o[k] = v;
    return o;
  };
  EXPECT_EQ(check({{"encoding_aes_key", kAesKey}}).message.rfind("options.message_token: required", 0), 0u);
  EXPECT_EQ(check({{"message_token", kMessageToken}}).message.rfind("options.encoding_aes_key: required", 0), 0u);
  for (const std::string& bad : std::vector<std::string>{"ab", std::string(33, 'a'), "with space", "tok-en", "токен"}) {
    auto c = check(with({{"message_token", bad}}));
    EXPECT_FALSE(c.ok) << bad;
    EXPECT_EQ(c.message, "options.message_token: must be 3 to 32 letters or digits");
  }
  EXPECT_TRUE(check(with({{"message_token", "abc"}})).ok);
  EXPECT_TRUE(check(with({{"message_token", std::string(32, '9')}})).ok);
  const std::string key42 = kAesKey.substr(1), key44 = kAesKey + "A", key_eq = kAesKey.substr(1) + "=";
  for (const std::string& bad : {key42, key44, key_eq, kAesKey.substr(1) + "-"}) {
    auto c = check(with({{"encoding_aes_key", bad}}));
    EXPECT_FALSE(c.ok) << bad;
    EXPECT_EQ(c.message.find(bad), std::string::npos);
  }
  EXPECT_TRUE(check(with({{"encoding_aes_key", kAesKey.substr(2) + "+/"}})).ok) << "the base64 alphabet";
  EXPECT_EQ(check(with({{"previous_encoding_aes_key", "short"}})).message.rfind("options.previous_encoding_aes_key", 0),
            0u);
  EXPECT_EQ(check(with({{"message_token", 12345}})).message,
            "options.message_token: must be 3 to 32 letters or digits");
}

TEST(WeChatComponentPrepareApp, ChecksOptionsScopesAndUnusedFields) {
  Fixture f;
  auto check = [&](json options, std::vector<std::string> scopes = {}) {
    App a = make_app(std::move(options));
    a.scopes = std::move(scopes);
    return f.platform.prepare_app(a);
  };
  EXPECT_TRUE(check({{"auth_type", 1}, {"biz_appid", kAuthorizer}, {"token_param", "access_token"}}).ok);
  EXPECT_EQ(check({{"auth_type", 4}}).message, "options.auth_type: must be in 1..3");
  EXPECT_EQ(check({{"mobile_link", "h5"}}).message, "options.mobile_link: must be wxaopen or mp");
  EXPECT_EQ(check({{"token_param", "token"}}).message,
            "options.token_param: must be component_access_token or access_token");
  EXPECT_FALSE(check({{"biz_appid", "wx 1"}}).ok);
  EXPECT_EQ(check({{"scope_mode", "x"}}).message, "options.scope_mode: unknown option");
  EXPECT_TRUE(check({}, {"1", "15"}).ok);
  EXPECT_EQ(check({}, {"snsapi_base"}).message.rfind("scopes: ", 0), 0u);
  App a = make_app();
  a.endpoints.token_url = "https://x";
  EXPECT_EQ(f.platform.prepare_app(a).message.rfind("endpoints: ", 0), 0u);
  App b = make_app();
  b.client_secret.clear();
  EXPECT_EQ(f.platform.prepare_app(b).message.rfind("client_secret: ", 0), 0u);
  App c = make_app();
  c.token_auth_method = "client_secret_basic";
  EXPECT_FALSE(f.platform.prepare_app(c).ok);
}

// ----- the component token (the app token) -----

TEST(WeChatComponentClientToken, WaitsForTheFirstTicketWithoutCallingWeChat) {
  Fixture f;
  f.creds.ticket.reset();
  Outcome o = f.platform.client_token(make_app(), {});
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
  EXPECT_EQ(o.code, "waiting_for_ticket");
  EXPECT_EQ(
      o.message,
      "no component_verify_ticket has been pushed yet: check the event URL registered on the WeChat open platform");
  EXPECT_EQ(o.retry_after, Seconds(600));
  EXPECT_TRUE(f.http.requests.empty());

  f.creds.fail = true;
  Outcome unreadable = f.platform.client_token(make_app(), {});
  EXPECT_EQ(unreadable.kind, OutcomeKind::retry_later);
  EXPECT_EQ(unreadable.code, "ticket_unavailable");
  EXPECT_TRUE(f.http.requests.empty());
}

TEST(WeChatComponentClientToken, PostsAppidSecretAndTicketAndReadsTheToken) {
  Fixture f;
  f.http.respond(200, json{{"component_access_token", kToken1}, {"expires_in", 7200}}.dump());
  Outcome o = f.platform.client_token(make_app(), AppTokenCall::forced());
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.access_token, kToken1);
  EXPECT_EQ(o.token.expires_in, Seconds(7200));
  EXPECT_FALSE(o.token.refresh_token.has_value());
  ASSERT_EQ(f.http.requests.size(), 1u);
  const auto& r = f.http.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, kApi + "/cgi-bin/component/api_component_token") << "no secret or token in the URL";
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(body_of(r), (json{{"component_appid", "wx0123456789component"},
                              {"component_appsecret", kSecret},
                              {"component_verify_ticket", kTicket}}));
}

TEST(WeChatComponentClientToken, ExpiredTicketAsksWeChatToRestartThePushesAndWaits) {
  Fixture f;
  f.http.respond(200, error(61005, "component ticket is expired rid: 6a1b-22"));
  f.http.respond(200, error(0, "ok"));
  Outcome o = f.platform.client_token(make_app(), {});
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
  EXPECT_EQ(o.code, "61005");
  EXPECT_EQ(o.retry_after, Seconds(600));
  EXPECT_NE(o.message.find("waiting for WeChat's next push"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("api_start_push_ticket: ok"), std::string::npos) << o.message;
  ASSERT_EQ(f.http.requests.size(), 2u);
  EXPECT_EQ(f.http.requests[1].url, kApi + "/cgi-bin/component/api_start_push_ticket");
  EXPECT_EQ(body_of(f.http.requests[1]),
            (json{{"component_appid", "wx0123456789component"}, {"component_secret", kSecret}}));
  expect_no_leak(o, kAllSecrets);

  // A failing restart is reported, the answer stays the same.
  Fixture g;
  g.http.respond(200, error(61005, "component ticket is expired"));
  g.http.fail("timeout");
  Outcome p = g.platform.client_token(make_app(), {});
  EXPECT_EQ(p.code, "61005");
  EXPECT_NE(p.message.find("api_start_push_ticket failed"), std::string::npos) << p.message;
}

TEST(WeChatComponentClientToken, InvalidTicketWaitsForTheNextPushWithoutRestartingThem) {
  Fixture f;
  f.http.respond(200, error(61006, "component ticket is invalid"));
  Outcome o = f.platform.client_token(make_app(), {});
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
  EXPECT_EQ(o.retry_after, Seconds(600));
  EXPECT_NE(o.message.find("check that the event URL"), std::string::npos);
  EXPECT_EQ(f.http.requests.size(), 1u);
}

TEST(WeChatComponentClientToken, ErrorsAreClassifiedByTheTable) {
  struct Case {
    std::int64_t code;
    OutcomeKind kind;
  };
  for (auto c : {Case{40001, OutcomeKind::app_misconfigured}, Case{41004, OutcomeKind::app_misconfigured},
                 Case{40125, OutcomeKind::app_misconfigured}, Case{61011, OutcomeKind::app_misconfigured},
                 Case{61024, OutcomeKind::app_misconfigured}, Case{-1, OutcomeKind::retry_later},
                 Case{45009, OutcomeKind::rate_limited}, Case{99999, OutcomeKind::retry_later}}) {
    Fixture f;
    f.http.respond(200, error(c.code, "some text"));
    Outcome o = f.platform.client_token(make_app(), {});
    EXPECT_EQ(o.kind, c.kind) << c.code;
    EXPECT_EQ(o.code, std::to_string(c.code));
    EXPECT_EQ(f.http.requests.size(), 1u) << c.code << ": no retry, no restart of the pushes";
  }
}

TEST(WeChatComponentClientToken, NoCredentialsMeansTryAgainLater) {
  FakeHttpClient http;
  WeChatComponentPlatform p(http, settings(), nullptr);
  EXPECT_EQ(p.client_token(make_app(), {}).kind, OutcomeKind::retry_later);
  EXPECT_EQ(p.refresh(make_app(), make_grant()).kind, OutcomeKind::retry_later);
  EXPECT_TRUE(http.requests.empty());
}

// ----- errors shared by every call -----

TEST(WeChatComponentErrors, IpWhitelistNamesTheIp) {
  Outcome o = wc::parse_component_token(
      http_response(200, error(61004, "access clientip is not registered requestIP: 203.0.113.7 rid: 6a1b-22c3")), kNow,
      {kSecret});
  EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(o.code, "61004");
  EXPECT_NE(o.message.find("whitelist the IP 203.0.113.7 on the WeChat open platform"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("rid: 6a1b-22c3"), std::string::npos) << "WeChat's rid stays for support";
  Outcome no_ip =
      wc::parse_authorizer_token(http_response(200, error(61004, "access clientip is not registered")), kNow, {});
  EXPECT_EQ(no_ip.kind, OutcomeKind::app_misconfigured);
  EXPECT_NE(no_ip.message.find("this daemon's outgoing IP addresses"), std::string::npos) << no_ip.message;
}

TEST(WeChatComponentErrors, DailyQuotaWaitsForBeijingMidnight) {
  Outcome o = wc::parse_authorizer_token(http_response(200, error(45009, "reach max api daily quota limit")), kNow, {});
  EXPECT_EQ(o.kind, OutcomeKind::rate_limited);
  // 23:59 in Beijing: one minute to midnight, one minute's margin.
  EXPECT_EQ(o.retry_after, Seconds(120));
  EXPECT_NE(o.message.find("clear_quota/v2"), std::string::npos);
}

TEST(WeChatComponentErrors, TransportHttpAndGarbageAreRetriedLater) {
  ClientResponse timeout;
  timeout.error = "timeout";
  for (const auto& r :
       {timeout, http_response(502, "bad gateway"), http_response(404, "not found"), http_response(403, "{}"),
        http_response(200, "<html>"), http_response(200, "[1]"), http_response(302, "")}) {
    for (auto parse : {wc::parse_component_token, wc::parse_pre_auth_code, wc::parse_query_auth,
                       wc::parse_authorizer_token, wc::parse_authorizer_info}) {
      Outcome o = parse(r, kNow, {});
      EXPECT_EQ(o.kind, OutcomeKind::retry_later) << r.status << " " << r.body;
      EXPECT_FALSE(o.code.empty());
    }
  }
  EXPECT_EQ(wc::parse_component_token(http_response(200, "{}"), kNow, {}).code, "bad_response");
  EXPECT_EQ(wc::parse_component_token(http_response(429, "", {{"Retry-After", "30"}}), kNow, {}).retry_after,
            Seconds(30));
}

TEST(WeChatComponentErrors, TheTableByFlow) {
  using F = wc::Flow;
  const auto all = {F::component_token, F::start_push,       F::pre_auth_code,
                    F::query_auth,      F::authorizer_token, F::authorizer_info};
  for (auto flow : all) {
    EXPECT_EQ(wc::kind_for_errcode(-1, flow), OutcomeKind::retry_later);
    EXPECT_EQ(wc::kind_for_errcode(40014, flow), OutcomeKind::retry_later);
    EXPECT_EQ(wc::kind_for_errcode(42001, flow), OutcomeKind::retry_later);
    for (int code : {41004, 40125, 40013, 61004, 61011, 61024}) {
      EXPECT_EQ(wc::kind_for_errcode(code, flow), OutcomeKind::app_misconfigured) << code;
    }
    EXPECT_EQ(wc::kind_for_errcode(45009, flow), OutcomeKind::rate_limited);
    EXPECT_EQ(wc::kind_for_errcode(61005, flow), OutcomeKind::retry_later);
    EXPECT_EQ(wc::kind_for_errcode(61006, flow), OutcomeKind::retry_later);
    for (int code : {61003, 61009, 61010, 61023}) {
      EXPECT_EQ(wc::kind_for_errcode(code, flow), OutcomeKind::needs_reauth) << code;
    }
  }
  EXPECT_EQ(wc::kind_for_errcode(40001, F::component_token), OutcomeKind::app_misconfigured);
  EXPECT_EQ(wc::kind_for_errcode(40001, F::authorizer_token), OutcomeKind::retry_later);
  EXPECT_EQ(wc::kind_for_errcode(48001, F::authorizer_token), OutcomeKind::needs_reauth);
  EXPECT_EQ(wc::kind_for_errcode(61007, F::authorizer_info), OutcomeKind::needs_reauth);
  EXPECT_EQ(wc::kind_for_errcode(48001, F::pre_auth_code), OutcomeKind::app_misconfigured);
  EXPECT_EQ(wc::kind_for_errcode(61007, F::query_auth), OutcomeKind::app_misconfigured);
  EXPECT_TRUE(wc::is_token_error("40001"));
  EXPECT_TRUE(wc::is_token_error("40014"));
  EXPECT_TRUE(wc::is_token_error("42001"));
  EXPECT_FALSE(wc::is_token_error("61023"));
}

TEST(WeChatComponentErrors, NoSecretReachesAnyMessage) {
  // WeChat echoing what it was sent, in every flow, with every class of code.
  std::string echo;
  for (const auto& s : kAllSecrets) echo += s + " ";
  for (std::int64_t code : {-1, 40001, 40125, 45009, 61003, 61004, 61005, 61009, 61023, 12345}) {
    for (auto parse : {wc::parse_component_token, wc::parse_pre_auth_code, wc::parse_query_auth,
                       wc::parse_authorizer_token, wc::parse_authorizer_info, wc::parse_start_push}) {
      Outcome o = parse(http_response(200, error(code, echo + "rid: 1")), kNow, kAllSecrets);
      EXPECT_FALSE(o.ok());
      expect_no_leak(o, kAllSecrets);
    }
  }
  // Through the glue: WeChat echoes what each request carried (and the app's secrets).
  const std::string app_secrets = kSecret + " " + kMessageToken + " " + kAesKey + " ";
  Fixture f;
  f.http.respond(200, error(61023, app_secrets + kToken1 + " " + kRefresh));
  f.http.respond(200, authorizer_info_body(kRefresh2));
  f.http.respond(200, error(61023, app_secrets + kToken1 + " " + kRefresh2));
  Outcome refreshed = f.platform.refresh(make_app(), make_grant());
  EXPECT_EQ(refreshed.kind, OutcomeKind::needs_reauth);
  expect_no_leak(refreshed, kAllSecrets);
  Fixture q;
  q.http.respond(200, error(61010, app_secrets + kToken1 + " " + kAuthCode));
  expect_no_leak(q.platform.exchange_code(make_app(), kAuthCode, "", ""), kAllSecrets);
  Fixture c;
  c.http.respond(200, error(61005, app_secrets + kTicket)).respond(200, error(40013, app_secrets));
  Outcome ticket = c.platform.client_token(make_app(), {});
  EXPECT_EQ(ticket.code, "61005");
  expect_no_leak(ticket, kAllSecrets);
  expect_no_leak(ticket, {kMessageToken, kAesKey});
  Fixture p;
  p.http.respond(200, error(40001, app_secrets + kToken1)).respond(200, error(-1, app_secrets + kToken1 + kToken2));
  AuthorizeParams params;
  Outcome pre = p.platform.prepare_authorize(make_app(), params);
  EXPECT_EQ(pre.code, "-1");
  expect_no_leak(pre, kAllSecrets);
  expect_no_leak(pre, {kMessageToken, kAesKey});
}

// ----- connecting an account -----

TEST(WeChatComponentPrepareAuthorize, CreatesAPreAuthCodeWithTheComponentToken) {
  Fixture f;
  f.http.respond(200, json{{"pre_auth_code", kPreAuth}, {"expires_in", 600}}.dump());
  AuthorizeParams p;
  p.state = "st";
  Outcome o = f.platform.prepare_authorize(make_app(), p);
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(p.pre_auth_code, kPreAuth);
  EXPECT_TRUE(o.token.access_token.empty()) << "the code lives in the params only";
  EXPECT_EQ(o.token.expires_in, Seconds(600));
  ASSERT_EQ(f.http.requests.size(), 1u);
  const auto& r = f.http.requests[0];
  EXPECT_EQ(path_of(r), "/cgi-bin/component/api_create_preauthcode");
  EXPECT_EQ(query_fields(r.url), (std::map<std::string, std::string>{{"component_access_token", kToken1}}));
  EXPECT_EQ(body_of(r), (json{{"component_appid", "wx0123456789component"}}));
}

TEST(WeChatComponentPrepareAuthorize, TokenParamOptionSpellsTheQueryParameter) {
  Fixture f;
  f.http.respond(200, json{{"pre_auth_code", kPreAuth}}.dump());
  AuthorizeParams p;
  ASSERT_TRUE(f.platform.prepare_authorize(make_app({{"token_param", "access_token"}}), p).ok());
  EXPECT_EQ(query_names(f.http.requests[0].url), std::vector<std::string>{"access_token"});
}

TEST(WeChatComponentPrepareAuthorize, WithoutAComponentTokenNothingIsCalled) {
  Fixture f;
  f.creds.tokens.clear();
  AuthorizeParams p;
  Outcome o = f.platform.prepare_authorize(make_app(), p);
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
  EXPECT_EQ(o.code, "component_token_unavailable");
  EXPECT_TRUE(p.pre_auth_code.empty());
  EXPECT_TRUE(f.http.requests.empty());
  f.creds.fail = true;
  EXPECT_EQ(f.platform.prepare_authorize(make_app(), p).code, "component_token_unavailable");
}

TEST(WeChatComponentPrepareAuthorize, ARefusedComponentTokenIsReplacedAndRetriedOnceOnly) {
  for (std::int64_t code : {40001, 40014, 42001}) {
    Fixture f;
    f.http.respond(200, error(code, "invalid credential"));
    f.http.respond(200, json{{"pre_auth_code", kPreAuth}}.dump());
    AuthorizeParams p;
    Outcome o = f.platform.prepare_authorize(make_app(), p);
    ASSERT_TRUE(o.ok()) << code << " " << o.message;
    ASSERT_EQ(f.http.requests.size(), 2u);
    EXPECT_EQ(query_fields(f.http.requests[0].url)["component_access_token"], kToken1);
    EXPECT_EQ(query_fields(f.http.requests[1].url)["component_access_token"], kToken2);
    ASSERT_EQ(f.creds.refusals.size(), 2u);
    EXPECT_FALSE(f.creds.refusals[0].has_value());
    EXPECT_EQ(f.creds.refusals[1], kToken1) << "the refused token is named";
  }
  Fixture twice;
  twice.http.respond(200, error(40001, "invalid credential")).respond(200, error(42001, "expired"));
  twice.http.respond(200, json{{"pre_auth_code", kPreAuth}}.dump());
  AuthorizeParams p;
  Outcome o = twice.platform.prepare_authorize(make_app(), p);
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
  EXPECT_EQ(o.code, "42001");
  EXPECT_EQ(twice.http.requests.size(), 2u) << "one retry, no more";
  EXPECT_EQ(twice.http.pending(), 1u);
}

TEST(WeChatComponentAuthorizeUrl, PcPageCarriesTheStateInsideTheRedirectUri) {
  Fixture f;
  AuthorizeParams p;
  p.state = "s+t/a=te";
  p.pre_auth_code = kPreAuth;
  const std::string url = f.platform.authorize_url(make_app(), p);
  EXPECT_EQ(url.rfind(kMp + "/cgi-bin/componentloginpage?", 0), 0u) << url;
  EXPECT_EQ(query_names(url),
            (std::vector<std::string>{"component_appid", "pre_auth_code", "redirect_uri", "auth_type"}));
  auto q = query_fields(url);
  EXPECT_EQ(q["component_appid"], "wx0123456789component");
  EXPECT_EQ(q["pre_auth_code"], kPreAuth);
  EXPECT_EQ(q["auth_type"], "3");
  EXPECT_EQ(q["redirect_uri"], "https://mediax.example/oauth/callback?state=s%2Bt%2Fa%3Dte");
  EXPECT_EQ(query_fields(q["redirect_uri"])["state"], "s+t/a=te");
  EXPECT_EQ(url.find('#'), std::string::npos);
  // The redirect_uri is one encoded parameter: its own '?' and '=' do not show in the link.
  EXPECT_EQ(url.find("callback?state"), std::string::npos);
}

TEST(WeChatComponentAuthorizeUrl, AuthTypeAndBizAppidFromTheConnectionOrTheOptions) {
  Fixture f;
  AuthorizeParams p;
  p.state = "s";
  App a = make_app({{"auth_type", 1}, {"biz_appid", "wxoptions000000001"}});
  auto q = query_fields(f.platform.authorize_url(a, p));
  EXPECT_EQ(q["auth_type"], "1");
  EXPECT_EQ(q["biz_appid"], "wxoptions000000001");
  p.auth_type = 2;
  p.biz_appid = kAuthorizer;
  q = query_fields(f.platform.authorize_url(a, p));
  EXPECT_EQ(q["auth_type"], "2");
  EXPECT_EQ(q["biz_appid"], kAuthorizer);
  EXPECT_EQ(query_names(f.platform.authorize_url(a, p)).back(), "biz_appid");
}

TEST(WeChatComponentAuthorizeUrl, MobileLinkInBothForms) {
  Fixture f;
  AuthorizeParams p;
  p.state = "abc";
  p.pre_auth_code = kPreAuth;
  p.mobile = true;
  const std::string wxaopen = f.platform.authorize_url(make_app(), p);
  EXPECT_EQ(wxaopen.rfind(kOpen + "/wxaopen/safe/bindcomponent?action=bindcomponent&no_scan=1&component_appid=", 0), 0u)
      << wxaopen;
  EXPECT_EQ(wxaopen.substr(wxaopen.size() - 16), "#wechat_redirect");
  EXPECT_EQ(query_fields(wxaopen)["redirect_uri"], "https://mediax.example/oauth/callback?state=abc");
  EXPECT_EQ(query_fields(wxaopen)["auth_type"], "3");
  const std::string mp = f.platform.authorize_url(make_app({{"mobile_link", "mp"}}), p);
  EXPECT_EQ(mp.rfind(kMp + "/safe/bindcomponent?action=bindcomponent&no_scan=1&", 0), 0u) << mp;
  EXPECT_EQ(query_fields(mp)["pre_auth_code"], kPreAuth);
}

TEST(WeChatComponentAuthorizeUrl, RedirectUriOverrideKeepsItsQuery) {
  App a = make_app();
  AuthorizeParams p;
  p.state = "zz";
  p.redirect_uri = "https://other.example/cb?x=1";
  EXPECT_EQ(wc::redirect_uri_with_state(a, p), "https://other.example/cb?x=1&state=zz");
}

TEST(WeChatComponentCheckAuthorize, AcceptsItsChoicesAndRefusesOthersClearly) {
  Fixture f;
  App a = make_app();
  AuthorizeParams ok;
  ok.mobile = true;
  ok.auth_type = 3;
  ok.biz_appid = kAuthorizer;
  EXPECT_EQ(f.platform.check_authorize(a, ok), "");
  EXPECT_EQ(f.platform.check_authorize(a, AuthorizeParams{}), "");
  AuthorizeParams bad_type;
  bad_type.auth_type = 4;
  EXPECT_EQ(f.platform.check_authorize(a, bad_type).rfind("auth_type: ", 0), 0u);
  AuthorizeParams bad_biz;
  bad_biz.biz_appid = "x y";
  EXPECT_EQ(f.platform.check_authorize(a, bad_biz).rfind("biz_appid: ", 0), 0u);
  for (int i = 0; i < 4; ++i) {
    AuthorizeParams p;
    if (i == 0) p.scopes = {"1"};
    if (i == 1) p.prompt = "consent";
    if (i == 2) p.login_hint = "someone";
    if (i == 3) p.include_granted_scopes = true;
    const auto why = f.platform.check_authorize(a, p);
    EXPECT_NE(why.find("takes no scopes, prompt, login_hint or include_granted_scopes"), std::string::npos) << i;
  }
}

// ----- exchanging the auth_code -----

TEST(WeChatComponentExchangeCode, ReadsTheAuthorizationWithAndWithoutTheWrapper) {
  for (bool wrapped : {true, false}) {
    Fixture f;
    f.http.respond(200, query_auth_body(wrapped));
    Outcome o = f.platform.exchange_code(make_app(), kAuthCode, "", "https://mediax.example/oauth/callback");
    ASSERT_TRUE(o.ok()) << wrapped << " " << o.message;
    EXPECT_EQ(o.token.access_token, kAccess);
    EXPECT_EQ(o.token.refresh_token, kRefresh);
    EXPECT_FALSE(o.token.refresh_expires_in.has_value()) << "no expiry while authorized";
    EXPECT_EQ(o.token.expires_in, Seconds(7200));
    EXPECT_EQ(o.token.account_id, kAuthorizer);
    EXPECT_EQ(o.token.scopes, (std::vector<std::string>{"1", "15", "24"}));
    EXPECT_EQ(o.token.extra, (json{{"func_info", {1, 15, 24}}, {"authorized_via", "wechat_component"}}));
    ASSERT_EQ(f.http.requests.size(), 1u);
    EXPECT_EQ(path_of(f.http.requests[0]), "/cgi-bin/component/api_query_auth");
    EXPECT_EQ(query_fields(f.http.requests[0].url)["component_access_token"], kToken1);
    EXPECT_EQ(body_of(f.http.requests[0]),
              (json{{"component_appid", "wx0123456789component"}, {"authorization_code", kAuthCode}}));
  }
}

TEST(WeChatComponentExchangeCode, FuncIdsAsStringsAndOddEntriesAreTolerated) {
  json info = {
      {"authorizer_appid", kAuthorizer},
      {"authorizer_access_token", kAccess},
      {"authorizer_refresh_token", kRefresh},
      {"func_info", json::array({json{{"funcscope_category", {{"id", "7"}}}, {"confirm_info", {{"need_confirm", 0}}}},
                                 json{{"other", 1}}, json(3), json{{"funcscope_category", {{"id", "x"}}}}})}};
  Outcome o = wc::parse_query_auth(http_response(200, json{{"authorization_info", info}}.dump()), kNow, {});
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.scopes, std::vector<std::string>{"7"});
}

TEST(WeChatComponentExchangeCode, AnAccountWithoutApiPermissionNeedsAnotherAuthorization) {
  for (auto body :
       {query_auth_body(true, "", ""), query_auth_body(false, kAccess, ""), query_auth_body(true, "", kRefresh)}) {
    Outcome o = wc::parse_query_auth(http_response(200, body), kNow, {kAuthCode});
    EXPECT_EQ(o.kind, OutcomeKind::needs_reauth) << body;
    EXPECT_EQ(o.code, "no_api_permission");
    EXPECT_NE(o.message.find(kAuthorizer), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("no API permission"), std::string::npos) << o.message;
  }
  EXPECT_EQ(
      wc::parse_query_auth(http_response(200, json{{"authorization_info", json::object()}}.dump()), kNow, {}).code,
      "bad_response");
}

TEST(WeChatComponentExchangeCode, InvalidOrExpiredCodeMeansConnectAgain) {
  for (std::int64_t code : {61009, 61010}) {
    Fixture f;
    f.http.respond(200, error(code, "code is invalid"));
    Outcome o = f.platform.exchange_code(make_app(), kAuthCode, "", "");
    EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
    EXPECT_EQ(o.code, std::to_string(code));
    EXPECT_NE(o.message.find("connect again"), std::string::npos);
    EXPECT_EQ(f.http.requests.size(), 1u);
  }
}

// ----- refreshing a grant -----

TEST(WeChatComponentRefresh, SendsTheGrantsRefreshTokenAndReturnsTheOneWeChatAnswers) {
  for (const auto& answered : {kRefresh, kRefresh2}) {
    Fixture f;
    f.http.respond(200, authorizer_token_body(kAccess, answered));
    Outcome o = f.platform.refresh(make_app(), make_grant());
    ASSERT_TRUE(o.ok()) << o.message;
    EXPECT_EQ(o.token.access_token, kAccess);
    EXPECT_EQ(o.token.expires_in, Seconds(7200));
    EXPECT_EQ(o.token.refresh_token, answered) << "always the answered one: stored with the access token";
    ASSERT_EQ(f.http.requests.size(), 1u);
    const auto& r = f.http.requests[0];
    EXPECT_EQ(path_of(r), "/cgi-bin/component/api_authorizer_token");
    EXPECT_EQ(query_fields(r.url)["component_access_token"], kToken1);
    EXPECT_EQ(body_of(r), (json{{"component_appid", "wx0123456789component"},
                                {"authorizer_appid", kAuthorizer},
                                {"authorizer_refresh_token", kRefresh}}));
  }
  // An answer without a refresh token keeps the stored one.
  Fixture f;
  f.http.respond(200, json{{"authorizer_access_token", kAccess}, {"expires_in", 7200}}.dump());
  Outcome o = f.platform.refresh(make_app(), make_grant());
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o.token.refresh_token.has_value());
}

TEST(WeChatComponentRefresh, ARefusedComponentTokenIsRetriedOnceWithANewOne) {
  Fixture f;
  f.http.respond(200, error(40001, "invalid credential, access_token is invalid or not latest"));
  f.http.respond(200, authorizer_token_body(kAccess, kRefresh));
  Outcome o = f.platform.refresh(make_app(), make_grant());
  ASSERT_TRUE(o.ok()) << o.message;
  ASSERT_EQ(f.http.requests.size(), 2u);
  EXPECT_EQ(query_fields(f.http.requests[1].url)["component_access_token"], kToken2);
  EXPECT_EQ(body_of(f.http.requests[1])["authorizer_refresh_token"], kRefresh);

  // The credentials have no other token (a concurrent refresh already failed): no second call.
  Fixture g;
  g.creds.tokens = {kToken1};
  g.http.respond(200, error(40014, "invalid access_token"));
  Outcome p = g.platform.refresh(make_app(), make_grant());
  EXPECT_EQ(p.kind, OutcomeKind::retry_later);
  EXPECT_EQ(g.http.requests.size(), 1u) << "the credentials have no newer token: the same would be refused again";
}

TEST(WeChatComponentRefresh, RefusedRefreshTokenIsRecoveredWhenWeChatHoldsAnother) {
  Fixture f;
  f.http.respond(200, error(61023, "refresh_token is invalid"));
  f.http.respond(200, authorizer_info_body(kRefresh2));
  f.http.respond(200, authorizer_token_body(kAccess, kRefresh2));
  Outcome o = f.platform.refresh(make_app(), make_grant());
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.access_token, kAccess);
  EXPECT_EQ(o.token.refresh_token, kRefresh2);
  EXPECT_EQ(o.token.scopes, (std::vector<std::string>{"1", "2"}));
  ASSERT_EQ(f.http.requests.size(), 3u);
  EXPECT_EQ(path_of(f.http.requests[1]), "/cgi-bin/component/api_get_authorizer_info");
  EXPECT_EQ(body_of(f.http.requests[1]),
            (json{{"component_appid", "wx0123456789component"}, {"authorizer_appid", kAuthorizer}}));
  EXPECT_EQ(body_of(f.http.requests[2])["authorizer_refresh_token"], kRefresh2);

  // The answer omits the refresh token: the recovered one is returned for storing.
  Fixture g;
  g.http.respond(200, error(61023, "refresh_token is invalid"));
  g.http.respond(200, authorizer_info_body(kRefresh2));
  g.http.respond(200, json{{"authorizer_access_token", kAccess}, {"expires_in", 7200}}.dump());
  Outcome p = g.platform.refresh(make_app(), make_grant());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.token.refresh_token, kRefresh2);
}

TEST(WeChatComponentRefresh, RecoveryEndsInNeedsReauthWhenWeChatHoldsNothingBetter) {
  {
    SCOPED_TRACE("empty: the code was never exchanged");
    Fixture f;
    f.http.respond(200, error(61023, "refresh_token is invalid"));
    f.http.respond(200, authorizer_info_body(""));
    Outcome o = f.platform.refresh(make_app(), make_grant());
    EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
    EXPECT_EQ(o.code, "never_exchanged");
    EXPECT_NE(o.message.find("更新授权"), std::string::npos);
    EXPECT_EQ(f.http.requests.size(), 2u);
  }
  {
    SCOPED_TRACE("the same token: it would fail again");
    Fixture f;
    f.http.respond(200, error(61023, "refresh_token is invalid"));
    f.http.respond(200, authorizer_info_body(kRefresh));
    Outcome o = f.platform.refresh(make_app(), make_grant());
    EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
    EXPECT_EQ(o.code, "61023");
    EXPECT_EQ(f.http.requests.size(), 2u);
  }
  {
    SCOPED_TRACE("the recovered token fails too: once only");
    Fixture f;
    f.http.respond(200, error(61023, "refresh_token is invalid"));
    f.http.respond(200, authorizer_info_body(kRefresh2));
    f.http.respond(200, error(61023, "refresh_token is invalid"));
    f.http.respond(200, authorizer_info_body("another"));
    Outcome o = f.platform.refresh(make_app(), make_grant());
    EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
    EXPECT_EQ(o.code, "61023");
    EXPECT_EQ(f.http.requests.size(), 3u);
    EXPECT_EQ(f.http.pending(), 1u);
  }
  {
    SCOPED_TRACE("the account removed the authorization");
    Fixture f;
    f.http.respond(200, error(61023, "refresh_token is invalid"));
    f.http.respond(200, error(61003, "component is not authorized by this account"));
    Outcome o = f.platform.refresh(make_app(), make_grant());
    EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
    EXPECT_EQ(o.code, "61003");
  }
}

TEST(WeChatComponentRefresh, AccountNoLongerAuthorizingNeedsReauth) {
  Fixture f;
  f.http.respond(200, error(61003, "component is not authorized by this account rid: 1"));
  Outcome o = f.platform.refresh(make_app(), make_grant());
  EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
  EXPECT_NE(o.message.find("the account no longer authorizes this platform"), std::string::npos) << o.message;
  EXPECT_EQ(f.http.requests.size(), 1u);
}

TEST(WeChatComponentRefresh, ALostRefreshTokenIsReadFromWeChatFirst) {
  Fixture f;
  f.http.respond(200, authorizer_info_body(kRefresh2));
  f.http.respond(200, authorizer_token_body(kAccess, kRefresh2));
  Outcome o = f.platform.refresh(make_app(), make_grant(""));
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.refresh_token, kRefresh2);
  ASSERT_EQ(f.http.requests.size(), 2u);
  EXPECT_EQ(path_of(f.http.requests[0]), "/cgi-bin/component/api_get_authorizer_info");
}

TEST(WeChatComponentRecoverGrant, ReadsTheRefreshTokenAndRefreshesWithIt) {
  Fixture f;
  f.http.respond(200, authorizer_info_body(kRefresh));
  f.http.respond(200, authorizer_token_body(kAccess, kRefresh));
  Outcome o = f.platform.recover_grant(make_app(), make_grant());
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.access_token, kAccess);
  EXPECT_EQ(o.token.refresh_token, kRefresh);
  EXPECT_EQ(f.http.requests.size(), 2u) << "on demand the same token is tried";

  Fixture g;
  g.http.respond(200, authorizer_info_body(""));
  Outcome p = g.platform.recover_grant(make_app(), make_grant());
  EXPECT_EQ(p.kind, OutcomeKind::needs_reauth);
  EXPECT_EQ(p.code, "never_exchanged");
}

TEST(WeChatComponentRevoke, NoPlatformCallNotSupported) {
  Fixture f;
  Outcome o = f.platform.revoke(make_app(), make_grant());
  EXPECT_TRUE(o.ok());
  EXPECT_EQ(o.code, "not_supported");
  EXPECT_NE(o.message.find("mp.weixin.qq.com"), std::string::npos);
  EXPECT_TRUE(f.http.requests.empty());
}

TEST(WeChatComponentRegistry, RegisteredWithTheConfiguredUrls) {
  FakeHttpClient http;
  FakeCredentials creds;
  PlatformRegistry reg(http, settings(), nullptr, &creds);
  auto* p = dynamic_cast<WeChatComponentPlatform*>(reg.get("wechat_component"));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->api_base_url(), kApi);
  EXPECT_EQ(p->mp_base_url(), kMp);
  FakeHttpClient other;
  WeChatComponentPlatform defaults(other, {}, nullptr);
  EXPECT_EQ(defaults.api_base_url(), "https://api.weixin.qq.com");
  EXPECT_EQ(defaults.mp_base_url(), "https://mp.weixin.qq.com");
  EXPECT_EQ(defaults.open_base_url(), "https://open.weixin.qq.com");
  // The registry hands the credentials through.
  http.respond(200, json{{"component_access_token", kToken1}, {"expires_in", 7200}}.dump());
  EXPECT_TRUE(p->client_token(make_app(), {}).ok());
  EXPECT_EQ(creds.ticket_reads, 1);
}

TEST(WeChatComponentExchangeCode, ARefusedComponentTokenIsRetriedOnceWithTheNewOneAndTheSameCode) {
  Fixture f;
  f.http.respond(200, error(42001, "access_token expired"));
  f.http.respond(200, query_auth_body(true));
  Outcome o = f.platform.exchange_code(make_app({{"token_param", "access_token"}}), kAuthCode, "", "");
  ASSERT_TRUE(o.ok()) << o.message;
  ASSERT_EQ(f.http.requests.size(), 2u);
  EXPECT_EQ(query_fields(f.http.requests[0].url), (std::map<std::string, std::string>{{"access_token", kToken1}}));
  EXPECT_EQ(query_fields(f.http.requests[1].url), (std::map<std::string, std::string>{{"access_token", kToken2}}));
  EXPECT_EQ(body_of(f.http.requests[1])["authorization_code"], kAuthCode);
}

TEST(WeChatComponentRecoverGrant, ARefusedComponentTokenOnTheInfoCallIsRetriedOnce) {
  Fixture f;
  f.http.respond(200, error(40001, "invalid credential"));
  f.http.respond(200, authorizer_info_body(kRefresh2));
  f.http.respond(200, authorizer_token_body(kAccess, kRefresh2));
  Outcome o = f.platform.recover_grant(make_app(), make_grant());
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.refresh_token, kRefresh2);
  ASSERT_EQ(f.http.requests.size(), 3u);
  EXPECT_EQ(query_fields(f.http.requests[2].url)["component_access_token"], kToken2)
      << "the replaced token is used from then on";
}

TEST(WeChatComponentClientToken, StartPushAnswerInANormalStateIsReported) {
  Fixture f;
  f.http.respond(200, error(61005, "component ticket is expired"));
  f.http.respond(200, error(0, "in a normal state"));
  Outcome o = f.platform.client_token(make_app(), {});
  EXPECT_NE(o.message.find("api_start_push_ticket: in a normal state"), std::string::npos) << o.message;
}

// Onboarding beyond the browser callback: POST /v1/apps/{name}/grants with a code the creator's
// own app obtained (Douyin's mobile/H5 SDK, WeChat's app login, an OAuth 2.0 app running its own
// PKCE) and POST /v1/apps/{name}/grants/import with a refresh token from another system. Every
// code and token the fakes issued joins the leak check of the daemon's log (E2ETest::TearDown).
#include "crypto/crypto.hpp"
#include "platform_fixture.hpp"

namespace mediax::e2e {
namespace {

constexpr const char* kOwnRedirect = "https://app.example/own-callback";

// An OAuth 2.0 client of the fake with a second redirect URI: the creator's own app, which runs
// its own authorization with PKCE, and mediaxd, which is only handed the result.
class OwnAppOAuth2 : public E2ETest {
 protected:
  void register_own_app(FakeOAuth2& fake, const std::string& name) {
    client_id_ = random_hex("cid-", 12);
    secret_ = random_hex("csec-", 32);
    remember_secret(secret_);
    fake.register_client(client_id_, secret_, "client_secret_post", {daemon().callback_url(name), kOwnRedirect});
    auto r = daemon().post(
        "/v1/apps",
        {{"name", name},
         {"platform", "oauth2"},
         {"client_id", client_id_},
         {"client_secret", secret_},
         {"scopes", {"openid", "profile"}},
         {"endpoints", {{"authorize_url", fake.issuer() + "/authorize"}, {"token_url", fake.issuer() + "/token"}}}});
    require(r.status == 201, "POST /v1/apps: " + r.describe());
  }

  struct OwnCode {
    std::string code;
    std::string verifier;
  };
  // What the creator's app does: authorize at the fake with its own PKCE verifier and redirect URI.
  OwnCode own_app_code(FakeOAuth2& fake, const std::string& login) {
    OwnCode c;
    c.verifier = crypto::pkce_verifier();
    std::string url = fake.issuer() + "/authorize?response_type=code&client_id=" + client_id_ +
                      "&redirect_uri=" + test::url_encode(kOwnRedirect) + "&scope=openid%20profile&state=s1" +
                      "&code_challenge=" + crypto::pkce_challenge_s256(c.verifier) +
                      "&code_challenge_method=S256&login_hint=" + login;
    auto r = test::http_get(url);
    require(r.status == 302, "the fake did not redirect: " + r.describe());
    c.code = test::query_param(r.header("location"), "code").value_or("");
    require(!c.code.empty(), "no code in " + r.header("location"));
    remember_secret(c.code);
    return c;
  }

  // What the old token store holds: the refresh token of a code it exchanged itself.
  std::string old_system_refresh_token(FakeOAuth2& fake, const std::string& login) {
    const auto c = own_app_code(fake, login);
    auto r = test::http_post_form(fake.issuer() + "/token", {{"grant_type", "authorization_code"},
                                                             {"code", c.code},
                                                             {"redirect_uri", kOwnRedirect},
                                                             {"code_verifier", c.verifier},
                                                             {"client_id", client_id_},
                                                             {"client_secret", secret_}});
    require(r.status == 200, "the old system's code exchange failed: " + r.describe());
    const std::string rt = r.json().value("refresh_token", "");
    require(!rt.empty(), "no refresh token from the fake");
    remember_secret(rt);
    remember_secret(r.json().value("access_token", ""));
    return rt;
  }

  std::string served_token(std::int64_t id) {
    auto t = daemon().get("/v1/grants/" + std::to_string(id) + "/token");
    require(t.status == 200, "GET token: " + t.describe());
    const std::string at = t.json().value("access_token", "");
    remember_secret(at);
    return at;
  }

  std::string client_id_;
  std::string secret_;
};

TEST_F(OwnAppOAuth2, ACodeFromTheAppsOwnPkceFlowBecomesAGrantAndReconnectingAnswers200) {
  FakeOAuth2& fake = start_fake({.expires_in = 3600, .rotate_refresh = true, .issuer_path = ""});
  register_own_app(fake, "own");
  auto c = own_app_code(fake, "alice");
  auto r = daemon().post("/v1/apps/own/grants",
                         {{"code", c.code}, {"redirect_uri", kOwnRedirect}, {"code_verifier", c.verifier}});
  ASSERT_EQ(r.status, 201) << r.describe();
  json g = r.json();
  EXPECT_EQ(g.value("app", ""), "own");
  EXPECT_EQ(g.value("account_id", ""), "alice");
  EXPECT_EQ(g.value("status", ""), "active");
  EXPECT_TRUE(g["token_expires_at"].is_string()) << g.dump();
  EXPECT_TRUE(g["next_refresh_at"].is_string()) << g.dump();
  const std::int64_t id = as_id(g["id"]);
  EXPECT_EQ(grant(id), g) << "the answer is what GET /v1/grants/{id} shows";
  EXPECT_TRUE(fake.token_active(served_token(id)));
  EXPECT_EQ(r.body.find(c.code), std::string::npos);

  // The same account again (a new code): its grant is replaced, 200.
  auto again = own_app_code(fake, "alice");
  auto r2 = daemon().post("/v1/apps/own/grants",
                          {{"code", again.code}, {"redirect_uri", kOwnRedirect}, {"code_verifier", again.verifier}});
  ASSERT_EQ(r2.status, 200) << r2.describe();
  EXPECT_EQ(as_id(r2.json()["id"]), id);
  EXPECT_EQ(grants("own").size(), 1u);

  // A used code is refused by the platform: 422 naming its error, never the code.
  auto used = daemon().post("/v1/apps/own/grants",
                            {{"code", c.code}, {"redirect_uri", kOwnRedirect}, {"code_verifier", c.verifier}});
  EXPECT_EQ(used.status, 422) << used.describe();
  EXPECT_EQ(used.json().value("error", ""), "code_refused");
  EXPECT_EQ(used.json().value("platform_code", ""), "invalid_grant");
  EXPECT_EQ(used.json().value("class", ""), "needs_reauth");
  EXPECT_EQ(used.body.find(c.code), std::string::npos) << used.body;
  // Without the verifier the fake refuses too (PKCE binds the code to the app that asked).
  auto third = own_app_code(fake, "bob");
  auto nov = daemon().post("/v1/apps/own/grants", {{"code", third.code}, {"redirect_uri", kOwnRedirect}});
  EXPECT_EQ(nov.status, 422) << nov.describe();
  EXPECT_EQ(grants("own").size(), 1u);
}

TEST_F(OwnAppOAuth2, ImportingALiveRotatingRefreshTokenStoresTheRotatedOne) {
  FakeOAuth2& fake = start_fake({.expires_in = 4, .rotate_refresh = true, .issuer_path = ""});
  register_own_app(fake, "moved");
  const std::string old_rt = old_system_refresh_token(fake, "carol");
  const auto refreshes_before = fake.refreshes_of("carol");

  auto r = daemon().post("/v1/apps/moved/grants/import",
                         {{"account_id", "carol"}, {"refresh_token", old_rt}, {"scopes", {"profile"}}});
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.body.find(old_rt), std::string::npos) << "the refresh token is never echoed";
  json g = r.json();
  EXPECT_EQ(g.value("account_id", ""), "carol");
  EXPECT_EQ(g["scopes"], json({"openid", "profile"})) << "the platform's answer wins over the body";
  EXPECT_EQ(g.value("status", ""), "active");
  const std::int64_t id = as_id(g["id"]);
  EXPECT_GE(fake.refreshes_of("carol"), refreshes_before + 1) << "a refresh proves the token works";
  EXPECT_TRUE(fake.token_active(served_token(id)));

  // The fake rotated (the imported token is dead now): the daemon keeps refreshing with the new
  // one, never with the dead one.
  ASSERT_TRUE(eventually([&] { return fake.refreshes_of("carol") >= refreshes_before + 3; }, 20s, 200ms))
      << "refreshes after the import: " << fake.refreshes_of("carol") - refreshes_before;
  auto forced = daemon().post("/v1/grants/" + std::to_string(id) + "/refresh");
  ASSERT_EQ(forced.status, 200) << forced.describe();
  remember_secret(forced.json().value("access_token", ""));
  EXPECT_EQ(fake.stat("dead_refresh_token_uses"), 0) << "the daemon used the imported, rotated-out refresh token";
  EXPECT_EQ(grant(id).value("status", ""), "active");

  // Importing the dead token again: refused, 422, the grant untouched and nothing new stored.
  auto dead = daemon().post("/v1/apps/moved/grants/import", {{"account_id", "carol"}, {"refresh_token", old_rt}});
  EXPECT_EQ(dead.status, 422) << dead.describe();
  EXPECT_EQ(grants("moved").size(), 1u);
  EXPECT_EQ(grant(id).value("status", ""), "active");
}

TEST_F(OwnAppOAuth2, UnknownOrDeadRefreshTokensAreRefusedAndNothingIsStored) {
  FakeOAuth2& fake = start_fake({.expires_in = 3600, .rotate_refresh = false, .issuer_path = ""});
  register_own_app(fake, "imp");
  const std::string unknown = random_hex("rt-unknown-", 24);
  remember_secret(unknown);
  auto r = daemon().post(
      "/v1/apps/imp/grants/import",
      {{"account_id", "dave"}, {"refresh_token", unknown}, {"refresh_expires_at", "2099-01-01T00:00:00Z"}});
  EXPECT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(r.json().value("error", ""), "refresh_token_refused");
  EXPECT_EQ(r.json().value("platform_code", ""), "invalid_grant");
  EXPECT_EQ(r.body.find(unknown), std::string::npos);
  EXPECT_EQ(grants("imp").size(), 0u);

  // A platform that fails is 502, and nothing is stored either.
  const std::string live = old_system_refresh_token(fake, "erin");
  fake.fail({{"mode", "500"}, {"count", 1}, {"grant_type", "refresh_token"}});
  auto down = daemon().post("/v1/apps/imp/grants/import", {{"account_id", "erin"}, {"refresh_token", live}});
  EXPECT_EQ(down.status, 502) << down.describe();
  EXPECT_EQ(down.json().value("class", ""), "retry_later");
  EXPECT_EQ(grants("imp").size(), 0u);
  // ... and the same token imports once the platform is back.
  auto ok = daemon().post("/v1/apps/imp/grants/import", {{"account_id", "erin"}, {"refresh_token", live}});
  EXPECT_EQ(ok.status, 201) << ok.describe();
}

TEST_F(OwnAppOAuth2, BadRequestsAreRefusedBeforeThePlatformIsAsked) {
  FakeOAuth2& fake = start_fake({.expires_in = 3600, .rotate_refresh = false, .issuer_path = ""});
  register_own_app(fake, "strict");
  const auto token_requests = fake.stat("token_requests");
  auto nope = daemon().post("/v1/apps/nope/grants", {{"code", "c"}});
  EXPECT_EQ(nope.status, 404) << nope.describe();
  auto nope2 = daemon().post("/v1/apps/nope/grants/import", {{"account_id", "a"}, {"refresh_token", "r"}});
  EXPECT_EQ(nope2.status, 404) << nope2.describe();
  for (const char* path : {"/v1/apps/strict/grants", "/v1/apps/strict/grants/import"}) {
    auto bad = daemon().post_raw(path, "{\"code\": ", "application/json");
    EXPECT_EQ(bad.status, 400) << bad.describe();
    EXPECT_EQ(bad.json().value("error", ""), "invalid_json");
  }
  auto unknown_field = daemon().post("/v1/apps/strict/grants/import",
                                     {{"account_id", "a"}, {"refresh_token", "r"}, {"access_token", "x"}});
  EXPECT_EQ(unknown_field.status, 400) << unknown_field.describe();
  EXPECT_EQ(unknown_field.json().value("message", ""), "access_token: unknown field");
  auto bad_time = daemon().post("/v1/apps/strict/grants/import",
                                {{"account_id", "a"}, {"refresh_token", "r"}, {"refresh_expires_at", "next week"}});
  EXPECT_EQ(bad_time.status, 400) << bad_time.describe();
  EXPECT_EQ(fake.stat("token_requests"), token_requests) << "a bad request reached the platform";
  // Admin only: a reader key may read tokens, not add grants.
  const std::string reader = daemon().create_api_key("reader-onboarding", "reader");
  remember_secret(reader);
  HttpResult forbidden;
  eventually(  // until the daemon knows the new key
      [&] {
        forbidden = daemon().request("POST", "/v1/apps/strict/grants", reader, R"({"code":"c"})", "application/json");
        return forbidden.status != 401;
      },
      15s);
  EXPECT_EQ(forbidden.status, 403) << forbidden.describe();
  forbidden = daemon().request("POST", "/v1/apps/strict/grants/import", reader,
                               R"({"account_id":"a","refresh_token":"r"})", "application/json");
  EXPECT_EQ(forbidden.status, 403) << forbidden.describe();
}

class DouyinOnboardingE2E : public PlatformE2ETest {
 protected:
  DouyinOnboardingE2E() {
    platform_ = "douyin";
    fake_args_ = {"--expires-in", "4"};
  }
};

TEST_F(DouyinOnboardingE2E, ACodeFromTheMobileSdkBecomesAGrantWhoseTokenIsServedAndKeptFresh) {
  const std::string client_key = random_hex("aw", 16);
  const std::string secret = random_hex("dysec-", 32);
  remember_secret(secret);
  fake().control("/_fake/clients",
                 {{"client_key", client_key}, {"client_secret", secret}, {"redirect_uris", {daemon().callback_url()}}});
  register_app({{"name", "dymobile"},
                {"platform", "douyin"},
                {"client_id", client_key},
                {"client_secret", secret},
                {"scopes", {"user_info", "video.list"}}});
  // The creator's app authorizes at Douyin itself (the OpenSDK hands it the code); mediaxd never
  // saw this authorization start.
  auto fr = test::http_get(fake().base() + "/platform/oauth/connect/?client_key=" + client_key +
                           "&response_type=code&scope=user_info,video.list&redirect_uri=" +
                           test::url_encode(daemon().callback_url()) + "&state=from-the-app&login_hint=erin");
  ASSERT_EQ(fr.status, 302) << fr.describe();
  const std::string code = test::query_param(fr.header("location"), "code").value_or("");
  ASSERT_FALSE(code.empty()) << fr.header("location");
  remember_secret(code);

  auto r = daemon().post("/v1/apps/dymobile/grants", {{"code", code}});
  ASSERT_EQ(r.status, 201) << r.describe();
  const std::int64_t id = as_id(r.json()["id"]);
  EXPECT_EQ(r.json().value("account_id", ""), "open_erin");
  EXPECT_EQ(r.json()["scopes"], json({"user_info", "video.list"}));
  EXPECT_TRUE(r.json()["refresh_expires_at"].is_string()) << r.body;
  EXPECT_EQ(fake().stat("codes_exchanged"), 1);

  auto t = daemon().get("/v1/grants/" + std::to_string(id) + "/token");
  ASSERT_EQ(t.status, 200) << t.describe();
  const std::string first = t.json().value("access_token", "");
  remember_secret(first);
  EXPECT_TRUE(fake().token_active(first));
  EXPECT_EQ(published("dymobile", id), first);
  // Scheduled like a connected grant: refreshed before the 4-second token expires, again and again
  // (Douyin extends an unexpired token instead of issuing a new one, so its expiry moves on).
  const std::string first_expiry = r.json().value("token_expires_at", "");
  ASSERT_TRUE(eventually([&] { return fake().stat_in("refreshes_by_account", "open_erin") >= 2; }, 15s, 200ms))
      << "refreshes: " << fake().stat_in("refreshes_by_account", "open_erin");
  EXPECT_GT(grant(id).value("token_expires_at", ""), first_expiry);
  const std::string now_served = published("dymobile", id);
  EXPECT_TRUE(fake().token_active(now_served));
  EXPECT_EQ(fake().stat("dead_refresh_token_uses"), 0);

  // The code is single use: Douyin answers 10007, the API 422 naming it.
  auto again = daemon().post("/v1/apps/dymobile/grants", {{"code", code}});
  EXPECT_EQ(again.status, 422) << again.describe();
  EXPECT_EQ(again.json().value("platform_code", ""), "10007");
  EXPECT_EQ(again.body.find(code), std::string::npos) << again.body;
  EXPECT_EQ(grants("dymobile").size(), 1u);
}

class WeChatOnboardingE2E : public PlatformE2ETest {
 protected:
  WeChatOnboardingE2E() {
    platform_ = "wechat";
    fake_args_ = {"--expires-in", "3600"};
  }
};

TEST_F(WeChatOnboardingE2E, ACodeFromAppLoginBecomesAGrantWithItsUnionid) {
  const std::string appid = random_hex("wx", 16);
  const std::string secret = random_hex("wxsec-", 32);
  remember_secret(secret);
  fake().control("/_fake/clients",
                 {{"appid", appid}, {"secret", secret}, {"redirect_uris", {daemon().callback_url("wxapp")}}});
  register_app({{"name", "wxapp"}, {"platform", "wechat"}, {"client_id", appid}, {"client_secret", secret}});
  // The code of an authorization the daemon did not ask for (its state is never looked at).
  const std::string location = authorize_at_platform("wxapp", "frank").url;
  const std::string code = test::query_param(location, "code").value_or("");
  ASSERT_FALSE(code.empty()) << location;
  auto r = daemon().post("/v1/apps/wxapp/grants", {{"code", code}});
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.json().value("account_id", ""), "o_frank");
  EXPECT_EQ(r.json()["extra"].value("unionid", ""), "u_o_frank");
  EXPECT_FALSE(published("wxapp", as_id(r.json()["id"])).empty());
  // A used code: WeChat's 40163 (or 40029), 422.
  auto again = daemon().post("/v1/apps/wxapp/grants", {{"code", code}});
  EXPECT_EQ(again.status, 422) << again.describe();
  EXPECT_EQ(again.json().value("error", ""), "code_refused");
}

}  // namespace
}  // namespace mediax::e2e

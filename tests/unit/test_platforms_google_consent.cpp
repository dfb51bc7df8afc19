// Google's granular consent, the OpenID sub as the account, and the connection options (prompt,
// login_hint, include_granted_scopes, scopes per connection).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/jwt.hpp"
#include "fake_http_client.hpp"
#include "platform_test_util.hpp"
#include "platforms/google_platform.hpp"
#include "platforms/granted_scopes.hpp"
#include "platforms/id_token_verifier.hpp"
#include "rsa_test_keys.hpp"

using namespace mediax;
using mediax::testing::FakeHttpClient;
using mediax::testing::jwk_of;
using mediax::testing::other_test_key;
using mediax::testing::query_fields;
using mediax::testing::test_key;
using nlohmann::json;

namespace {

const std::string kAuth = "http://127.0.0.1:18004/o/oauth2/v2/auth";
const std::string kToken = "http://127.0.0.1:18004/token";
const std::string kJwks = "http://127.0.0.1:18004/oauth2/v3/certs";
const std::string kClientId = "1234-abc.apps.googleusercontent.com";
const std::string kDrive = "https://www.googleapis.com/auth/drive.readonly";
const std::string kYoutube = "https://www.googleapis.com/auth/youtube.readonly";
const std::string kEmailUrl = "https://www.googleapis.com/auth/userinfo.email";

PlatformSettings settings() {
  PlatformSettings s;
  s.urls["google"] = {{"auth_url", kAuth}, {"token_url", kToken}, {"jwks_url", kJwks}};
  return s;
}

App user_app(json options = json::object()) {
  App a;
  a.id = 31;
  a.name = "gg";
  a.platform = "google";
  a.client_id = kClientId;
  a.client_secret = "GOCSPX-secret-abcdef012345";
  a.scopes = {"openid", "email", kDrive, kYoutube};
  a.redirect_uri = "http://127.0.0.1:8080/oauth/callback";
  a.options = std::move(options);
  return a;
}

std::string id_token(const std::string& sub, json overrides = json::object(), const std::string& kid = "g1",
                     const std::string& pem = test_key().private_pem) {
  const auto now = to_unix(SysClock::now());
  json claims{{"iss", "https://accounts.google.com"},
              {"azp", kClientId},
              {"aud", kClientId},
              {"sub", sub},
              {"iat", now},
              {"exp", now + 3600}};
  claims.update(overrides);
  return crypto::sign_jwt_rs256(json{{"alg", "RS256"}, {"kid", kid}, {"typ", "JWT"}}.dump(), claims.dump(), pem).token;
}

std::string jwks(const std::string& kid = "g1", const std::string& public_pem = test_key().public_pem) {
  return json{{"keys", {jwk_of(public_pem, kid)}}}.dump();
}

std::string answer(const std::string& scope, const std::string& token) {
  json j{{"access_token", "ya29.access"},
         {"expires_in", 3599},
         {"refresh_token", "1//refresh"},
         {"scope", scope},
         {"token_type", "Bearer"}};
  if (!token.empty()) j["id_token"] = token;
  return j.dump();
}

Grant grant() {
  Grant g;
  g.id = 9;
  g.app_id = 31;
  g.account_id = "110169484474386276334";
  g.refresh_token = "1//refresh";
  return g;
}

}  // namespace

// ---- scope comparison

TEST(GrantedScopes, MissingIsWhatIsRequiredAndNotGrantedInOrder) {
  EXPECT_EQ(granted_scopes::missing({"openid", kDrive, kYoutube}, {"openid", kYoutube}),
            (std::vector<std::string>{kDrive}));
  EXPECT_TRUE(granted_scopes::missing({"openid", kDrive}, {kDrive, "openid", kYoutube}).empty());
  EXPECT_EQ(granted_scopes::missing({kYoutube, kDrive}, {}), (std::vector<std::string>{kYoutube, kDrive}));
}

TEST(GrantedScopes, GooglesUrlNamesOfEmailAndProfileCountAsTheShortOnes) {
  EXPECT_TRUE(granted_scopes::missing({"openid", "email", "profile"},
                                      {"openid", kEmailUrl, "https://www.googleapis.com/auth/userinfo.profile"})
                  .empty());
  EXPECT_TRUE(granted_scopes::missing({kEmailUrl}, {"email"}).empty());
  EXPECT_EQ(granted_scopes::missing({"email"}, {"openid"}), (std::vector<std::string>{"email"}));
}

TEST(GrantedScopes, RequiredScopesDefaultToEveryRequestedScope) {
  EXPECT_EQ(granted_scopes::required_of(user_app()), user_app().scopes);
  EXPECT_EQ(granted_scopes::required_of(user_app({{"required_scopes", {kDrive}}})), (std::vector<std::string>{kDrive}));
  EXPECT_FALSE(granted_scopes::check_required_option(user_app({{"required_scopes", {kDrive}}})).has_value());
  auto not_asked = granted_scopes::check_required_option(user_app({{"required_scopes", {"calendar"}}}));
  ASSERT_TRUE(not_asked.has_value());
  EXPECT_NE(not_asked->find("\"calendar\" is not one of the app's scopes"), std::string::npos) << *not_asked;
  EXPECT_TRUE(granted_scopes::check_required_option(user_app({{"required_scopes", "x"}})).has_value());
  EXPECT_TRUE(granted_scopes::check_required_option(user_app({{"required_scopes", {1}}})).has_value());
}

TEST(GrantedScopes, AnAnswerNamingScopesRecordsTheVerdictAndOneWithoutChangesNothing) {
  TokenResult partial;
  partial.scopes = {"openid", kEmailUrl, kYoutube};
  granted_scopes::record_missing(user_app(), partial);
  EXPECT_EQ(partial.extra["missing_scopes"], json::array({kDrive}));
  TokenResult full;
  full.scopes = {"openid", kEmailUrl, kYoutube, kDrive};
  granted_scopes::record_missing(user_app(), full);
  EXPECT_EQ(full.extra["missing_scopes"], json::array());
  TokenResult silent;
  granted_scopes::record_missing(user_app(), silent);
  EXPECT_FALSE(silent.extra.contains("missing_scopes"));
  EXPECT_EQ(granted_scopes::missing_of(partial.extra), (std::vector<std::string>{kDrive}));
  EXPECT_TRUE(granted_scopes::missing_of(json::object()).empty());
  EXPECT_TRUE(granted_scopes::missing_of(json{{"missing_scopes", "x"}}).empty());
}

// ---- authorization URL

TEST(GoogleConnectOptions, OpenidIsAlwaysAskedForFirst) {
  App app = user_app();
  app.scopes = {kDrive, "email"};
  FakeHttpClient http;
  GooglePlatform p(http, settings());
  EXPECT_EQ(query_fields(p.authorize_url(app, {"st", "ch", ""}))["scope"], "openid " + kDrive + " email");
  // Registration records it too, so the app shows what is asked for.
  App reg = user_app();
  reg.scopes = {kDrive};
  ASSERT_TRUE(google::prepare(reg).ok);
  EXPECT_EQ(reg.scopes, (std::vector<std::string>{"openid", kDrive}));
}

TEST(GoogleConnectOptions, PromptAlwaysKeepsConsentAndLoginHintIsPassedOn) {
  FakeHttpClient http;
  GooglePlatform p(http, settings());
  auto q = query_fields(
      p.authorize_url(user_app({{"prompt", "select_account"}, {"login_hint", "ops@example.com"}}), {"st", "ch", ""}));
  EXPECT_EQ(q["prompt"], "select_account consent");
  EXPECT_EQ(q["login_hint"], "ops@example.com");
  EXPECT_EQ(q["access_type"], "offline");
  // Per connection: wins over the app's options.
  AuthorizeParams ap{"st", "ch", ""};
  ap.prompt = "consent";
  ap.login_hint = "110169484474386276334";
  auto per =
      query_fields(p.authorize_url(user_app({{"prompt", "select_account"}, {"login_hint", "x@example.com"}}), ap));
  EXPECT_EQ(per["prompt"], "consent");
  EXPECT_EQ(per["login_hint"], "110169484474386276334");
  auto plain = query_fields(p.authorize_url(user_app(), {"st", "ch", ""}));
  EXPECT_EQ(plain["prompt"], "consent");
  EXPECT_EQ(plain.count("login_hint"), 0u);
}

TEST(GoogleConnectOptions, AskingAgainForMissingScopesCarriesIncludeGrantedScopes) {
  FakeHttpClient http;
  GooglePlatform p(http, settings());
  AuthorizeParams ap{"st", "ch", ""};
  ap.scopes = {kDrive};
  ap.include_granted_scopes = true;
  ap.login_hint = "110169484474386276334";
  EXPECT_EQ(p.check_authorize(user_app(), ap), "");
  auto q = query_fields(p.authorize_url(user_app(), ap));
  EXPECT_EQ(q["scope"], "openid " + kDrive);
  EXPECT_EQ(q["include_granted_scopes"], "true");
  EXPECT_EQ(q["login_hint"], "110169484474386276334");
  EXPECT_EQ(q["prompt"], "consent");
}

TEST(GoogleConnectOptions, PromptNoneAndUnknownValuesAreRefused) {
  FakeHttpClient http;
  GooglePlatform p(http, settings());
  AuthorizeParams ap{"st", "ch", ""};
  ap.prompt = "none";
  EXPECT_NE(p.check_authorize(user_app(), ap).find("refresh token"), std::string::npos);
  ap.prompt = "login";
  EXPECT_NE(p.check_authorize(user_app(), ap), "");
  ap.prompt = "select_account consent";
  EXPECT_EQ(p.check_authorize(user_app(), ap), "");
  App bad = user_app({{"prompt", "none"}});
  auto check = google::prepare(bad);
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.message.rfind("options.prompt:", 0), 0u) << check.message;
  App num = user_app({{"login_hint", 5}});
  EXPECT_FALSE(google::prepare(num).ok);
}

TEST(GoogleConnectOptions, OtherPlatformsTakeNoChoices) {
  struct Plain : Platform {
    std::string name() const override { return "plain"; }
    AppCheck prepare_app(App&) override { return {}; }
    bool uses_pkce(const App&) const override { return false; }
    std::string authorize_url(const App&, const AuthorizeParams&) const override { return ""; }
    Outcome exchange_code(const App&, const std::string&, const std::string&, const std::string&) override {
      return {};
    }
    Outcome refresh(const App&, const Grant&) override { return {}; }
    Outcome client_token(const App&, const AppTokenCall&) override { return {}; }
    Outcome revoke(const App&, const Grant&) override { return {}; }
  } plain;
  AuthorizeParams ap{"st", "ch", ""};
  EXPECT_EQ(plain.check_authorize(user_app(), ap), "");
  ap.login_hint = "a";
  EXPECT_NE(plain.check_authorize(user_app(), ap), "");
}

// ---- the code exchange: id_token and granted scopes

TEST(GoogleIdToken, TheVerifiedSubIsTheAccountAndPartialConsentIsRecorded) {
  FakeHttpClient http;
  http.respond(200, answer("openid " + kEmailUrl + " " + kYoutube, id_token("110169484474386276334")));
  http.respond(200, jwks(), {{"Cache-Control", "public, max-age=21600"}});
  GooglePlatform p(http, settings());
  auto o = p.exchange_code(user_app(), "code", "verifier", "");
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.account_id, "110169484474386276334");
  EXPECT_EQ(o.token.extra["missing_scopes"], json::array({kDrive}));
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_EQ(http.requests[1].url, kJwks);
  EXPECT_EQ(http.requests[1].method, "GET");
}

TEST(GoogleIdToken, KeysAreCachedAndFetchedAgainForAnUnknownKid) {
  FakeHttpClient http;
  http.respond(200, answer("openid", id_token("a")));
  http.respond(200, jwks());
  http.respond(200, answer("openid", id_token("b")));
  // Google rotated: a token signed with a key the cached set does not have.
  http.respond(200, answer("openid", id_token("c", json::object(), "g2", other_test_key().private_pem)));
  http.respond(200,
               json{{"keys", {jwk_of(test_key().public_pem, "g1"), jwk_of(other_test_key().public_pem, "g2")}}}.dump());
  GooglePlatform p(http, settings());
  App app = user_app({{"required_scopes", {"openid"}}});
  EXPECT_EQ(p.exchange_code(app, "c1", "v", "").token.account_id, "a");
  EXPECT_EQ(p.exchange_code(app, "c2", "v", "").token.account_id, "b");
  EXPECT_EQ(http.requests.size(), 3u) << "the second exchange used the cached keys";
  auto rotated = p.exchange_code(app, "c3", "v", "");
  ASSERT_TRUE(rotated.ok()) << rotated.message;
  EXPECT_EQ(rotated.token.account_id, "c");
  EXPECT_EQ(http.requests.size(), 5u);
  EXPECT_EQ(http.requests[4].url, kJwks);
}

TEST(GoogleIdToken, AForgedOrForeignIdTokenRefusesTheConnection) {
  struct Case {
    std::string name;
    std::string token;
  };
  const std::vector<Case> cases = {
      {"signed by another key", id_token("x", json::object(), "g1", other_test_key().private_pem)},
      {"for another client", id_token("x", {{"aud", "other.apps.googleusercontent.com"}, {"azp", "other"}})},
      {"from another issuer", id_token("x", {{"iss", "https://accounts.example.net"}})},
      {"expired", id_token("x", {{"iat", to_unix(SysClock::now()) - 7200}, {"exp", to_unix(SysClock::now()) - 3600}})},
      {"alg none", crypto::base64url_encode(R"({"alg":"none","kid":"g1"})") + "." +
                       crypto::base64url_encode(json{{"sub", "x"}}.dump()) + "."},
  };
  for (const auto& c : cases) {
    FakeHttpClient http;
    http.respond(200, answer("openid", c.token));
    http.respond(200, jwks());
    http.respond(200, jwks());
    GooglePlatform p(http, settings());
    auto o = p.exchange_code(user_app(), "code", "verifier", "");
    EXPECT_FALSE(o.ok()) << c.name;
    EXPECT_EQ(o.code, "invalid_id_token") << c.name;
    EXPECT_EQ(o.message.find(c.token), std::string::npos) << c.name;
    EXPECT_EQ(o.message.find("ya29.access"), std::string::npos) << c.name;
  }
}

TEST(GoogleIdToken, AnAnswerWithoutIdTokenOrUnreachableKeysConnectsNothing) {
  FakeHttpClient http;
  http.respond(200, answer("openid", ""));
  GooglePlatform p(http, settings());
  auto none = p.exchange_code(user_app(), "code", "verifier", "");
  EXPECT_EQ(none.code, "no_id_token");
  http.respond(200, answer("openid", id_token("a")));
  http.fail("timeout");
  auto down = p.exchange_code(user_app(), "code", "verifier", "");
  EXPECT_EQ(down.kind, OutcomeKind::retry_later);
  EXPECT_EQ(down.code, "jwks_unavailable");
}

TEST(GoogleIdToken, RefreshesRecordTheScopesTheTokenCarriesNowAndNeverChangeTheAccount) {
  FakeHttpClient http;
  http.respond(200, json{{"access_token", "ya29.2"},
                         {"expires_in", 3599},
                         {"scope", "openid " + kYoutube},
                         {"id_token", "whatever"},
                         {"sub", "someone-else"}}
                        .dump());
  http.respond(200, json{{"access_token", "ya29.3"}, {"expires_in", 3599}}.dump());
  GooglePlatform p(http, settings());
  App app = user_app({{"required_scopes", {"openid", kYoutube, kDrive}}});
  auto partial = p.refresh(app, grant());
  ASSERT_TRUE(partial.ok()) << partial.message;
  EXPECT_EQ(partial.token.extra["missing_scopes"], json::array({kDrive}));
  EXPECT_EQ(partial.token.account_id, "");
  auto silent = p.refresh(app, grant());
  ASSERT_TRUE(silent.ok());
  EXPECT_FALSE(silent.token.extra.contains("missing_scopes")) << "an answer without scope keeps what was recorded";
}

TEST(JwksCache, LifetimeFollowsMaxAgeWithinBounds) {
  EXPECT_EQ(jwks_cache_lifetime("public, max-age=21600, must-revalidate, no-transform"), Seconds(21600));
  EXPECT_EQ(jwks_cache_lifetime("max-age=10"), Seconds(300));
  EXPECT_EQ(jwks_cache_lifetime("Max-Age=999999999999"), Seconds(86400));
  EXPECT_EQ(jwks_cache_lifetime(""), Seconds(3600));
  EXPECT_EQ(jwks_cache_lifetime("no-store"), Seconds(3600));
  EXPECT_EQ(jwks_cache_lifetime("max-age=abc"), Seconds(3600));
}

TEST(JwksCache, AStaleSetIsFetchedAgain) {
  FakeHttpClient http;
  http.respond(200, jwks(), {{"Cache-Control", "max-age=600"}});
  http.respond(200, jwks());
  IdTokenVerifier v(http);
  crypto::JwtExpectations want;
  want.issuers = {"https://accounts.google.com"};
  want.audience = kClientId;
  want.now = SysClock::now();
  ASSERT_TRUE(v.verify(id_token("a"), kJwks, want).ok());
  want.now += Seconds(599);
  ASSERT_TRUE(v.verify(id_token("a"), kJwks, want).ok());
  EXPECT_EQ(http.requests.size(), 1u);
  want.now += Seconds(2);
  ASSERT_TRUE(v.verify(id_token("a"), kJwks, want).ok());
  EXPECT_EQ(http.requests.size(), 2u);
}

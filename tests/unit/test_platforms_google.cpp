#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "crypto/jwt.hpp"
#include "fake_http_client.hpp"
#include "platform_test_util.hpp"
#include "platforms/google_platform.hpp"
#include "platforms/registry.hpp"
#include "rsa_test_keys.hpp"

using namespace mediax;
using mediax::testing::expect_no_leak;
using mediax::testing::FakeHttpClient;
using mediax::testing::fields_of;
using mediax::testing::http_response;
using mediax::testing::jwt_part;
using mediax::testing::query_fields;
using mediax::testing::test_key;
using mediax::testing::verify_rs256;
using nlohmann::json;

namespace {

const std::string kAuth = "http://127.0.0.1:18004/o/oauth2/v2/auth";
const std::string kToken = "http://127.0.0.1:18004/token";
const std::string kRevoke = "http://127.0.0.1:18004/revoke";
const std::string kSecret = "GOCSPX-secret-abcdef012345";
const std::string kAccess = "ya29.a0AfH6SMB-access-123";
const std::string kRefresh = "1//0g-refresh-token-456789";
const std::string kCode = "4/0AX4XfWj-code-abcdef";
const std::string kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const std::string kEmail = "mediax@demo-project.iam.gserviceaccount.com";
const TimePoint kNow = from_unix(1780000000);

const std::string kJwks = "http://127.0.0.1:18004/oauth2/v3/certs";
const std::string kClientId = "1234-abc.apps.googleusercontent.com";

PlatformSettings settings() {
  PlatformSettings s;
  s.urls["google"] = {{"auth_url", kAuth}, {"token_url", kToken}, {"revoke_url", kRevoke}, {"jwks_url", kJwks}};
  return s;
}

// An id_token as Google signs it: RS256 with test_key() as key "g1", for kClientId, current.
std::string signed_id_token(const std::string& sub, nlohmann::json overrides = json::object(),
                            const std::string& kid = "g1") {
  const auto now = to_unix(SysClock::now());
  json claims{{"iss", "https://accounts.google.com"},
              {"azp", kClientId},
              {"aud", kClientId},
              {"sub", sub},
              {"iat", now},
              {"exp", now + 3600}};
  claims.update(overrides);
  auto r = crypto::sign_jwt_rs256(json{{"alg", "RS256"}, {"kid", kid}, {"typ", "JWT"}}.dump(), claims.dump(),
                                  test_key().private_pem);
  EXPECT_TRUE(r.ok()) << r.error;
  return r.token;
}

std::string google_jwks() { return json{{"keys", {mediax::testing::jwk_of(test_key().public_pem, "g1")}}}.dump(); }


google::Urls urls() { return google::urls_from(settings()); }

App user_app(json options = json::object()) {
  App a;
  a.id = 31;
  a.name = "gg";
  a.platform = "google";
  a.client_id = "1234-abc.apps.googleusercontent.com";
  a.client_secret = kSecret;
  a.scopes = {"openid", "email", "https://www.googleapis.com/auth/drive.readonly"};
  a.redirect_uri = "http://127.0.0.1:8080/oauth/callback";
  a.options = std::move(options);
  return a;
}

json key_file(const std::string& pem = test_key().private_pem) {
  return json{{"type", "service_account"},
              {"project_id", "demo-project"},
              {"private_key_id", "0123456789abcdef0123456789abcdef01234567"},
              {"private_key", pem},
              {"client_email", kEmail},
              {"client_id", "109876543210987654321"},
              {"auth_uri", "https://accounts.google.com/o/oauth2/auth"},
              {"token_uri", "https://oauth2.googleapis.com/token"}};
}

// A service-account app as registered: prepare_app has run.
App service_app(const std::string& subject = "") {
  App a;
  a.id = 32;
  a.name = "gsa";
  a.platform = "google";
  a.scopes = {"https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/drive"};
  a.options = {{"service_account", key_file()}};
  if (!subject.empty()) a.options["subject"] = subject;
  auto check = google::prepare(a);
  EXPECT_TRUE(check.ok) << check.message;
  return a;
}

Grant make_grant() {
  Grant g;
  g.id = 9;
  g.app_id = 31;
  g.account_id = "1170000000000";
  g.refresh_token = kRefresh;
  return g;
}

std::string id_token(const std::string& sub) {
  return crypto::base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
         crypto::base64url_encode(json{{"sub", sub}, {"iss", "https://accounts.google.com"}}.dump()) + ".c2ln";
}

Outcome parse(int status, const std::string& body, oauth2::Flow flow = oauth2::Flow::refresh_token) {
  return google::parse_token_response(http_response(status, body), flow, kNow, {kSecret, kRefresh, kCode});
}

}  // namespace

// ---- authorization

TEST(GoogleAuthorizeUrl, AsksForOfflineAccessWithConsentAndPkceS256) {
  FakeHttpClient http;
  GooglePlatform p(http, settings());
  App app = user_app();
  ASSERT_TRUE(p.uses_pkce(app));
  auto challenge = crypto::pkce_challenge_s256(kVerifier);
  auto url = p.authorize_url(app, {"st-1", challenge, ""});
  EXPECT_EQ(url.rfind(kAuth + "?", 0), 0u) << url;
  auto q = query_fields(url);
  EXPECT_EQ(q["client_id"], "1234-abc.apps.googleusercontent.com");
  EXPECT_EQ(q["redirect_uri"], "http://127.0.0.1:8080/oauth/callback");
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["scope"], "openid email https://www.googleapis.com/auth/drive.readonly");
  EXPECT_EQ(q["state"], "st-1");
  EXPECT_EQ(q["code_challenge"], challenge);
  EXPECT_EQ(q["code_challenge_method"], "S256");
  EXPECT_EQ(q["access_type"], "offline");
  EXPECT_EQ(q["prompt"], "consent");
  EXPECT_EQ(q.count("include_granted_scopes"), 0u);
  EXPECT_EQ(q.size(), 9u);
}

TEST(GoogleAuthorizeUrl, IncludeGrantedScopesIsAnOption) {
  FakeHttpClient http;
  GooglePlatform p(http, settings());
  auto q = query_fields(p.authorize_url(user_app({{"include_granted_scopes", true}}), {"st", "ch", ""}));
  EXPECT_EQ(q["include_granted_scopes"], "true");
  auto off = query_fields(p.authorize_url(user_app({{"include_granted_scopes", false}}), {"st", "ch", ""}));
  EXPECT_EQ(off.count("include_granted_scopes"), 0u);
}

TEST(GoogleAuthorizeUrl, ServiceAccountAppsHaveNone) {
  FakeHttpClient http;
  GooglePlatform p(http, settings());
  EXPECT_EQ(p.authorize_url(service_app(), {"st", "ch", ""}), "");
}

TEST(GoogleAuthorizeUrl, DefaultsAreGooglesRealEndpoints) {
  auto u = google::urls_from({});
  EXPECT_EQ(u.auth_url, "https://accounts.google.com/o/oauth2/v2/auth");
  EXPECT_EQ(u.token_url, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(u.revoke_url, "https://oauth2.googleapis.com/revoke");
}

// ---- token endpoint requests

TEST(GoogleRequests, CodeExchangeIsAFormPostWithVerifier) {
  auto r = google::build_code_request(urls(), user_app(), kCode, kVerifier, "http://127.0.0.1:8080/oauth/callback");
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, kToken);
  EXPECT_EQ(r.content_type, "application/x-www-form-urlencoded");
  auto f = fields_of(r.body);
  EXPECT_EQ(f["grant_type"], "authorization_code");
  EXPECT_EQ(f["code"], kCode);
  EXPECT_EQ(f["code_verifier"], kVerifier);
  EXPECT_EQ(f["redirect_uri"], "http://127.0.0.1:8080/oauth/callback");
  EXPECT_EQ(f["client_id"], "1234-abc.apps.googleusercontent.com");
  EXPECT_EQ(f["client_secret"], kSecret);
  EXPECT_EQ(f.size(), 6u);
}

TEST(GoogleRequests, RefreshSendsClientCredentialsAndTheRefreshToken) {
  auto r = google::build_refresh_request(urls(), user_app(), kRefresh);
  EXPECT_EQ(r.url, kToken);
  auto f = fields_of(r.body);
  EXPECT_EQ(f["grant_type"], "refresh_token");
  EXPECT_EQ(f["refresh_token"], kRefresh);
  EXPECT_EQ(f["client_id"], "1234-abc.apps.googleusercontent.com");
  EXPECT_EQ(f["client_secret"], kSecret);
  EXPECT_EQ(f.size(), 4u);
}

TEST(GoogleRequests, RevokePostsOnlyTheToken) {
  auto r = google::build_revoke_request(urls(), kRefresh);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, kRevoke);
  EXPECT_EQ(r.content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(fields_of(r.body), (std::map<std::string, std::string>{{"token", kRefresh}}));
}

// ---- parsing

TEST(GoogleParse, CodeExchangeTakesTheAccountFromTheIdToken) {
  auto o = parse(200,
                 json{{"access_token", kAccess},
                      {"expires_in", 3599},
                      {"refresh_token", kRefresh},
                      {"scope", "openid email"},
                      {"token_type", "Bearer"},
                      {"id_token", id_token("1170000000000")}}
                     .dump(),
                 oauth2::Flow::authorization_code);
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.account_id, "1170000000000");
  EXPECT_EQ(o.token.refresh_token.value_or(""), kRefresh);
  EXPECT_EQ(o.token.expires_in, Seconds(3599));
  EXPECT_EQ(o.token.scopes, (std::vector<std::string>{"openid", "email"}));
}

TEST(GoogleParse, RefreshAnswerWithoutRefreshTokenKeepsTheStoredOne) {
  auto o = parse(200, json{{"access_token", kAccess}, {"expires_in", "3599"}, {"token_type", "Bearer"}}.dump());
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_FALSE(o.token.refresh_token.has_value());
  EXPECT_EQ(o.token.expires_in, Seconds(3599));
}

TEST(GoogleParse, ErrorsHaveGooglesClasses) {
  struct Case {
    int status;
    std::string error;
    oauth2::Flow flow;
    OutcomeKind kind;
  };
  using F = oauth2::Flow;
  using K = OutcomeKind;
  const std::vector<Case> cases = {
      {400, "invalid_grant", F::refresh_token, K::needs_reauth},
      {400, "invalid_grant", F::authorization_code, K::needs_reauth},
      {400, "invalid_grant", F::client_credentials, K::app_misconfigured},
      {401, "invalid_client", F::refresh_token, K::app_misconfigured},
      {401, "unauthorized_client", F::client_credentials, K::app_misconfigured},
      {401, "deleted_client", F::refresh_token, K::app_misconfigured},
      {400, "disabled_client", F::refresh_token, K::app_misconfigured},
      {400, "redirect_uri_mismatch", F::authorization_code, K::app_misconfigured},
      {400, "org_internal", F::authorization_code, K::app_misconfigured},
      {400, "admin_policy_enforced", F::refresh_token, K::needs_reauth},
      {400, "admin_policy_enforced", F::client_credentials, K::app_misconfigured},
      {400, "internal_failure", F::refresh_token, K::retry_later},
      {503, "temporarily_unavailable", F::refresh_token, K::retry_later},
      {500, "invalid_grant", F::refresh_token, K::retry_later},
      {400, "unsupported_grant_type", F::client_credentials, K::app_misconfigured},
  };
  for (const auto& c : cases) {
    auto o = parse(c.status, json{{"error", c.error}, {"error_description", "Bad Request"}}.dump(), c.flow);
    EXPECT_EQ(o.kind, c.kind) << c.error << " " << c.status;
    EXPECT_EQ(o.code, c.error);
  }
  auto timeout = parse(408, "");
  EXPECT_EQ(timeout.kind, OutcomeKind::retry_later);
  auto limited =
      google::parse_token_response(http_response(429, "", {{"Retry-After", "30"}}), oauth2::Flow::refresh_token, kNow);
  EXPECT_EQ(limited.kind, OutcomeKind::rate_limited);
  EXPECT_EQ(limited.retry_after, Seconds(30));
}

TEST(GoogleParse, RevokedRefreshTokenSaysSoWithoutTheToken) {
  auto o = parse(
      400,
      json{{"error", "invalid_grant"}, {"error_description", "Token has been expired or revoked: " + kRefresh}}.dump());
  EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
  EXPECT_NE(o.message.find("Token has been expired or revoked"), std::string::npos) << o.message;
  expect_no_leak(o, {kRefresh, kSecret});
}

// ---- the class: user grants

TEST(GooglePlatformUser, ExchangeRefreshAndRevokeGoToTheConfiguredUrls) {
  FakeHttpClient http;
  http.respond(200, json{{"access_token", kAccess},
                         {"expires_in", 3599},
                         {"refresh_token", kRefresh},
                         {"id_token", signed_id_token("alice-sub")}}
                        .dump());
  http.respond(200, google_jwks());
  http.respond(200, json{{"access_token", "ya29.second"}, {"expires_in", 3599}}.dump());
  http.respond(200, "");
  GooglePlatform p(http, settings());
  App app = user_app();
  auto ex = p.exchange_code(app, kCode, kVerifier, app.redirect_uri);
  ASSERT_TRUE(ex.ok()) << ex.message;
  EXPECT_EQ(ex.token.account_id, "alice-sub");
  auto rf = p.refresh(app, make_grant());
  ASSERT_TRUE(rf.ok()) << rf.message;
  EXPECT_FALSE(rf.token.refresh_token.has_value());
  auto rv = p.revoke(app, make_grant());
  EXPECT_TRUE(rv.ok()) << rv.message;
  EXPECT_NE(rv.code, "not_supported");
  ASSERT_EQ(http.requests.size(), 4u);
  EXPECT_EQ(http.requests[0].url, kToken);
  EXPECT_EQ(http.requests[1].url, kJwks);
  EXPECT_EQ(http.requests[2].url, kToken);
  EXPECT_EQ(http.requests[3].url, kRevoke);
  EXPECT_EQ(fields_of(http.requests[3].body)["token"], kRefresh);
}

TEST(GooglePlatformUser, RevokingAnAlreadyDeadTokenCountsAsRevoked) {
  FakeHttpClient http;
  http.respond(400, R"({"error":"invalid_token","error_description":"Token expired or revoked"})");
  GooglePlatform p(http, settings());
  EXPECT_TRUE(p.revoke(user_app(), make_grant()).ok());
}

// ---- service accounts

TEST(GoogleServiceAccount, PrepareMovesTheKeyIntoTheSecretAndKeepsOnlyItsIdentity) {
  App a;
  a.platform = "google";
  a.scopes = {"https://www.googleapis.com/auth/cloud-platform"};
  a.options = {{"service_account", key_file()}, {"subject", "admin@example.com"}};
  auto c = google::prepare(a);
  ASSERT_TRUE(c.ok) << c.message;
  EXPECT_EQ(a.client_id, kEmail);
  EXPECT_TRUE(a.client_credentials);
  EXPECT_EQ(json::parse(a.client_secret), key_file());
  EXPECT_EQ(a.options["service_account"], (json{{"client_email", kEmail},
                                                {"private_key_id", "0123456789abcdef0123456789abcdef01234567"},
                                                {"token_uri", "https://oauth2.googleapis.com/token"}}));
  EXPECT_EQ(a.options["subject"], "admin@example.com");
  EXPECT_EQ(a.options.dump().find("PRIVATE KEY"), std::string::npos);

  App named = a;
  named.client_id = "109876543210987654321";
  named.client_secret.clear();
  named.options = {{"service_account", key_file()}};
  ASSERT_TRUE(google::prepare(named).ok);
  EXPECT_EQ(named.client_id, "109876543210987654321") << "a given client_id is kept";
}

TEST(GoogleServiceAccount, PrepareRejectsBadKeysWithoutQuotingThem) {
  auto fails = [](json options, const std::string& needle, std::vector<std::string> scopes = {"s"},
                  std::string secret = "") {
    App a;
    a.platform = "google";
    a.scopes = std::move(scopes);
    a.client_secret = std::move(secret);
    a.options = std::move(options);
    auto c = google::prepare(a);
    EXPECT_FALSE(c.ok) << needle;
    EXPECT_NE(c.message.find(needle), std::string::npos) << c.message;
    EXPECT_EQ(c.message.find("PRIVATE KEY"), std::string::npos) << c.message;
    EXPECT_EQ(c.message.find(test_key().private_pem.substr(40, 20)), std::string::npos);
  };
  json k = key_file();
  k["type"] = "authorized_user";
  fails({{"service_account", k}}, "options.service_account.type");
  k = key_file();
  k.erase("client_email");
  fails({{"service_account", k}}, "options.service_account.client_email");
  k = key_file();
  k["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  fails({{"service_account", k}}, "options.service_account.private_key");
  k = key_file(test_key().public_pem);
  fails({{"service_account", k}}, "options.service_account.private_key");
  fails({{"service_account", "{\"type\":\"service_account\"}"}}, "options.service_account: must be");
  fails({{"service_account", key_file()}}, "scopes", {});
  fails({{"service_account", key_file()}}, "client_secret", {"s"}, "also-a-secret");
  fails({{"service_account", key_file()}, {"subject", "not-an-email"}}, "options.subject");
  fails({{"subject", "a@b.example"}}, "options.subject: only with");
  fails({{"service_account", key_file()}, {"keyfile", 1}}, "options.keyfile: unknown option");
  fails({{"include_granted_scopes", "yes"}}, "options.include_granted_scopes");
}

TEST(GoogleServiceAccount, UserAppsNeedIdSecretAndScopes) {
  auto check = [](App a) { return google::prepare(a); };
  App ok = user_app({{"include_granted_scopes", true}});
  EXPECT_TRUE(check(ok).ok);
  App a = user_app();
  a.client_secret.clear();
  EXPECT_NE(check(a).message.find("client_secret"), std::string::npos);
  a = user_app();
  a.client_id.clear();
  EXPECT_NE(check(a).message.find("client_id"), std::string::npos);
  a = user_app();
  a.scopes.clear();
  EXPECT_NE(check(a).message.find("scopes"), std::string::npos);
  a = user_app();
  a.client_credentials = true;
  EXPECT_NE(check(a).message.find("service_account"), std::string::npos);
  a = user_app();
  a.endpoints.token_url = "https://elsewhere/token";
  EXPECT_NE(check(a).message.find("endpoints"), std::string::npos);
}

TEST(GoogleServiceAccount, AssertionClaimsFollowGooglesRules) {
  google::ServiceAccountKey key{kEmail, "kid-1", test_key().private_pem, ""};
  auto h = google::assertion_header(key);
  EXPECT_EQ(h, (json{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "kid-1"}}));
  auto c = google::assertion_claims(key, {"a", "b"}, kToken, "", kNow);
  EXPECT_EQ(c["iss"], kEmail);
  EXPECT_EQ(c["scope"], "a b");
  EXPECT_EQ(c["aud"], kToken);
  EXPECT_EQ(c["iat"].get<std::int64_t>(), to_unix(kNow) - google::kClockSkew);
  EXPECT_EQ(c["exp"].get<std::int64_t>() - c["iat"].get<std::int64_t>(), 3600);
  EXPECT_FALSE(c.contains("sub"));
  EXPECT_EQ(google::assertion_claims(key, {"a"}, kToken, "u@example.com", kNow)["sub"], "u@example.com");
  key.private_key_id.clear();
  EXPECT_FALSE(google::assertion_header(key).contains("kid"));
}

TEST(GoogleServiceAccount, ClientTokenPostsASignedJwtBearerAssertion) {
  FakeHttpClient http;
  http.respond(200, R"({"access_token":"ya29.c.service-token","expires_in":3599,"token_type":"Bearer"})");
  GooglePlatform p(http, settings());
  App app = service_app("admin@example.com");
  const auto before = to_unix(SysClock::now());
  auto o = p.client_token(app, {});
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.access_token, "ya29.c.service-token");
  EXPECT_EQ(o.token.expires_in, Seconds(3599));
  EXPECT_FALSE(o.token.refresh_token.has_value());

  ASSERT_EQ(http.requests.size(), 1u);
  const auto& r = http.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, kToken);
  EXPECT_EQ(r.content_type, "application/x-www-form-urlencoded");
  auto f = fields_of(r.body);
  EXPECT_EQ(f["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
  EXPECT_EQ(f.size(), 2u);
  const std::string jwt = f["assertion"];
  EXPECT_TRUE(verify_rs256(jwt, test_key().public_pem)) << "the signature must verify with the key's public half";
  EXPECT_FALSE(verify_rs256(jwt, mediax::testing::other_test_key().public_pem));
  auto header = json::parse(jwt_part(jwt, 0).value_or("null"));
  EXPECT_EQ(header, (json{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "0123456789abcdef0123456789abcdef01234567"}}));
  auto claims = json::parse(jwt_part(jwt, 1).value_or("null"));
  EXPECT_EQ(claims["iss"], kEmail);
  EXPECT_EQ(claims["aud"], kToken) << "aud is the token URL the assertion is posted to";
  EXPECT_EQ(claims["scope"], "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/drive");
  EXPECT_EQ(claims["sub"], "admin@example.com");
  auto iat = claims["iat"].get<std::int64_t>();
  EXPECT_GE(iat, before - google::kClockSkew - 2);
  EXPECT_LE(iat, before + 2);
  EXPECT_EQ(claims["exp"].get<std::int64_t>(), iat + 3600);
  // The body carries no private key material and no client secret.
  EXPECT_EQ(r.body.find("PRIVATE"), std::string::npos);
}

TEST(GoogleServiceAccount, RefusedAssertionIsAnAppProblemAndLeaksNothing) {
  FakeHttpClient http;
  http.respond(400, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})");
  GooglePlatform p(http, settings());
  App app = service_app();
  auto o = p.client_token(app, AppTokenCall::forced());
  EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(o.code, "invalid_grant");
  EXPECT_EQ(o.message, "Invalid JWT Signature.");
  auto assertion = fields_of(http.requests.at(0).body)["assertion"];
  expect_no_leak(o, {assertion, app.client_secret, test_key().private_pem.substr(64, 32)});
}

TEST(GoogleServiceAccount, UserAppsAndBrokenStoredKeysGetNoToken) {
  FakeHttpClient http;
  GooglePlatform p(http, settings());
  auto user = p.client_token(user_app(), {});
  EXPECT_EQ(user.kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(user.code, "no_service_account");
  App broken = service_app();
  broken.client_secret = "not json";
  auto b = p.client_token(broken, {});
  EXPECT_EQ(b.kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(b.code, "bad_service_account");
  EXPECT_TRUE(http.requests.empty());
}

TEST(GoogleRegistry, IsRegisteredWithTheConfiguredUrls) {
  FakeHttpClient http;
  PlatformRegistry reg(http, settings());
  auto* p = dynamic_cast<GooglePlatform*>(reg.get("google"));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->urls().auth_url, kAuth);
  EXPECT_EQ(p->urls().token_url, kToken);
  EXPECT_EQ(p->urls().revoke_url, kRevoke);
}

// The generic platform with an OpenID provider found by discovery: the id_token's sub becomes the
// account only after its signature (the provider's jwks_uri), issuer, audience and expiry check out.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/jwt.hpp"
#include "fake_http_client.hpp"
#include "platform_test_util.hpp"
#include "platforms/oauth2_platform.hpp"
#include "rsa_test_keys.hpp"

using namespace mediax;
using mediax::testing::FakeHttpClient;
using mediax::testing::jwk_of;
using mediax::testing::other_test_key;
using mediax::testing::query_fields;
using mediax::testing::test_key;
using nlohmann::json;

namespace {

const std::string kIssuer = "https://idp.example/tenant";

App discovered_app() {
  App a;
  a.id = 7;
  a.name = "crm";
  a.platform = "oauth2";
  a.client_id = "crm-client";
  a.client_secret = "s3cret-value-123";
  a.scopes = {"openid", "offline_access"};
  a.issuer = kIssuer;
  a.endpoints.authorize_url = kIssuer + "/authorize";
  a.endpoints.token_url = kIssuer + "/token";
  a.redirect_uri = "http://127.0.0.1:8080/oauth/callback";
  return a;
}

std::string discovery(bool with_jwks = true) {
  json d{
      {"issuer", kIssuer}, {"authorization_endpoint", kIssuer + "/authorize"}, {"token_endpoint", kIssuer + "/token"}};
  if (with_jwks) d["jwks_uri"] = kIssuer + "/jwks";
  return d.dump();
}

std::string id_token(const std::string& sub, const std::string& pem = test_key().private_pem,
                     const std::string& aud = "crm-client") {
  const auto now = to_unix(SysClock::now());
  json claims{{"iss", kIssuer}, {"aud", aud}, {"sub", sub}, {"iat", now}, {"exp", now + 300}};
  return crypto::sign_jwt_rs256(json{{"alg", "RS256"}, {"kid", "k1"}}.dump(), claims.dump(), pem).token;
}

std::string answer(const std::string& token) {
  return json{{"access_token", "at-1"}, {"expires_in", 300}, {"refresh_token", "rt-1"}, {"id_token", token}}.dump();
}

std::string jwks() { return json{{"keys", {jwk_of(test_key().public_pem, "k1")}}}.dump(); }

}  // namespace

TEST(OAuth2IdToken, ADiscoveredProvidersIdTokenIsVerifiedWithItsJwks) {
  FakeHttpClient http;
  http.respond(200, answer(id_token("olivia")));
  http.respond(200, discovery());
  http.respond(200, jwks());
  http.respond(200, answer(id_token("paul")));
  OAuth2Platform p(http, {});
  auto o = p.exchange_code(discovered_app(), "code", "verifier", "");
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.account_id, "olivia");
  ASSERT_EQ(http.requests.size(), 3u);
  EXPECT_EQ(http.requests[1].url, kIssuer + "/.well-known/openid-configuration");
  EXPECT_EQ(http.requests[2].url, kIssuer + "/jwks");
  // Discovery and keys are kept.
  EXPECT_EQ(p.exchange_code(discovered_app(), "code2", "verifier", "").token.account_id, "paul");
  EXPECT_EQ(http.requests.size(), 4u);
}

TEST(OAuth2IdToken, AForgedIdTokenIsRefused) {
  FakeHttpClient http;
  http.respond(200, answer(id_token("mallory", other_test_key().private_pem)));
  http.respond(200, discovery());
  http.respond(200, jwks());
  http.respond(200, answer(id_token("mallory", test_key().private_pem, "someone-else")));
  OAuth2Platform p(http, {});
  auto forged = p.exchange_code(discovered_app(), "code", "verifier", "");
  EXPECT_EQ(forged.code, "invalid_id_token");
  EXPECT_NE(forged.message.find("signature"), std::string::npos) << forged.message;
  auto foreign = p.exchange_code(discovered_app(), "code", "verifier", "");
  EXPECT_EQ(foreign.code, "invalid_id_token");
}

TEST(OAuth2IdToken, WithoutKeysOrExplicitEndpointsTheSubIsReadAsSent) {
  FakeHttpClient http;
  http.respond(200, answer(id_token("quinn")));
  http.respond(200, discovery(/*with_jwks=*/false));
  OAuth2Platform p(http, {});
  auto o = p.exchange_code(discovered_app(), "code", "verifier", "");
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.account_id, "quinn");

  FakeHttpClient http2;
  http2.respond(200, answer(id_token("rita")));
  OAuth2Platform p2(http2, {});
  App explicit_app = discovered_app();
  explicit_app.issuer.clear();
  EXPECT_EQ(p2.exchange_code(explicit_app, "code", "verifier", "").token.account_id, "rita");
  EXPECT_EQ(http2.requests.size(), 1u);
}

TEST(OAuth2IdToken, PromptLoginHintAndScopesPerConnection) {
  FakeHttpClient http;
  OAuth2Platform p(http, {});
  AuthorizeParams ap{"st", "ch", ""};
  ap.prompt = "login consent";
  ap.login_hint = "olivia@example.com";
  ap.scopes = {"openid", "email"};
  EXPECT_EQ(p.check_authorize(discovered_app(), ap), "");
  auto q = query_fields(p.authorize_url(discovered_app(), ap));
  EXPECT_EQ(q["prompt"], "login consent");
  EXPECT_EQ(q["login_hint"], "olivia@example.com");
  EXPECT_EQ(q["scope"], "openid email");
  ap.include_granted_scopes = true;
  EXPECT_NE(p.check_authorize(discovered_app(), ap), "");
  ap.include_granted_scopes = false;
  ap.prompt = "select_everything";
  EXPECT_NE(p.check_authorize(discovered_app(), ap), "");
}

#include <gtest/gtest.h>

#include <map>

#include "crypto/crypto.hpp"
#include "fake_http_client.hpp"
#include "platforms/oauth2_platform.hpp"
#include "platforms/registry.hpp"
#include "util/url.hpp"

using namespace mediax;
using mediax::testing::FakeHttpClient;

namespace {

const std::string kSecret = "s3cret/with+special:chars";
const std::string kAccess = "AT-9f8e7d6c5b4a39281706";
const std::string kRefresh = "RT-0a1b2c3d4e5f60718293";
const std::string kCode = "CODE-5a4b3c2d1e0f";
const std::string kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

App make_app(const std::string& auth_method = "client_secret_post") {
  App a;
  a.id = 7;
  a.name = "demo";
  a.platform = "oauth2";
  a.client_id = "client:id";
  a.client_secret = kSecret;
  a.scopes = {"openid", "profile", "offline_access"};
  a.endpoints.authorize_url = "https://idp.example/authorize";
  a.endpoints.token_url = "https://idp.example/token";
  a.endpoints.revocation_url = "https://idp.example/revoke";
  a.token_auth_method = auth_method;
  a.redirect_uri = "http://127.0.0.1:8080/oauth/callback";
  return a;
}

Grant make_grant() {
  Grant g;
  g.id = 3;
  g.app_id = 7;
  g.account_id = "alice";
  g.refresh_token = kRefresh;
  return g;
}

std::map<std::string, std::string> form_of(const std::string& body) {
  std::map<std::string, std::string> m;
  for (auto& [k, v] : parse_query(body)) {
    EXPECT_EQ(m.count(k), 0u) << "duplicate field " << k;
    m[k] = v;
  }
  return m;
}

std::map<std::string, std::string> query_of(const std::string& url) {
  auto q = url.find('?');
  return q == std::string::npos ? std::map<std::string, std::string>{} : form_of(url.substr(q + 1));
}

std::string header_of(const HttpClientRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

// "Basic base64(urlencode(id):urlencode(secret))" -> {id, secret}, both decoded.
std::pair<std::string, std::string> basic_credentials(const std::string& header) {
  const std::string prefix = "Basic ";
  if (header.rfind(prefix, 0) != 0) return {};
  std::string b64 = header.substr(prefix.size());
  for (auto& c : b64) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  auto raw = crypto::base64url_decode(b64);
  if (!raw) return {};
  auto colon = raw->find(':');
  if (colon == std::string::npos) return {};
  auto id = parse_query("x=" + raw->substr(0, colon));
  auto secret = parse_query("x=" + raw->substr(colon + 1));
  return {id.at(0).second, secret.at(0).second};
}

std::string jwt_with(const nlohmann::json& claims) {
  return crypto::base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." + crypto::base64url_encode(claims.dump()) +
         ".c2lnbmF0dXJl";
}

HttpClientResponse response(int status, std::string body, HeaderList headers = {}) {
  HttpClientResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

const TimePoint kNow = from_unix(1445412480 - 120);

Outcome parse(int status, const std::string& body, oauth2::Flow flow = oauth2::Flow::refresh_token,
              HeaderList headers = {}) {
  return oauth2::parse_token_response(response(status, body, std::move(headers)), flow, kNow);
}

void expect_no_secret(const Outcome& o) {
  for (const auto& s : {kSecret, kAccess, kRefresh, kCode, kVerifier}) {
    EXPECT_EQ(o.message.find(s), std::string::npos) << "message leaks " << s << ": " << o.message;
    EXPECT_EQ(o.code.find(s), std::string::npos) << "code leaks " << s << ": " << o.code;
  }
}

}  // namespace

// ---- authorization URL

TEST(OAuth2AuthorizeUrl, CarriesEveryParameterWithPkceS256) {
  FakeHttpClient http;
  OAuth2Platform p(http, {});
  App app = make_app();
  ASSERT_TRUE(p.uses_pkce(app));
  auto challenge = crypto::pkce_challenge_s256(kVerifier);
  auto url = p.authorize_url(app, {"state-123", challenge, "https://cb.example/back?x=1"});
  EXPECT_EQ(url.rfind("https://idp.example/authorize?", 0), 0u) << url;
  auto q = query_of(url);
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["client_id"], "client:id");
  EXPECT_EQ(q["redirect_uri"], "https://cb.example/back?x=1");
  EXPECT_EQ(q["scope"], "openid profile offline_access");
  EXPECT_EQ(q["state"], "state-123");
  EXPECT_EQ(q["code_challenge"], challenge);
  EXPECT_EQ(q["code_challenge_method"], "S256");
  EXPECT_EQ(q.size(), 7u);
  EXPECT_NE(url.find("scope=openid%20profile%20offline_access"), std::string::npos);
  EXPECT_TRUE(http.requests.empty());
}

TEST(OAuth2AuthorizeUrl, AppendsToAnExistingQueryAndDefaultsTheRedirectUri) {
  FakeHttpClient http;
  OAuth2Platform p(http, {});
  App app = make_app();
  app.endpoints.authorize_url = "https://idp.example/authorize?tenant=acme";
  auto url = p.authorize_url(app, {"st", "ch", ""});
  EXPECT_EQ(url.rfind("https://idp.example/authorize?tenant=acme&response_type=code&", 0), 0u) << url;
  auto q = query_of(url);
  EXPECT_EQ(q["tenant"], "acme");
  EXPECT_EQ(q["redirect_uri"], app.redirect_uri);
}

TEST(OAuth2AuthorizeUrl, OmitsPkceWhenTheAppDisablesItAndScopeWhenThereIsNone) {
  FakeHttpClient http;
  OAuth2Platform p(http, {});
  App app = make_app();
  app.options = {{"pkce", false}};
  app.scopes.clear();
  EXPECT_FALSE(p.uses_pkce(app));
  auto q = query_of(p.authorize_url(app, {"st", "challenge", ""}));
  EXPECT_EQ(q.count("code_challenge"), 0u);
  EXPECT_EQ(q.count("code_challenge_method"), 0u);
  EXPECT_EQ(q.count("scope"), 0u);
  EXPECT_EQ(q["state"], "st");
}

// ---- request building

TEST(OAuth2ExchangeCode, PostsTheCodeAndVerifierWithSecretInBody) {
  FakeHttpClient http;
  http.respond(200, R"({"access_token":")" + kAccess + R"(","token_type":"Bearer","expires_in":3600})");
  OAuth2Platform p(http, {});
  auto o = p.exchange_code(make_app(), kCode, kVerifier, "http://127.0.0.1:8080/oauth/callback");
  ASSERT_TRUE(o.ok()) << o.message;
  ASSERT_EQ(http.requests.size(), 1u);
  const auto& r = http.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://idp.example/token");
  EXPECT_EQ(r.content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(header_of(r, "Accept"), "application/json");
  EXPECT_EQ(header_of(r, "Authorization"), "");
  auto f = form_of(r.body);
  EXPECT_EQ(f["grant_type"], "authorization_code");
  EXPECT_EQ(f["code"], kCode);
  EXPECT_EQ(f["redirect_uri"], "http://127.0.0.1:8080/oauth/callback");
  EXPECT_EQ(f["code_verifier"], kVerifier);
  EXPECT_EQ(f["client_id"], "client:id");
  EXPECT_EQ(f["client_secret"], kSecret);
  EXPECT_EQ(f.size(), 6u);
}

TEST(OAuth2ExchangeCode, ClientSecretBasicSendsUrlEncodedCredentialsInTheHeaderOnly) {
  FakeHttpClient http;
  http.respond(200, R"({"access_token":")" + kAccess + R"("})");
  OAuth2Platform p(http, {});
  ASSERT_TRUE(p.exchange_code(make_app("client_secret_basic"), kCode, kVerifier, "").ok());
  const auto& r = http.requests.at(0);
  auto header = header_of(r, "Authorization");
  // base64("client%3Aid:s3cret%2Fwith%2Bspecial%3Achars"): the ':' inside the id must not split it.
  EXPECT_EQ(header, "Basic " + crypto::base64_encode("client%3Aid:s3cret%2Fwith%2Bspecial%3Achars"));
  auto [id, secret] = basic_credentials(header);
  EXPECT_EQ(id, "client:id");
  EXPECT_EQ(secret, kSecret);
  auto f = form_of(r.body);
  EXPECT_EQ(f.count("client_secret"), 0u);
  EXPECT_EQ(f.count("client_id"), 0u);
  EXPECT_EQ(f["redirect_uri"], make_app().redirect_uri);
}

TEST(OAuth2Refresh, SendsTheRefreshTokenWithoutScope) {
  FakeHttpClient http;
  http.respond(200, R"({"access_token":")" + kAccess + R"(","expires_in":600})");
  OAuth2Platform p(http, {});
  ASSERT_TRUE(p.refresh(make_app(), make_grant()).ok());
  auto f = form_of(http.requests.at(0).body);
  EXPECT_EQ(f["grant_type"], "refresh_token");
  EXPECT_EQ(f["refresh_token"], kRefresh);
  EXPECT_EQ(f.count("scope"), 0u);
  EXPECT_EQ(f["client_secret"], kSecret);
}

TEST(OAuth2Refresh, BasicAuthRefreshKeepsTheSecretOutOfTheBody) {
  FakeHttpClient http;
  http.respond(200, R"({"access_token":")" + kAccess + R"("})");
  OAuth2Platform p(http, {});
  ASSERT_TRUE(p.refresh(make_app("client_secret_basic"), make_grant()).ok());
  const auto& r = http.requests.at(0);
  EXPECT_EQ(basic_credentials(header_of(r, "Authorization")).second, kSecret);
  EXPECT_EQ(r.body.find("s3cret"), std::string::npos);
  EXPECT_EQ(form_of(r.body).size(), 2u);
}

TEST(OAuth2Refresh, WithoutARefreshTokenNeedsReauthAndSendsNothing) {
  FakeHttpClient http;
  OAuth2Platform p(http, {});
  Grant g = make_grant();
  g.refresh_token.clear();
  auto o = p.refresh(make_app(), g);
  EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
  EXPECT_EQ(o.code, "no_refresh_token");
  EXPECT_TRUE(http.requests.empty());
}

TEST(OAuth2ClientToken, AsksForClientCredentialsWithSpaceSeparatedScopes) {
  FakeHttpClient http;
  http.respond(200, R"({"access_token":")" + kAccess + R"(","expires_in":"7200"})");
  OAuth2Platform p(http, {});
  auto o = p.client_token(make_app(), {});
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.expires_in, Seconds(7200));
  auto f = form_of(http.requests.at(0).body);
  EXPECT_EQ(f["grant_type"], "client_credentials");
  EXPECT_EQ(f["scope"], "openid profile offline_access");
  EXPECT_EQ(f["client_id"], "client:id");
}

TEST(OAuth2ClientToken, SendsNoScopeWhenTheAppHasNone) {
  App app = make_app("client_secret_basic");
  app.scopes.clear();
  auto f = form_of(oauth2::build_client_credentials_request(app).body);
  EXPECT_EQ(f.size(), 1u);
  EXPECT_EQ(f["grant_type"], "client_credentials");
}

TEST(OAuth2Requests, PublicClientSendsItsIdAndNoSecret) {
  App app = make_app("client_secret_basic");
  app.client_secret.clear();
  auto r = oauth2::build_code_request(app, kCode, kVerifier, "");
  EXPECT_EQ(header_of(r, "Authorization"), "");
  auto f = form_of(r.body);
  EXPECT_EQ(f["client_id"], "client:id");
  EXPECT_EQ(f.count("client_secret"), 0u);
}

TEST(OAuth2Requests, MissingTokenEndpointIsAMisconfigurationWithoutARequest) {
  FakeHttpClient http;
  OAuth2Platform p(http, {});
  App app = make_app();
  app.endpoints.token_url.clear();
  auto o = p.client_token(app, AppTokenCall::forced());
  EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(o.code, "no_endpoint");
  EXPECT_TRUE(http.requests.empty());
}

// ---- successful responses

TEST(OAuth2TokenResponse, ReadsEveryStandardField) {
  auto o = parse(200, R"({"access_token":"at","token_type":"bearer","expires_in":3599,"refresh_token":"rt2",
                          "scope":"read  write","refresh_token_expires_in":"86400","unknown":{"x":1}})");
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.token.access_token, "at");
  EXPECT_EQ(o.token.token_type, "Bearer");
  EXPECT_EQ(o.token.expires_in, Seconds(3599));
  EXPECT_EQ(o.token.refresh_token, std::optional<std::string>("rt2"));
  EXPECT_EQ(o.token.refresh_expires_in, Seconds(86400));
  EXPECT_EQ(o.token.scopes, (std::vector<std::string>{"read", "write"}));
  EXPECT_EQ(o.http_status, 200);
}

TEST(OAuth2TokenResponse, AcceptsNumbersAsStrings) {
  auto o = parse(200, R"({"access_token":"at","expires_in":"1296000"})");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o.token.expires_in, Seconds(1296000));
  o = parse(200, R"({"access_token":"at","expires_in":3600.7})");
  EXPECT_EQ(o.token.expires_in, Seconds(3600));
}

TEST(OAuth2TokenResponse, MissingOrUnusableExpiresInIsUnknown) {
  for (const char* body : {R"({"access_token":"at"})", R"({"access_token":"at","expires_in":null})",
                           R"({"access_token":"at","expires_in":"soon"})", R"({"access_token":"at","expires_in":0})",
                           R"({"access_token":"at","expires_in":-5})"}) {
    auto o = parse(200, body);
    ASSERT_TRUE(o.ok()) << body;
    EXPECT_FALSE(o.token.expires_in.has_value()) << body;
    EXPECT_EQ(o.token.token_type, "Bearer");
  }
}

TEST(OAuth2TokenResponse, RefreshWithoutRefreshTokenKeepsTheOldOne) {
  auto o = parse(200, R"({"access_token":"at","expires_in":3600})");
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o.token.refresh_token.has_value());
  o = parse(200, R"({"access_token":"at","refresh_token":""})");
  EXPECT_FALSE(o.token.refresh_token.has_value());
}

TEST(OAuth2TokenResponse, RotatedRefreshTokenIsReturned) {
  FakeHttpClient http;
  http.respond(200, R"({"access_token":")" + kAccess + R"(","refresh_token":"RT-rotated"})");
  OAuth2Platform p(http, {});
  auto o = p.refresh(make_app(), make_grant());
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o.token.access_token, kAccess);
  EXPECT_EQ(o.token.refresh_token, std::optional<std::string>("RT-rotated"));
}

TEST(OAuth2TokenResponse, CodeFlowTakesTheAccountFromTheIdTokenSubject) {
  auto body = nlohmann::json{
      {"access_token", "at"}, {"id_token", jwt_with({{"sub", "user-42"}, {"iss", "x"}})}, {"user_id", "ignored"}};
  auto o = parse(200, body.dump(), oauth2::Flow::authorization_code);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o.token.account_id, "user-42");
}

TEST(OAuth2TokenResponse, AccountFallsBackToIdFieldsWhenThereIsNoReadableIdToken) {
  auto o = parse(200, R"({"access_token":"at","id_token":"not.a-jwt!.x","user_id":12345})",
                 oauth2::Flow::authorization_code);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o.token.account_id, "12345");
  o = parse(200, R"({"access_token":"at","open_id":"oid-1"})", oauth2::Flow::authorization_code);
  EXPECT_EQ(o.token.account_id, "oid-1");
  o = parse(200, R"({"access_token":"at"})", oauth2::Flow::authorization_code);
  EXPECT_EQ(o.token.account_id, "");
}

TEST(OAuth2TokenResponse, IdTokenIsOnlyTrustedInTheCodeFlow) {
  auto body = nlohmann::json{{"access_token", "at"}, {"id_token", jwt_with({{"sub", "user-42"}})}};
  auto o = parse(200, body.dump(), oauth2::Flow::refresh_token);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o.token.account_id, "");
}

TEST(OAuth2Jwt, ReadsSubjectAndRejectsWhatIsNotAJws) {
  EXPECT_EQ(oauth2::jwt_subject(jwt_with({{"sub", "abc"}})), "abc");
  EXPECT_EQ(oauth2::jwt_subject(jwt_with({{"iss", "abc"}})), "");
  EXPECT_EQ(oauth2::jwt_subject(""), "");
  EXPECT_EQ(oauth2::jwt_subject("a.b"), "");
  EXPECT_EQ(oauth2::jwt_subject("a.b.c.d.e"), "");
  EXPECT_EQ(oauth2::jwt_subject("x." + crypto::base64url_encode("[1,2]") + ".y"), "");
}

// ---- errors

TEST(OAuth2Errors, InvalidGrantNeedsReauthorization) {
  FakeHttpClient http;
  http.respond(400, R"({"error":"invalid_grant","error_description":"Token has been expired or revoked."})");
  OAuth2Platform p(http, {});
  auto o = p.refresh(make_app(), make_grant());
  EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
  EXPECT_EQ(o.code, "invalid_grant");
  EXPECT_EQ(o.message, "Token has been expired or revoked.");
  EXPECT_EQ(o.http_status, 400);
}

TEST(OAuth2Errors, ClientAndRequestErrorsAreAppMisconfigurations) {
  for (const char* code :
       {"invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "invalid_request"}) {
    for (auto flow :
         {oauth2::Flow::authorization_code, oauth2::Flow::refresh_token, oauth2::Flow::client_credentials}) {
      auto o =
          parse(code == std::string("invalid_client") ? 401 : 400, std::string(R"({"error":")") + code + R"("})", flow);
      EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured) << code;
      EXPECT_EQ(o.code, code);
      EXPECT_NE(o.message.find(code), std::string::npos) << o.message;
    }
  }
}

TEST(OAuth2Errors, ErrorsReportedWithHttp200AreStillErrors) {
  auto o = parse(200, R"({"error":"invalid_grant","error_description":"bad code"})");
  EXPECT_EQ(o.kind, OutcomeKind::needs_reauth);
  EXPECT_EQ(o.code, "invalid_grant");
}

TEST(OAuth2Errors, TooManyRequestsIsRateLimitedWithRetryAfterSeconds) {
  auto o = parse(429, "slow down", oauth2::Flow::client_credentials, {{"retry-after", "42"}});
  EXPECT_EQ(o.kind, OutcomeKind::rate_limited);
  EXPECT_EQ(o.code, "http_429");
  EXPECT_EQ(o.retry_after, Seconds(42));
  EXPECT_EQ(o.http_status, 429);
}

TEST(OAuth2Errors, RetryAfterMayBeAnHttpDate) {
  auto o = parse(429, "", oauth2::Flow::refresh_token, {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}});
  EXPECT_EQ(o.kind, OutcomeKind::rate_limited);
  EXPECT_EQ(o.retry_after, Seconds(120));
}

TEST(OAuth2RetryAfter, ParsesAllDateFormsAndRejectsGarbage) {
  EXPECT_EQ(oauth2::parse_retry_after(" 0 ", kNow), Seconds(0));
  EXPECT_EQ(oauth2::parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", kNow), Seconds(120));
  EXPECT_EQ(oauth2::parse_retry_after("Wed Oct 21 07:28:00 2015", kNow), Seconds(120));
  // A date in the past means "now".
  EXPECT_EQ(oauth2::parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", kNow), Seconds(0));
  EXPECT_FALSE(oauth2::parse_retry_after("", kNow).has_value());
  EXPECT_FALSE(oauth2::parse_retry_after("-5", kNow).has_value());
  EXPECT_FALSE(oauth2::parse_retry_after("soon", kNow).has_value());
  EXPECT_FALSE(oauth2::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT trailing", kNow).has_value());
  EXPECT_TRUE(oauth2::parse_retry_after("99999999999999999999999", kNow).has_value());
}

TEST(OAuth2Errors, ServerErrorsAreRetriedWhateverTheyClaim) {
  auto o = parse(503, "<html>down</html>", oauth2::Flow::refresh_token, {{"Retry-After", "5"}});
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
  EXPECT_EQ(o.code, "http_503");
  EXPECT_EQ(o.retry_after, Seconds(5));
  o = parse(500, R"({"error":"invalid_grant"})");
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
  EXPECT_EQ(o.code, "invalid_grant");
  o = parse(400, R"({"error":"temporarily_unavailable"})");
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
}

TEST(OAuth2Errors, TransportFailuresAreRetried) {
  for (const char* err : {"timeout", "connection", "tls", "read"}) {
    FakeHttpClient http;
    http.fail(err);
    OAuth2Platform p(http, {});
    auto o = p.client_token(make_app(), {});
    EXPECT_EQ(o.kind, OutcomeKind::retry_later) << err;
    EXPECT_EQ(o.code, std::string("transport_") + err);
    EXPECT_EQ(o.http_status, 0);
  }
}

TEST(OAuth2Errors, GarbageOnSuccessIsRetriedAsBadResponse) {
  for (const char* body : {"", "<html>ok</html>", "[1,2,3]", "{\"access_token\":", R"({"token_type":"Bearer"})",
                           R"({"access_token":12345})", R"({"access_token":""})", "null"}) {
    auto o = parse(200, body);
    EXPECT_EQ(o.kind, OutcomeKind::retry_later) << body;
    EXPECT_EQ(o.code, "bad_response") << body;
  }
}

TEST(OAuth2Errors, UnauthorizedWithoutJsonIsAppMisconfigured) {
  auto o = parse(401, "Unauthorized");
  EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(o.code, "http_401");
  o = parse(302, "", oauth2::Flow::refresh_token, {{"Location", "https://elsewhere/"}});
  EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(o.code, "http_302");
}

TEST(OAuth2Errors, UnknownClientErrorWithoutJsonIsRetried) {
  auto o = parse(400, "Bad Request");
  EXPECT_EQ(o.kind, OutcomeKind::retry_later);
  EXPECT_EQ(o.code, "http_400");
}

TEST(OAuth2Errors, LongDescriptionsAreTruncatedAndControlCharactersRemoved) {
  std::string desc(1000, 'x');
  desc[5] = '\n';
  auto o = parse(400, nlohmann::json{{"error", "invalid_request"}, {"error_description", desc}}.dump());
  EXPECT_LE(o.message.size(), 303u);
  EXPECT_GE(o.message.size(), 300u);
  EXPECT_EQ(o.message.find('\n'), std::string::npos);
}

TEST(OAuth2Errors, MessagesNeverContainTokensOrSecrets) {
  // Each call's provider echoes everything it was sent into its error text; garbage bodies hold tokens.
  const std::vector<std::string> sent_by_call{kSecret + " " + kCode + "," + kVerifier, kSecret + ":" + kRefresh,
                                              "(" + kRefresh + ")" + kSecret};
  for (int call = 0; call < 3; ++call) {
    const std::string& echo = sent_by_call[call];
    const std::vector<std::pair<int, std::string>> answers{
        {400, nlohmann::json{{"error", "invalid_grant"}, {"error_description", echo}}.dump()},
        {401, nlohmann::json{{"error", "invalid_client"}, {"error_description", echo}}.dump()},
        {400, nlohmann::json{{"error", echo}}.dump()},
        {400, nlohmann::json{{"error", "invalid_request"}, {"error_description", std::string(280, '.') + echo}}.dump()},
        {200, R"({"token":")" + kAccess + R"(","refresh_token":")" + kRefresh + "\"}"},
        {200, "access_token=" + kAccess + "&refresh_token=" + kRefresh},
        {500, "internal error: " + kSecret + " " + kAccess},
        {429, kAccess},
        {400, "oops " + kAccess},
    };
    for (const auto& [status, body] : answers) {
      FakeHttpClient http;
      http.respond(status, body);
      OAuth2Platform p(http, {});
      App app = make_app(call == 1 ? "client_secret_basic" : "client_secret_post");
      Outcome o = call == 0   ? p.exchange_code(app, kCode, kVerifier, "")
                  : call == 1 ? p.refresh(app, make_grant())
                              : p.revoke(app, make_grant());
      EXPECT_TRUE(!o.ok() || call == 2) << body;
      expect_no_secret(o);
      // A secret cut in half by the length limit must not leave its first half behind either.
      EXPECT_EQ(o.message.find(kSecret.substr(0, 8)), std::string::npos) << o.message;
    }
  }
}

TEST(OAuth2Scrub, ReplacesEveryOccurrence) {
  EXPECT_EQ(oauth2::scrub("a SECRET b SECRET", {"SECRET", ""}), "a [redacted] b [redacted]");
  EXPECT_EQ(oauth2::scrub("abc", {"[redacted]"}), "abc");
}

// ---- revocation

TEST(OAuth2Revoke, PostsTheRefreshTokenWithClientAuth) {
  FakeHttpClient http;
  http.respond(200, "");
  OAuth2Platform p(http, {});
  auto o = p.revoke(make_app("client_secret_basic"), make_grant());
  EXPECT_TRUE(o.ok());
  EXPECT_EQ(o.code, "");
  const auto& r = http.requests.at(0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://idp.example/revoke");
  auto f = form_of(r.body);
  EXPECT_EQ(f["token"], kRefresh);
  EXPECT_EQ(f["token_type_hint"], "refresh_token");
  EXPECT_EQ(basic_credentials(header_of(r, "Authorization")).second, kSecret);
}

TEST(OAuth2Revoke, WithoutAnEndpointSucceedsAsNotSupported) {
  FakeHttpClient http;
  OAuth2Platform p(http, {});
  App app = make_app();
  app.endpoints.revocation_url.clear();
  auto o = p.revoke(app, make_grant());
  EXPECT_TRUE(o.ok());
  EXPECT_EQ(o.code, "not_supported");
  EXPECT_TRUE(http.requests.empty());
}

TEST(OAuth2Revoke, FailuresAreClassifiedLikeTokenErrors) {
  EXPECT_EQ(oauth2::parse_revoke_response(response(503, "", {{"Retry-After", "3"}}), kNow).kind,
            OutcomeKind::retry_later);
  EXPECT_EQ(oauth2::parse_revoke_response(response(503, "", {{"Retry-After", "3"}}), kNow).retry_after, Seconds(3));
  auto o = oauth2::parse_revoke_response(response(401, R"({"error":"invalid_client"})"), kNow);
  EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured);
  EXPECT_NE(o.message.find("revocation endpoint"), std::string::npos);
  o = oauth2::parse_revoke_response(response(400, R"({"error":"unsupported_token_type"})"), kNow);
  EXPECT_EQ(o.kind, OutcomeKind::app_misconfigured);
  EXPECT_EQ(oauth2::parse_revoke_response(response(429, ""), kNow).kind, OutcomeKind::rate_limited);
  HttpClientResponse down;
  down.error = "timeout";
  EXPECT_EQ(oauth2::parse_revoke_response(down, kNow).code, "transport_timeout");
}

TEST(OAuth2Revoke, AnAlreadyInvalidTokenCountsAsRevoked) {
  auto o = oauth2::parse_revoke_response(response(400, R"({"error":"invalid_grant"})"), kNow);
  EXPECT_TRUE(o.ok());
  EXPECT_EQ(o.code, "invalid_grant");
}

// ---- discovery

namespace {
std::string metadata(const std::string& issuer, bool with_revocation = true) {
  nlohmann::json j{{"issuer", issuer},
                   {"authorization_endpoint", issuer + "/auth"},
                   {"token_endpoint", issuer + "/token"},
                   {"token_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post"}},
                   {"code_challenge_methods_supported", {"S256"}}};
  if (with_revocation) j["revocation_endpoint"] = issuer + "/revoke";
  return j.dump();
}
}  // namespace

TEST(OAuth2Discovery, BuildsOpenIdThenRfc8414Urls) {
  EXPECT_EQ(oauth2::discovery_urls("https://idp.example"),
            (std::vector<std::string>{"https://idp.example/.well-known/openid-configuration",
                                      "https://idp.example/.well-known/oauth-authorization-server"}));
  EXPECT_EQ(oauth2::discovery_urls("https://idp.example/realms/acme/"),
            (std::vector<std::string>{"https://idp.example/realms/acme/.well-known/openid-configuration",
                                      "https://idp.example/.well-known/oauth-authorization-server/realms/acme"}));
  EXPECT_TRUE(oauth2::discovery_urls("idp.example").empty());
  EXPECT_TRUE(oauth2::discovery_urls("https://idp.example/?x=1").empty());
}

TEST(OAuth2Discovery, ReadsEndpointsFromOpenIdConfiguration) {
  FakeHttpClient http;
  http.respond(200, metadata("https://idp.example"));
  std::string error;
  auto e = discover_endpoints(http, "https://idp.example/", error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(e.authorize_url, "https://idp.example/auth");
  EXPECT_EQ(e.token_url, "https://idp.example/token");
  EXPECT_EQ(e.revocation_url, "https://idp.example/revoke");
  ASSERT_EQ(http.requests.size(), 1u);
  EXPECT_EQ(http.requests[0].method, "GET");
  EXPECT_EQ(http.requests[0].url, "https://idp.example/.well-known/openid-configuration");

  http.respond(200, metadata("https://idp.example"));
  auto d = discover(http, "https://idp.example");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.token_endpoint_auth_methods, (std::vector<std::string>{"client_secret_basic", "client_secret_post"}));
  EXPECT_EQ(d.code_challenge_methods, (std::vector<std::string>{"S256"}));
}

TEST(OAuth2Discovery, FallsBackToAuthorizationServerMetadata) {
  FakeHttpClient http;
  http.respond(404, "not found").respond(200, metadata("https://idp.example/tenant", false));
  std::string error;
  auto e = discover_endpoints(http, "https://idp.example/tenant", error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(e.token_url, "https://idp.example/tenant/token");
  EXPECT_EQ(e.revocation_url, "");
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_EQ(http.requests[1].url, "https://idp.example/.well-known/oauth-authorization-server/tenant");
}

TEST(OAuth2Discovery, RefusesMetadataForAnotherIssuer) {
  FakeHttpClient http;
  http.respond(200, metadata("https://evil.example")).respond(200, metadata("https://evil.example"));
  std::string error;
  auto e = discover_endpoints(http, "https://idp.example", error);
  EXPECT_EQ(e.token_url, "");
  EXPECT_NE(error.find("https://evil.example"), std::string::npos) << error;
  EXPECT_NE(error.find("expected \"https://idp.example\""), std::string::npos) << error;
}

TEST(OAuth2Discovery, ExplainsEachFailedAttempt) {
  FakeHttpClient http;
  http.fail("connection")
      .respond(200, R"({"issuer":"https://idp.example","authorization_endpoint":"https://idp.example/a"})");
  auto d = discover(http, "https://idp.example");
  EXPECT_FALSE(d.ok());
  EXPECT_NE(d.error.find("openid-configuration: no answer (connection)"), std::string::npos) << d.error;
  EXPECT_NE(d.error.find("no token_endpoint"), std::string::npos) << d.error;

  EXPECT_NE(oauth2::parse_discovery_document("<html>", "https://i").error.find("not a JSON object"), std::string::npos);
  EXPECT_NE(oauth2::parse_discovery_document(R"({"authorization_endpoint":"https://i/a"})", "https://i")
                .error.find("no issuer"),
            std::string::npos);
  EXPECT_NE(oauth2::parse_discovery_document(
                R"({"issuer":"https://i","authorization_endpoint":"javascript:x","token_endpoint":"https://i/t"})",
                "https://i")
                .error.find("authorization_endpoint is not an http(s) URL"),
            std::string::npos);
  EXPECT_FALSE(discover(http, "not a url").ok());
}

TEST(OAuth2Discovery, ReadsWhetherAuthorizationResponsesCarryIss) {
  auto doc = nlohmann::json::parse(metadata("https://idp.example"));
  EXPECT_FALSE(oauth2::parse_discovery_document(doc.dump(), "https://idp.example").iss_parameter_supported);
  doc["authorization_response_iss_parameter_supported"] = true;
  EXPECT_TRUE(oauth2::parse_discovery_document(doc.dump(), "https://idp.example").iss_parameter_supported);
  doc["authorization_response_iss_parameter_supported"] = "true";  // not a boolean: not advertised
  EXPECT_FALSE(oauth2::parse_discovery_document(doc.dump(), "https://idp.example").iss_parameter_supported);
}

TEST(OAuth2CallbackIssuer, FollowsTheMetadataUnlessTheAppsOptionSaysOtherwise) {
  FakeHttpClient http;
  OAuth2Platform p(http, {});
  App endpoints_app = make_app();
  EXPECT_FALSE(p.callback_issuer(endpoints_app).required) << "no issuer, no metadata, no option";
  EXPECT_TRUE(http.requests.empty());
  endpoints_app.options = {{"callback_iss", "https://idp.example"}};
  EXPECT_TRUE(p.callback_issuer(endpoints_app).required);
  EXPECT_EQ(p.callback_issuer(endpoints_app).issuer, "https://idp.example");

  auto doc = nlohmann::json::parse(metadata("https://idp.example"));
  doc["authorization_response_iss_parameter_supported"] = true;
  http.respond(200, doc.dump());
  App discovered = make_app();
  discovered.issuer = "https://idp.example/";
  const CallbackIssuer want = p.callback_issuer(discovered);
  EXPECT_TRUE(want.required);
  EXPECT_EQ(want.issuer, "https://idp.example") << "the metadata's spelling";
  EXPECT_EQ(want.error, "");
  discovered.options = {{"callback_iss", false}};
  EXPECT_FALSE(p.callback_issuer(discovered).required);
  EXPECT_EQ(http.requests.size(), 1u) << "the metadata is read once";

  App unreachable = make_app();
  unreachable.issuer = "https://down.example";
  http.fail("connection").fail("connection");
  EXPECT_NE(p.callback_issuer(unreachable).error, "");

  App bad = make_app();
  bad.options = {{"callback_iss", true}};
  EXPECT_FALSE(p.prepare_app(bad).ok) << "true needs an issuer";
  bad.options = {{"callback_iss", 1}};
  EXPECT_FALSE(p.prepare_app(bad).ok);
  bad.options = {{"callback_iss", "https://idp.example"}};
  EXPECT_TRUE(p.prepare_app(bad).ok) << p.prepare_app(bad).message;
}

// ---- registry

TEST(PlatformRegistry, FindsOAuth2AndNothingUnknown) {
  FakeHttpClient http;
  PlatformRegistry reg(http, {});
  ASSERT_NE(reg.get("oauth2"), nullptr);
  EXPECT_EQ(reg.get("oauth2")->name(), "oauth2");
  EXPECT_EQ(reg.get("myspace"), nullptr);
  EXPECT_EQ(reg.get(""), nullptr);
  for (const auto& name : reg.names()) EXPECT_NE(reg.get(name), nullptr) << name;
  EXPECT_EQ(reg.names(), (std::vector<std::string>{"bilibili", "douyin", "google", "kuaishou", "oauth2", "tiktok",
                                                   "wechat", "wechat_component", "weibo"}));
  for (const auto& name : reg.names()) EXPECT_EQ(reg.get(name)->name(), name);
}

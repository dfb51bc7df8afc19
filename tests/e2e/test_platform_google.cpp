// Google against the fake Google: PKCE with offline access and forced consent, the account as the
// verified id_token's sub, granular consent (missing_scopes, asking again with include_granted_scopes),
// forged id_tokens refused, a refresh token kept across refreshes, invalid_grant, revocation, and a
// service account whose RS256 assertion, signed by the daemon, the fake checks with the matching
// public key.
#include "platform_fixture.hpp"

namespace mediax::e2e {
namespace {

const std::string kScope = "https://www.googleapis.com/auth/cloud-platform";

class GoogleE2E : public PlatformE2ETest {
 protected:
  GoogleE2E() {
    platform_ = "google";
    fake_args_ = {"--expires-in", "4", "--client-expires-in", "4"};
  }

  json register_google(const std::string& name, json options = json::object()) {
    client_id_ = random_hex("gcid-", 12) + ".apps.googleusercontent.com";
    secret_ = random_hex("GOCSPX-", 28);
    remember_secret(secret_);
    fake().control(
        "/_fake/clients",
        {{"client_id", client_id_}, {"client_secret", secret_}, {"redirect_uris", {daemon().callback_url(name)}}});
    return register_app({{"name", name},
                         {"platform", "google"},
                         {"client_id", client_id_},
                         {"client_secret", secret_},
                         {"scopes", {"openid", "email"}},
                         {"options", options}});
  }

  // The fake Google's stable sub for a login name (what the grant's account_id must be).
  std::string sub(const std::string& login) {
    return fake().control("/_fake/accounts", {{"login", login}}, 200).value("sub", "");
  }

  // A service-account key file for `key`, registered at the fake with `registered_public_pem`.
  json service_account(const RsaKey& key, const std::string& registered_public_pem, bool allow_subject = true) {
    email_ = random_hex("mediax-", 8) + "@demo-project.iam.gserviceaccount.com";
    key_id_ = random_hex("", 40);
    fake().control("/_fake/service_accounts", {{"client_email", email_},
                                               {"private_key_id", key_id_},
                                               {"public_key_pem", registered_public_pem},
                                               {"allow_subject", allow_subject}});
    remember_secret(key.private_pem.substr(40, 64));
    return {{"type", "service_account"},
            {"project_id", "demo-project"},
            {"private_key_id", key_id_},
            {"private_key", key.private_pem},
            {"client_email", email_},
            {"client_id", "109876543210987654321"},
            {"token_uri", fake().base() + "/token"}};
  }

  std::string client_id_;
  std::string secret_;
  std::string email_;
  std::string key_id_;
};

// Long-lived tokens: no scheduled refresh interferes with injected failures.
class GoogleSlowE2E : public GoogleE2E {
 protected:
  GoogleSlowE2E() { fake_args_ = {"--expires-in", "3600"}; }
};

// A consent screen in "Testing": refresh tokens die 7 days after consent (here 6 s).
class GoogleTestingModeE2E : public GoogleE2E {
 protected:
  GoogleTestingModeE2E() { fake_args_ = {"--expires-in", "2", "--refresh-expires-in", "6"}; }
};

TEST_F(GoogleTestingModeE2E, RefreshTokenExpiryEndsTheGrantAsNeedsReauth) {
  register_google("gtesting");
  const std::int64_t id = connect_account("gtesting", "hana", sub("hana"));
  ASSERT_TRUE(eventually([&] { return fake().stat_in("refreshes_by_account", "hana") >= 1; }, 10s, 100ms));
  EXPECT_EQ(grant(id).value("status", ""), "active");
  ASSERT_TRUE(eventually([&] { return grant(id).value("status", "") == "needs_reauth"; }, 20s, 200ms))
      << grant(id).dump();
  json g = grant(id);
  EXPECT_NE(g.value("status_reason", "").find("Token has been expired or revoked"), std::string::npos) << g.dump();
  // Connecting the account again starts afresh on the same grant.
  EXPECT_EQ(connect_account("gtesting", "hana", sub("hana")), id);
  EXPECT_EQ(grant(id).value("status", ""), "active");
}

TEST_F(GoogleE2E, ConnectsWithPkceOfflineAccessAndKeepsTheRefreshToken) {
  register_google("guser", {{"include_granted_scopes", true}});
  std::string url = platform_url("guser");
  EXPECT_EQ(url.rfind(fake().base() + "/o/oauth2/v2/auth?", 0), 0u) << url;
  EXPECT_EQ(test::query_param(url, "code_challenge_method").value_or(""), "S256");
  EXPECT_EQ(test::query_param(url, "scope").value_or(""), "openid email");

  const std::int64_t id = connect_account("guser", "alice", sub("alice"));
  json last = fake().stats()["last_authorize"];
  EXPECT_EQ(last.value("access_type", ""), "offline");
  EXPECT_EQ(last.value("prompt", ""), "consent");
  EXPECT_EQ(last.value("include_granted_scopes", ""), "true");

  // Refreshes keep working with the one refresh token (Google does not send it again).
  ASSERT_TRUE(eventually([&] { return fake().stat_in("refreshes_by_account", "alice") >= 3; }, 20s, 200ms));
  EXPECT_EQ(grant(id).value("status", ""), "active");
  EXPECT_EQ(fake().stat("token_errors"), 0);
  EXPECT_TRUE(fake().token_active(published("guser", id)));

  // A second connection of the same account also gets a refresh token (prompt=consent) and replaces the grant.
  EXPECT_EQ(connect_account("guser", "alice", sub("alice")), id);
  auto again = daemon().post("/v1/grants/" + std::to_string(id) + "/refresh");
  ASSERT_EQ(again.status, 200) << again.describe();
  remember_secret(again.json().value("access_token", ""));
}

TEST_F(GoogleSlowE2E, InvalidGrantNeedsReauthorizationAndRevocationEndsTheGrant) {
  register_google("gfail");
  const std::int64_t id = connect_account("gfail", "bob", sub("bob"));
  auto token = published("gfail", id);
  ASSERT_TRUE(fake().token_active(token));

  auto del = daemon().del("/v1/grants/" + std::to_string(id));
  ASSERT_EQ(del.status, 200) << del.describe();
  EXPECT_EQ(del.json().value("platform_revocation", ""), "ok");
  EXPECT_EQ(fake().stat("revocations"), 1);
  EXPECT_FALSE(fake().token_active(token)) << "revoking the refresh token ends its access tokens";

  const std::int64_t id2 = connect_account("gfail", "carl", sub("carl"));
  fake().fail(
      {{"endpoint", "token"}, {"error", "invalid_grant"}, {"description", "Token has been expired or revoked."}});
  auto r = daemon().post("/v1/grants/" + std::to_string(id2) + "/refresh");
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(r.json().value("platform_code", ""), "invalid_grant");
  EXPECT_EQ(r.json().value("class", ""), "needs_reauth");
  EXPECT_EQ(grant(id2).value("status", ""), "needs_reauth");
}

TEST_F(GoogleE2E, PartialConsentIsStoredRefreshedAndCompletedByAskingAgainForTheMissingScopes) {
  const std::string drive = "https://www.googleapis.com/auth/drive.readonly";
  const std::string youtube = "https://www.googleapis.com/auth/youtube.readonly";
  client_id_ = random_hex("gcid-", 12) + ".apps.googleusercontent.com";
  secret_ = random_hex("GOCSPX-", 28);
  remember_secret(secret_);
  fake().control("/_fake/clients",
                 {{"client_id", client_id_}, {"client_secret", secret_}, {"redirect_uris", {daemon().callback_url("gpart")}}});
  json app = register_app({{"name", "gpart"},
                           {"platform", "google"},
                           {"client_id", client_id_},
                           {"client_secret", secret_},
                           {"scopes", {"email", drive, youtube}},
                           {"options", {{"prompt", "select_account"}}}});
  EXPECT_EQ(app["scopes"], json::array({"openid", "email", drive, youtube})) << "openid is always asked for";

  // The user unticks Drive on Google's consent screen.
  fake().control("/_fake/consent", {{"untick", {drive}}, {"count", 1}}, 200);
  auto page = visit(authorize_at_platform("gpart", "dana"));
  ASSERT_EQ(page.status, 200) << page.describe();
  EXPECT_NE(page.body.find("connected, but without: " + drive), std::string::npos) << page.body;
  EXPECT_EQ(fake().stats()["last_authorize"].value("prompt", ""), "select_account consent");
  const std::string dana = sub("dana");
  auto list = grants("gpart");
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0].value("account_id", ""), dana) << "the account is the id_token's sub";
  EXPECT_EQ(list[0]["missing_scopes"], json::array({drive}));
  const std::int64_t id = as_id(list[0].at("id"));

  // It works for what was granted and keeps refreshing; the refresh answers (which name the scopes
  // again) keep the verdict.
  ASSERT_TRUE(eventually([&] { return fake().stat_in("refreshes_by_account", "dana") >= 2; }, 20s, 200ms));
  json g = grant(id);
  EXPECT_EQ(g.value("status", ""), "active");
  EXPECT_EQ(g["missing_scopes"], json::array({drive}));
  ASSERT_TRUE(eventually(
      [&] {
        auto m = test::http_get(daemon().url("/metrics"));
        return m.body.find("mediax_grants_missing_scopes{app=\"gpart\"} 1") != std::string::npos;
      },
      10s, 200ms))
      << test::http_get(daemon().url("/metrics")).body;

  // Asking again: just the missing scope, the grant's account, incremental authorization.
  Browser browser;
  const std::string url = browser.open_link(connect_link("gpart", json{{"grant_id", id}}));
  EXPECT_EQ(test::query_param(url, "scope").value_or(""), "openid " + drive);
  EXPECT_EQ(test::query_param(url, "include_granted_scopes").value_or(""), "true");
  EXPECT_EQ(test::query_param(url, "login_hint").value_or(""), dana);
  EXPECT_EQ(test::query_param(url, "prompt").value_or(""), "select_account consent");
  auto at_google = test::http_get(url);
  ASSERT_EQ(at_google.status, 302) << at_google.describe();
  auto done = visit({at_google.header("location"), browser.cookie()});
  ASSERT_EQ(done.status, 200) << done.describe();
  EXPECT_EQ(done.body.find("without"), std::string::npos) << done.body;

  list = grants("gpart");
  ASSERT_EQ(list.size(), 1u) << "the same account updated its one grant: " << list.dump();
  EXPECT_EQ(as_id(list[0].at("id")), id);
  EXPECT_EQ(list[0]["missing_scopes"], json::array());
  auto r = daemon().post("/v1/grants/" + std::to_string(id) + "/refresh");
  ASSERT_EQ(r.status, 200) << r.describe();
  remember_secret(r.json().value("access_token", ""));
  EXPECT_EQ(grant(id)["missing_scopes"], json::array());
  auto nothing = daemon().post("/v1/apps/gpart/authorize", json{{"grant_id", id}});
  EXPECT_EQ(nothing.status, 409) << nothing.describe();
  EXPECT_EQ(nothing.json().value("error", ""), "no_missing_scopes");

  // Later the user takes YouTube back in their Google account: the next refresh says so.
  fake().control("/_fake/revoke_scope", {{"login", "dana"}, {"scope", youtube}}, 200);
  r = daemon().post("/v1/grants/" + std::to_string(id) + "/refresh");
  ASSERT_EQ(r.status, 200) << r.describe();
  remember_secret(r.json().value("access_token", ""));
  EXPECT_EQ(grant(id)["missing_scopes"], json::array({youtube}));
  EXPECT_EQ(grant(id).value("status", ""), "active");
}

TEST_F(GoogleSlowE2E, ForgedIdTokensAreRefusedAndKeyRotationIsFollowed) {
  register_google("gforge");
  for (const char* forge : {"signature", "audience", "issuer", "expired", "alg_none", "hs256", "unknown_kid"}) {
    fake().control("/_fake/id_token", {{"forge", forge}, {"count", 1}}, 200);
    auto page = visit(authorize_at_platform("gforge", "eve"));
    EXPECT_EQ(page.status, 502) << forge << ": " << page.describe();
    EXPECT_NE(page.body.find("invalid_id_token"), std::string::npos) << forge << ": " << page.body;
    EXPECT_TRUE(grants("gforge").empty()) << forge;
  }
  const std::int64_t id = connect_account("gforge", "frank", sub("frank"));
  const auto fetches = fake().stat("jwks_fetches");
  // Google starts signing with a new key: the daemon fetches the set again for the unknown kid.
  fake().control("/_fake/rotate_key", json::object(), 200);
  const std::int64_t id2 = connect_account("gforge", "gina", sub("gina"));
  EXPECT_NE(id, id2);
  EXPECT_EQ(fake().stat("jwks_fetches"), fetches + 1);
  // The same account connected again: its one grant, by sub.
  EXPECT_EQ(connect_account("gforge", "frank", sub("frank")), id);
  EXPECT_EQ(fake().stat("jwks_fetches"), fetches + 1) << "the key set is cached";
  EXPECT_EQ(grants("gforge").size(), 2u);
}

TEST_F(GoogleE2E, ServiceAccountTokenIsSignedByTheDaemonAndAcceptedByThePlatform) {
  RsaKey key = make_rsa_key();
  json key_file = service_account(key, key.public_pem);
  auto r =
      daemon().post("/v1/apps", json{{"name", "gsa"},
                                     {"platform", "google"},
                                     {"client_credentials", true},
                                     {"scopes", {kScope}},
                                     {"options", {{"service_account", key_file}, {"subject", "admin@example.com"}}}});
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(r.body.find("PRIVATE KEY"), std::string::npos) << "the app JSON shows the private key";
  json app = r.json();
  EXPECT_EQ(app.value("client_id", ""), email_);
  EXPECT_EQ(app["options"]["service_account"].value("client_email", ""), email_);
  EXPECT_EQ(app["options"]["service_account"].value("private_key_id", ""), key_id_);
  auto listed = daemon().get("/v1/apps/gsa");
  EXPECT_EQ(listed.body.find("PRIVATE KEY"), std::string::npos);

  std::set<std::string> seen;
  int invalid = 0;
  bool done = eventually(
      [&] {
        std::string t = published("gsa");
        if (!t.empty()) {
          if (!fake().token_active(t)) ++invalid;
          seen.insert(t);
        }
        return seen.size() >= 2;
      },
      20s, 150ms);
  ASSERT_TRUE(done) << "service account tokens seen: " << seen.size() << "; stats " << fake().stats().dump();
  EXPECT_EQ(invalid, 0);
  EXPECT_EQ(fake().stat("jwt_rejections"), 0) << fake().stats().dump();
  EXPECT_GE(fake().stat("jwt_grants"), 2);

  json claims = fake().stats()["last_assertion_claims"];
  EXPECT_EQ(claims.value("iss", ""), email_);
  EXPECT_EQ(claims.value("aud", ""), fake().base() + "/token");
  EXPECT_EQ(claims.value("scope", ""), kScope);
  EXPECT_EQ(claims.value("sub", ""), "admin@example.com");
  EXPECT_EQ(claims.value("exp", 0) - claims.value("iat", 0), 3600);
  EXPECT_EQ(fake().stats()["last_assertion_header"].value("kid", ""), key_id_);
  EXPECT_EQ(fake().introspect(*seen.begin()).value("account", ""), "admin@example.com");
}

TEST_F(GoogleE2E, ServiceAccountSignedWithAnotherKeyIsRefusedAsAnAppProblem) {
  RsaKey key = make_rsa_key();
  RsaKey other = make_rsa_key();
  json key_file = service_account(key, other.public_pem);
  auto r = daemon().post("/v1/apps", json{{"name", "gwrongkey"},
                                          {"platform", "google"},
                                          {"client_credentials", true},
                                          {"scopes", {kScope}},
                                          {"options", {{"service_account", key_file}}}});
  ASSERT_EQ(r.status, 201) << r.describe();
  ASSERT_TRUE(eventually(
      [&] { return daemon().get("/v1/apps/gwrongkey").json().value("status", "") == "needs_reauth"; }, 10s, 100ms))
      << daemon().get("/v1/apps/gwrongkey").body;
  json app = daemon().get("/v1/apps/gwrongkey").json();
  EXPECT_NE(app.value("last_error", "").find("invalid_grant"), std::string::npos) << app.dump();
  EXPECT_EQ(fake().stat_in("jwt_rejected_for", "signature"), 1);
  EXPECT_EQ(fake().stat("jwt_grants"), 0);
  EXPECT_TRUE(published("gwrongkey").empty());
}

TEST_F(GoogleSlowE2E, BadServiceAccountKeysAreRejectedAtRegistration) {
  RsaKey key = make_rsa_key();
  json key_file = service_account(key, key.public_pem);
  key_file["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  auto r = daemon().post("/v1/apps", json{{"name", "gbadkey"},
                                          {"platform", "google"},
                                          {"client_credentials", true},
                                          {"scopes", {kScope}},
                                          {"options", {{"service_account", key_file}}}});
  EXPECT_EQ(r.status, 400) << r.describe();
  EXPECT_NE(r.json().value("message", "").find("options.service_account.private_key"), std::string::npos) << r.body;

  auto unknown = daemon().post("/v1/apps", json{{"name", "gunknown"},
                                                {"platform", "google"},
                                                {"client_id", "x"},
                                                {"client_secret", "y-secret-value"},
                                                {"scopes", {"openid"}},
                                                {"options", {{"hd", "example.com"}}}});
  EXPECT_EQ(unknown.status, 400) << unknown.describe();
  EXPECT_NE(unknown.json().value("message", "").find("options.hd: unknown option"), std::string::npos) << unknown.body;
}

}  // namespace
}  // namespace mediax::e2e

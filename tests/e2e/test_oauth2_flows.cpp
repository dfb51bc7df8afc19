// Happy paths against the fake OAuth 2.0 server: connect an account, keep its token fresh with a
// rotating refresh token, client-credentials app tokens, discovery with client_secret_basic.
#include <set>

#include "harness.hpp"

namespace mediax::e2e {
namespace {

using OAuth2Flows = E2ETest;

TEST_F(OAuth2Flows, ConnectedAccountTokenIsRefreshedBeforeExpiryWithRotatingRefreshTokens) {
  FakeOAuth2& fake = start_fake({.expires_in = 4, .rotate_refresh = true, .issuer_path = ""});
  register_fake_app(fake, "rotating", "client_secret_post");
  const std::int64_t grant_id = connect("rotating", "alice");

  json g = grant(grant_id);
  EXPECT_EQ(g.value("status", ""), "active");
  EXPECT_EQ(g.value("account_id", ""), "alice");
  EXPECT_EQ(g.dump().find("refresh_token\":\""), std::string::npos) << "grant JSON must not carry the refresh token";

  // Poll the published view: every token read from it must be valid at the platform, and it must
  // change as the daemon refreshes ahead of each 4-second expiry.
  std::set<std::string> seen;
  int invalid_reads = 0;
  bool done = eventually(
      [&] {
        auto row = published_token(daemon().db_url(), "rotating", grant_id);
        if (row) {
          remember_secret(row->access_token);
          EXPECT_EQ(row->grant_id, grant_id);
          if (!fake.token_active(row->access_token)) ++invalid_reads;
          seen.insert(row->access_token);
        }
        return fake.refreshes_of("alice") >= 3 && seen.size() >= 4;
      },
      25s, 150ms);
  ASSERT_TRUE(done) << "refreshes seen by the fake: " << fake.refreshes_of("alice")
                    << ", distinct tokens: " << seen.size();
  EXPECT_EQ(invalid_reads, 0) << "the view published an expired or revoked token";
  EXPECT_EQ(fake.stat("dead_refresh_token_uses"), 0) << "the daemon sent a rotated-out refresh token";
  EXPECT_EQ(fake.stat("codes_exchanged"), 1);

  g = grant(grant_id);
  EXPECT_EQ(g.value("status", ""), "active");
  EXPECT_EQ(g.value("failure_count", -1), 0);

  auto api = daemon().get("/v1/grants/" + std::to_string(grant_id) + "/token");
  ASSERT_EQ(api.status, 200) << api.describe();
  remember_secret(api.json().value("access_token", ""));
  EXPECT_TRUE(fake.token_active(api.json().value("access_token", "")));
  EXPECT_EQ(api.json().value("token_type", ""), "Bearer");
}

TEST_F(OAuth2Flows, ClientCredentialsTokenIsPublishedWithoutGrantAndRefreshed) {
  FakeOAuth2& fake = start_fake({.expires_in = 4, .rotate_refresh = false, .issuer_path = ""});
  json app = register_fake_app(fake, "service", "client_secret_post", false, true);
  EXPECT_EQ(app.value("client_credentials", false), true);

  std::set<std::string> seen;
  int invalid_reads = 0;
  bool done = eventually(
      [&] {
        auto row = published_token(daemon().db_url(), "service", std::nullopt);
        if (row) {
          remember_secret(row->access_token);
          EXPECT_FALSE(row->grant_id.has_value());
          if (!fake.token_active(row->access_token)) ++invalid_reads;
          seen.insert(row->access_token);
        }
        return seen.size() >= 2 && fake.stat("client_credentials_issued") >= 2;
      },
      20s, 150ms);
  ASSERT_TRUE(done) << "client-credentials tokens seen: " << seen.size();
  EXPECT_EQ(invalid_reads, 0);
  EXPECT_EQ(count_published(daemon().db_url(), "service"), 1) << "one app token, no grant rows";

  auto api = daemon().get("/v1/apps/service/token");
  ASSERT_EQ(api.status, 200) << api.describe();
  remember_secret(api.json().value("access_token", ""));
  EXPECT_TRUE(fake.token_active(api.json().value("access_token", "")));
}

TEST_F(OAuth2Flows, DiscoveryByIssuerWithClientSecretBasic) {
  FakeOAuth2& fake = start_fake({.expires_in = 3600, .rotate_refresh = false, .issuer_path = "/tenant-a"});
  json app = register_fake_app(fake, "discovered", "client_secret_basic", true);
  ASSERT_TRUE(app.contains("endpoints")) << app.dump();
  EXPECT_EQ(app["endpoints"].value("authorize_url", ""), fake.issuer() + "/authorize");
  EXPECT_EQ(app["endpoints"].value("token_url", ""), fake.issuer() + "/token");
  EXPECT_EQ(app["endpoints"].value("revocation_url", ""), fake.issuer() + "/revoke");
  EXPECT_EQ(app.value("token_auth_method", ""), "client_secret_basic");
  EXPECT_EQ(app.value("redirect_uri", ""), daemon().callback_url("discovered")) << "the app's own callback path";

  // The fake rejects client_secret_post for this client: the exchange and the refresh prove Basic.
  const std::int64_t grant_id = connect("discovered", "dora");
  auto first = published_token(daemon().db_url(), "discovered", grant_id);
  ASSERT_TRUE(first.has_value());
  remember_secret(first->access_token);
  EXPECT_TRUE(fake.token_active(first->access_token));

  auto r = daemon().post("/v1/grants/" + std::to_string(grant_id) + "/refresh");
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string refreshed = r.json().value("access_token", "");
  remember_secret(refreshed);
  EXPECT_NE(refreshed, first->access_token);
  EXPECT_TRUE(fake.token_active(refreshed));
  EXPECT_EQ(fake.refreshes_of("dora"), 1);
  EXPECT_EQ(fake.stat("token_errors"), 0) << "some token request failed client authentication";
}

TEST_F(OAuth2Flows, ConnectEndpointRedirectsToTheConnectLinkAndOnToThePlatformWithPkce) {
  FakeOAuth2& fake = start_fake({});
  register_fake_app(fake, "browser", "client_secret_post");
  auto r = daemon().get("/v1/apps/browser/connect");
  ASSERT_EQ(r.status, 302) << r.describe();
  const std::string link = r.header("location");
  EXPECT_EQ(link.rfind(daemon().url("/connect/start?ticket="), 0), 0u) << link;
  remember_secret(link.substr(link.find('=') + 1));
  Browser browser;
  const std::string location = browser.open_link(link);
  EXPECT_EQ(location.rfind(fake.issuer() + "/authorize?", 0), 0u) << location;
  EXPECT_EQ(test::query_param(location, "response_type").value_or(""), "code");
  EXPECT_EQ(test::query_param(location, "redirect_uri").value_or(""), daemon().callback_url("browser"));
  EXPECT_EQ(test::query_param(location, "code_challenge_method").value_or(""), "S256");
  EXPECT_EQ(test::query_param(location, "code_challenge").value_or("").size(), 43u);
  EXPECT_GE(test::query_param(location, "state").value_or("").size(), 16u);

  // The browser that opened the link finishes the flow like the POST /authorize route's.
  auto cb = browser.authorize(test::add_query_param(location, "login_hint", "erin"), daemon().callback_url("browser"));
  if (auto code = test::query_param(cb.url, "code")) remember_secret(*code);
  auto page = visit(cb);
  EXPECT_EQ(page.status, 200) << page.describe();
  EXPECT_EQ(grants("browser").size(), 1u);
}

}  // namespace
}  // namespace mediax::e2e

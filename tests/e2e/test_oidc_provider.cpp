// Against a real, certified provider (node-oidc-provider, tests/e2e/oidc): discovery, authorization
// code with PKCE through its login and consent pages, refresh-token rotation, client credentials.
#include <filesystem>
#include <set>

#include "harness.hpp"

namespace mediax::e2e {
namespace {

class OidcProvider : public E2ETest {
 protected:
  void SetUp() override {
    node_ = test::find_in_path("node");
    if (node_.empty())
      GTEST_SKIP() << "node is not installed: the oidc-provider tests need Node.js (admin/dev.sh installs it)";
    oidc_dir_ = source_dir() + "/tests/e2e/oidc";
    ASSERT_TRUE(std::filesystem::exists(oidc_dir_ + "/node_modules/oidc-provider"))
        << "run `npm ci` in tests/e2e/oidc (admin/dev.sh test does it)";
    E2ETest::SetUp();
  }

  void TearDown() override {
    E2ETest::TearDown();
    if (provider_) provider_->terminate();
  }

  void start_provider() {
    web_secret_ = random_hex("oidc-web-", 32);
    service_secret_ = random_hex("oidc-svc-", 32);
    remember_secret(web_secret_);
    remember_secret(service_secret_);
    test::ProcessOptions opts;
    opts.cwd = oidc_dir_;
    opts.log_dir = dir_;
    opts.name = "oidc-provider";
    provider_ = std::make_unique<test::Process>(
        node_,
        std::vector<std::string>{"server.mjs", "--port", "0", "--redirect-uri", daemon().callback_url("oidc-web"), "--web-secret",
                                 web_secret_, "--service-secret", service_secret_, "--access-ttl", "5"},
        opts);
    issuer_ = "http://127.0.0.1:" + std::to_string(provider_->wait_for_listening(30s));
  }

  json harness_stats() const {
    auto r = test::http_get(issuer_ + "/_harness/stats");
    require(r.status == 200, "harness stats: " + r.describe());
    return r.json();
  }

  // RFC 7662 introspection at the provider, authenticated as the web client.
  bool active_at_provider(const std::string& token, const std::string& client_id, const std::string& secret) const {
    auto r = test::http_post_form(issuer_ + "/token/introspection",
                                  {{"token", token}, {"client_id", client_id}, {"client_secret", secret}});
    require(r.status == 200, "introspection: " + r.describe());
    return r.json().value("active", false);
  }

  std::string node_;
  std::string oidc_dir_;
  std::string issuer_;
  std::string web_secret_;
  std::string service_secret_;
  std::unique_ptr<test::Process> provider_;
};

TEST_F(OidcProvider, AuthorizationCodeWithPkceAndRotatingRefreshTokens) {
  start_provider();
  json body{{"name", "oidc-web"},
            {"platform", "oauth2"},
            {"client_id", "mediax-web"},
            {"client_secret", web_secret_},
            {"scopes", {"openid", "offline_access"}},
            {"issuer", issuer_},
            {"token_auth_method", "client_secret_basic"}};
  auto created = daemon().post("/v1/apps", body);
  ASSERT_EQ(created.status, 201) << created.describe();
  EXPECT_EQ(created.json()["endpoints"].value("token_url", ""), issuer_ + "/token");

  Browser browser;
  const std::string authorize_url = browser.open_link(connect_link("oidc-web"));
  ASSERT_EQ(authorize_url.rfind(issuer_ + "/auth?", 0), 0u) << authorize_url;

  test::ProcessOptions opts;
  opts.cwd = oidc_dir_;
  opts.log_dir = dir_;
  opts.name = "drive-login";
  auto login = test::run_process(node_, {"drive-login.mjs", authorize_url, "--login", "olivia"}, opts, 60s);
  ASSERT_EQ(login.exit_code, 0) << login.err;
  std::string callback = login.out.substr(0, login.out.find('\n'));
  ASSERT_EQ(callback.rfind(daemon().callback_url("oidc-web") + "?", 0), 0u) << callback;
  ASSERT_TRUE(test::query_param(callback, "code").has_value()) << callback;
  remember_secret(*test::query_param(callback, "code"));
  // RFC 9207: node oidc-provider advertises authorization_response_iss_parameter_supported and
  // sends iss, which the daemon then requires (a wrong or missing one is refused: test_connect_binding).
  auto metadata = test::http_get(issuer_ + "/.well-known/openid-configuration");
  ASSERT_EQ(metadata.status, 200) << metadata.describe();
  if (metadata.json().value("authorization_response_iss_parameter_supported", false)) {
    EXPECT_EQ(test::query_param(callback, "iss").value_or(""), issuer_) << callback;
  }

  auto page = visit({callback, browser.cookie()});
  ASSERT_EQ(page.status, 200) << page.describe();
  EXPECT_NE(page.body.find("Connected"), std::string::npos) << page.body;
  EXPECT_EQ(harness_stats().value("authorization_code", 0), 1);

  json list = grants("oidc-web");
  ASSERT_EQ(list.size(), 1u) << list.dump();
  const std::int64_t grant_id = as_id(list[0]["id"]);
  EXPECT_EQ(list[0].value("account_id", ""), "olivia") << "account id should come from the id_token's sub";

  // Access tokens live 5 s: the daemon must refresh (rotating the refresh token) at least twice,
  // and whatever the view publishes must be active at the provider.
  std::set<std::string> seen;
  int inactive_reads = 0;
  bool done = eventually(
      [&] {
        if (auto row = published_token(daemon().db_url(), "oidc-web", grant_id)) {
          remember_secret(row->access_token);
          if (!active_at_provider(row->access_token, "mediax-web", web_secret_)) ++inactive_reads;
          seen.insert(row->access_token);
        }
        return harness_stats().value("refresh_token", 0) >= 2 && seen.size() >= 3;
      },
      30s, 200ms);
  ASSERT_TRUE(done) << "provider stats: " << harness_stats().dump() << ", distinct tokens: " << seen.size();
  EXPECT_EQ(inactive_reads, 0);
  EXPECT_EQ(harness_stats().value("refresh_token_reuse_or_failure", -1), 0)
      << "a refresh failed at the provider (e.g. a rotated-out refresh token was sent)";
  json g = grant(grant_id);
  EXPECT_EQ(g.value("status", ""), "active");
  EXPECT_EQ(g.value("failure_count", -1), 0);
}

TEST_F(OidcProvider, ClientCredentialsTokenIsFetchedAndRefreshed) {
  start_provider();
  json body{{"name", "oidc-service"},
            {"platform", "oauth2"},
            {"client_id", "mediax-service"},
            {"client_secret", service_secret_},
            {"scopes", {"api:read"}},
            {"client_credentials", true},
            {"issuer", issuer_},
            {"token_auth_method", "client_secret_post"}};
  auto created = daemon().post("/v1/apps", body);
  ASSERT_EQ(created.status, 201) << created.describe();

  std::set<std::string> seen;
  int inactive_reads = 0;
  bool done = eventually(
      [&] {
        if (auto row = published_token(daemon().db_url(), "oidc-service", std::nullopt)) {
          remember_secret(row->access_token);
          EXPECT_FALSE(row->grant_id.has_value());
          if (!active_at_provider(row->access_token, "mediax-service", service_secret_)) ++inactive_reads;
          seen.insert(row->access_token);
        }
        return seen.size() >= 2 && harness_stats().value("client_credentials", 0) >= 2;
      },
      30s, 200ms);
  ASSERT_TRUE(done) << "provider stats: " << harness_stats().dump() << ", distinct tokens: " << seen.size();
  EXPECT_EQ(inactive_reads, 0);
}

}  // namespace
}  // namespace mediax::e2e

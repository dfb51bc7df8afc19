// Admin API authentication: bearer API keys, roles, revocation, and the optional TLS listener.
#include <filesystem>

#include "harness.hpp"
#include "support/self_signed_cert.hpp"

namespace mediax::e2e {
namespace {

using AdminAuth = E2ETest;

TEST_F(AdminAuth, RequestWithoutKeyGets401WithBearerChallengeButPublicRoutesWork) {
  auto r = daemon().request("GET", "/v1/apps", "");
  EXPECT_EQ(r.status, 401) << r.describe();
  EXPECT_EQ(r.header("www-authenticate").rfind("Bearer", 0), 0U) << r.header("www-authenticate");
  EXPECT_EQ(r.json().value("error", ""), "unauthorized");
  EXPECT_EQ(daemon().request("POST", "/v1/apps", "", "{}", "application/json").status, 401);
  EXPECT_EQ(daemon().request("DELETE", "/v1/apps/x", "").status, 401);

  EXPECT_EQ(daemon().request("GET", "/healthz", "").status, 200);
  EXPECT_EQ(daemon().request("GET", "/readyz", "").status, 200);
  auto cb = daemon().request("GET", "/oauth/callback?code=abc&state=unknown", "");
  EXPECT_EQ(cb.status, 400) << "the callback is public (the browser has no key): " << cb.describe();

  EXPECT_EQ(daemon().get("/v1/apps").status, 200) << "the harness's admin key works";
  EXPECT_NE(daemon().log().find("GET /v1/apps refused: no API key"), std::string::npos);
}

TEST_F(AdminAuth, WrongKeyGets401AndIsNotLogged) {
  const std::string wrong = random_hex("mxk_wrong", 40);
  remember_secret(wrong);
  auto r = daemon().request("GET", "/v1/apps", wrong);
  EXPECT_EQ(r.status, 401) << r.describe();
  EXPECT_NE(r.header("www-authenticate").find("invalid_token"), std::string::npos);
  EXPECT_EQ(r.json().value("error", ""), "invalid_token");
  // A key with a valid key's prefix but one character changed.
  std::string almost = daemon().api_key();
  almost.back() = almost.back() == 'A' ? 'B' : 'A';
  remember_secret(almost);
  EXPECT_EQ(daemon().request("GET", "/v1/apps", almost).status, 401);
  EXPECT_TRUE(eventually([&] { return daemon().log().find("refused: unknown API key") != std::string::npos; }, 5s));
  // TearDown checks that neither key (nor the harness's) appears in the log.
}

TEST_F(AdminAuth, ReaderGetsTokensButIsForbiddenToChangeOrListAnything) {
  FakeOAuth2& fake = start_fake({.expires_in = 3600, .rotate_refresh = false, .issuer_path = ""});
  register_fake_app(fake, "svc", "client_secret_post", false, true);
  const std::string reader = daemon().create_api_key("dashboard", "reader");
  remember_secret(reader);

  HttpResult tok;
  ASSERT_TRUE(eventually(
      [&] {
        tok = daemon().request("GET", "/v1/apps/svc/token", reader);
        return tok.status == 200;
      },
      15s))
      << tok.describe();
  const std::string access = tok.json().value("access_token", "");
  remember_secret(access);
  EXPECT_FALSE(access.empty());

  auto rej = daemon().request("POST", "/v1/apps/svc/token/rejected", reader,
                              json{{"access_token", "not-the-current-one"}}.dump(), "application/json");
  EXPECT_EQ(rej.status, 200) << rej.describe();
  remember_secret(rej.json().value("access_token", ""));

  const auto body = json{{"name", "evil"}, {"platform", "oauth2"}}.dump();
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{{"POST", "/v1/apps"},
                                                                              {"DELETE", "/v1/apps/svc"},
                                                                              {"GET", "/v1/apps"},
                                                                              {"GET", "/v1/apps/svc"},
                                                                              {"POST", "/v1/apps/svc/refresh"},
                                                                              {"POST", "/v1/apps/svc/authorize"}}) {
    auto r = daemon().request(method, path, reader, method == "POST" ? body : "", "application/json");
    EXPECT_EQ(r.status, 403) << method << " " << path << ": " << r.describe();
    EXPECT_EQ(r.json().value("error", ""), "forbidden");
  }
  EXPECT_EQ(daemon().get("/v1/apps/svc").status, 200) << "the app is still there";
  EXPECT_NE(daemon().log().find("DELETE /v1/apps/svc refused: API key 'dashboard' has role reader"), std::string::npos);
}

TEST_F(AdminAuth, RevokedKeyStopsWorkingWithinSecondsAndListingShowsNoKeys) {
  const std::string key = daemon().create_api_key("temp", "admin");
  remember_secret(key);
  // A new key works within the registry's miss-reload interval (0.5 s).
  ASSERT_TRUE(eventually([&] { return daemon().request("GET", "/v1/apps", key).status == 200; }, 3s));

  auto dup = daemon().run_cli({"create-api-key", "--name", "temp", "--role", "admin"});
  EXPECT_NE(dup.exit_code, 0) << "a second key with the same name";
  EXPECT_EQ(dup.out, "");

  auto rv = daemon().run_cli({"revoke-api-key", "--name", "temp"});
  ASSERT_EQ(rv.exit_code, 0) << rv.err;
  const auto t = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return daemon().request("GET", "/v1/apps", key).status == 401; }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - t, 5s);
  EXPECT_EQ(daemon().get("/v1/apps").status, 200) << "other keys keep working";
  EXPECT_TRUE(eventually([&] { return daemon().log().find("API key 'temp' is revoked") != std::string::npos; }, 5s));

  auto ls = daemon().run_cli({"list-api-keys"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("temp"), std::string::npos);
  EXPECT_NE(ls.out.find("e2e"), std::string::npos);
  EXPECT_EQ(ls.out.find(key), std::string::npos);
  EXPECT_EQ(ls.out.find(daemon().api_key()), std::string::npos);
  EXPECT_EQ(ls.out.find("mxk_"), std::string::npos);

  auto bad_role = daemon().run_cli({"create-api-key", "--name", "x", "--role", "root"});
  EXPECT_EQ(bad_role.exit_code, 2);
  EXPECT_NE(bad_role.err.find("admin or reader"), std::string::npos);
}

// The admin listener over TLS with a self-signed certificate made by `openssl req`.
TEST(AdminTls, DaemonServesHttpsWithTheConfiguredCertificate) {
  const std::string dir = test::make_temp_dir("mediax-e2e-tls");
  const auto made = test::make_self_signed_cert(dir, "127.0.0.1", "IP:127.0.0.1");
  ASSERT_EQ(made.error, "");
  const std::string &cert = made.cert, &key = made.key;

  const std::string db = cluster().create_database("e2e_admin_tls_" + random_hex("", 6));
  std::string log;
  {
    Daemon d(db, dir, "", "tls_cert_file = \"" + cert + "\"\ntls_key_file = \"" + key + "\"");
    EXPECT_EQ(d.url("/").rfind("https://", 0), 0U);
    auto r = d.get("/v1/apps");
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(d.request("GET", "/v1/apps", "").status, 401);
    // Plain HTTP on the TLS port gets no API answer.
    auto plain = test::http_get("http" + d.url("/healthz").substr(5));
    EXPECT_NE(plain.status, 200) << plain.describe();
    d.stop();
    log = d.log();
    EXPECT_EQ(log.find(d.api_key()), std::string::npos);
  }
  std::error_code ec;
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace mediax::e2e

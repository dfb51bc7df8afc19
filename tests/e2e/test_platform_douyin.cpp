// Douyin against the fake Douyin: wrapped answers, errors with HTTP 200, numbers as strings, a
// refresh token that must be renewed (the old one dies at once) until the renewals run out, and the
// app's client token.
#include "core/types.hpp"
#include "platform_fixture.hpp"

namespace mediax::e2e {
namespace {

class DouyinE2E : public PlatformE2ETest {
 protected:
  DouyinE2E() {
    platform_ = "douyin";
    // Access tokens live 4 s, refresh tokens 30 s, two renewals allowed.
    fake_args_ = {"--expires-in", "4", "--refresh-expires-in", "30", "--client-expires-in", "4", "--max-renewals", "2"};
  }

  // Registers a client at the fake and a douyin app for it.
  json register_douyin(const std::string& name, json options = json::object(), bool client_credentials = false,
                       const std::string& secret_at_daemon = "") {
    client_key_ = random_hex("aw", 16);
    secret_ = random_hex("dysec-", 32);
    remember_secret(secret_);
    fake().control(
        "/_fake/clients",
        {{"client_key", client_key_}, {"client_secret", secret_}, {"redirect_uris", {daemon().callback_url()}}});
    json body{{"name", name},
              {"platform", "douyin"},
              {"client_id", client_key_},
              {"client_secret", secret_at_daemon.empty() ? secret_ : secret_at_daemon},
              {"scopes", {"user_info", "video.list"}},
              {"client_credentials", client_credentials},
              {"options", options}};
    return register_app(body);
  }

  std::string client_key_;
  std::string secret_;
};

// Long-lived tokens: no scheduled refresh interferes with injected failures.
class DouyinSlowE2E : public DouyinE2E {
 protected:
  DouyinSlowE2E() { fake_args_ = {"--expires-in", "3600"}; }
};

TEST_F(DouyinSlowE2E, AuthorizeUrlIsDouyinsConnectPage) {
  register_douyin("dyurl");
  auto r = daemon().post("/v1/apps/dyurl/authorize");
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string url = r.json().value("authorize_url", "");
  EXPECT_EQ(url.rfind(fake().base() + "/platform/oauth/connect/?", 0), 0u) << url;
  EXPECT_EQ(test::query_param(url, "client_key").value_or(""), client_key_);
  EXPECT_EQ(test::query_param(url, "scope").value_or(""), "user_info,video.list");
  EXPECT_EQ(test::query_param(url, "response_type").value_or(""), "code");
  EXPECT_EQ(test::query_param(url, "redirect_uri").value_or(""), daemon().callback_url());
  EXPECT_FALSE(test::query_param(url, "code_challenge").has_value()) << "Douyin takes no PKCE";
}

TEST_F(DouyinE2E, RefreshTokenIsRenewedUntilRenewalsRunOutThenReauthorizationIsAsked) {
  // Renew whenever the refresh token has less than 60 s left, i.e. on every refresh here.
  register_douyin("renewing", {{"renew_window_seconds", 60}, {"max_renewals", 2}});
  const std::int64_t id = connect_account("renewing", "alice", "open_alice");

  json g = grant(id);
  EXPECT_EQ(g.value("status", ""), "active");
  EXPECT_EQ(g["extra"].value("renewals", -1), 0);
  ASSERT_TRUE(g["refresh_expires_at"].is_string()) << g.dump();
  const std::string first_expiry = g["refresh_expires_at"].get<std::string>();

  // Each refresh renews (2 renewals); the third finds none left and asks for a new authorization
  // before the refresh token dies.
  bool reauth = eventually([&] { return grant(id).value("status", "") == "needs_reauth"; }, 30s, 200ms);
  g = grant(id);
  ASSERT_TRUE(reauth) << g.dump();
  EXPECT_EQ(fake().stat("renewals"), 2);
  EXPECT_EQ(fake().stat_in("renewals_by_account", "open_alice"), 2);
  EXPECT_GE(fake().stat("refreshes"), 2);
  EXPECT_EQ(fake().stat("dead_refresh_token_uses"), 0) << "the daemon sent a refresh token that a renewal had killed";
  EXPECT_EQ(g["extra"].value("renewals", -1), 2);
  EXPECT_GT(g["refresh_expires_at"].get<std::string>(), first_expiry) << "renewals move the refresh token's expiry";
  std::string reason = g.value("status_reason", "") + " " + g.value("last_error", "");
  EXPECT_NE(reason.find("renewals_exhausted"), std::string::npos) << g.dump();
  // Ahead of time: the refresh token the daemon holds is still alive at Douyin.
  EXPECT_GT(g["refresh_expires_at"].get<std::string>(), format_time(SysClock::now())) << g.dump();
}

TEST_F(DouyinSlowE2E, ErrorsWithHttp200AreClassifiedByTheirCode) {
  register_douyin("errors");
  const std::int64_t id = connect_account("errors", "bob", "open_bob");
  const std::string path = "/v1/grants/" + std::to_string(id) + "/refresh";

  fake().fail({{"endpoint", "refresh_token"}, {"error_code", 10001}, {"description", "系统异常"}});
  auto busy = daemon().post(path);
  EXPECT_EQ(busy.status, 502) << busy.describe();
  EXPECT_EQ(busy.json().value("platform_code", ""), "10001");
  EXPECT_EQ(busy.json().value("class", ""), "retry_later");
  EXPECT_EQ(grant(id).value("status", ""), "active");

  auto ok = daemon().post(path);
  ASSERT_EQ(ok.status, 200) << ok.describe();
  remember_secret(ok.json().value("access_token", ""));
  EXPECT_TRUE(fake().token_active(ok.json().value("access_token", "")));

  fake().fail({{"endpoint", "refresh_token"}, {"error_code", 10010}, {"description", "refresh_token过期"}});
  auto dead = daemon().post(path);
  EXPECT_EQ(dead.status, 502) << dead.describe();
  EXPECT_EQ(dead.json().value("platform_code", ""), "10010");
  EXPECT_EQ(dead.json().value("class", ""), "needs_reauth");
  EXPECT_EQ(grant(id).value("status", ""), "needs_reauth");
}

TEST_F(DouyinSlowE2E, WrongSecretFailsTheCodeExchangeAsAnAppProblem) {
  register_douyin("wrongsecret", json::object(), false, random_hex("wrong-", 24));
  auto r = test::http_get(authorize_at_platform("wrongsecret", "carol"));
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_NE(r.body.find("10013"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("app_misconfigured"), std::string::npos) << r.body;
  EXPECT_EQ(grants("wrongsecret").size(), 0u);
}

TEST_F(DouyinE2E, ReconnectingAnAccountReplacesItsGrantAndRestartsRenewals) {
  register_douyin("again", {{"renew_window_seconds", 60}, {"max_renewals", 2}});
  const std::int64_t first = connect_account("again", "dave", "open_dave");
  ASSERT_TRUE(eventually([&] { return grant(first)["extra"].value("renewals", 0) >= 2; }, 15s, 200ms));
  const std::int64_t second = connect_account("again", "dave", "open_dave");
  EXPECT_EQ(second, first);
  EXPECT_EQ(grants("again").size(), 1u);
  json g = grant(second);
  EXPECT_EQ(g.value("status", ""), "active");
  // A new authorization starts a new chain of renewals (at most one refresh can have run since).
  EXPECT_LT(g["extra"].value("renewals", 99), 2) << g.dump();
  // ... and the grant is kept fresh again.
  EXPECT_TRUE(eventually([&] { return fake().stat_in("renewals_by_account", "open_dave") >= 3; }, 10s, 200ms));
  EXPECT_EQ(fake().stat("dead_refresh_token_uses"), 0);
}

TEST_F(DouyinE2E, ClientTokenIsFetchedAndKeptFresh) {
  register_douyin("dyclient", json::object(), true);
  std::set<std::string> seen;
  int invalid = 0;
  bool done = eventually(
      [&] {
        std::string t = published("dyclient");
        if (!t.empty()) {
          if (!fake().token_active(t)) ++invalid;
          seen.insert(t);
        }
        return seen.size() >= 2;
      },
      20s, 150ms);
  ASSERT_TRUE(done) << "client tokens seen: " << seen.size() << ", issued: " << fake().stat("client_tokens_issued");
  EXPECT_EQ(invalid, 0) << "an expired or dropped client token was published";
  for (const auto& t : seen) EXPECT_EQ(t.rfind("clt.", 0), 0u);
}

}  // namespace
}  // namespace mediax::e2e

// Douyin against the fake Douyin: wrapped answers, errors with HTTP 200, numbers as strings, a
// refresh token renewed once, late, per life (the old one dies at once) until the renewals run out,
// then refreshed on to its real end; an app without the renew permission; the app's client token.
#include <algorithm>

#include "core/types.hpp"
#include "platform_fixture.hpp"

namespace mediax::e2e {
namespace {

class DouyinE2E : public PlatformE2ETest {
 protected:
  DouyinE2E() {
    platform_ = "douyin";
    // Access tokens live 6 s, refresh tokens 20 s (renewed 10 s before their end: half their
    // life; last refresh 2 s before it), two renewals allowed.
    fake_args_ = {"--expires-in", "6", "--refresh-expires-in", "20", "--client-expires-in", "4", "--max-renewals", "2"};
  }

  // Webhook events are looked for every second; the receiver is absent, so they stay listed.
  std::string prepare_daemon_config() override {
    return PlatformE2ETest::prepare_daemon_config() + "\n[webhook]\npoll_seconds = 1\nretry_min_seconds = 60\n";
  }

  void set_dead_webhook(const std::string& app) {
    const std::string secret = random_hex("whsec-", 32);
    remember_secret(secret);
    auto r = daemon().request("PUT", "/v1/apps/" + app + "/webhook", daemon().api_key(),
                              json{{"url", "http://127.0.0.1:9/hook"}, {"secret", secret}}.dump(), "application/json");
    require(r.status == 200, "PUT webhook: " + r.describe());
  }

  // How many events of that name the app's webhook has queued (delivered or not).
  int events(const std::string& app, const std::string& event) {
    auto r = daemon().get("/v1/apps/" + app + "/webhook");
    require(r.status == 200, "GET webhook: " + r.describe());
    int n = 0;
    for (const auto& d : r.json().value("deliveries", json::array())) n += d.value("event", "") == event ? 1 : 0;
    return n;
  }

  json app_json(const std::string& app) {
    auto r = daemon().get("/v1/apps/" + app);
    require(r.status == 200, "GET app: " + r.describe());
    return r.json();
  }

  // Registers a client at the fake and a douyin app for it.
  json register_douyin(const std::string& name, json options = json::object(), bool client_credentials = false,
                       const std::string& secret_at_daemon = "", bool renew_permission = true) {
    client_key_ = random_hex("aw", 16);
    secret_ = random_hex("dysec-", 32);
    remember_secret(secret_);
    fake().control("/_fake/clients", {{"client_key", client_key_},
                                      {"client_secret", secret_},
                                      {"redirect_uris", {daemon().callback_url(name)}},
                                      {"renew_permission", renew_permission}});
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
  std::string url = platform_url("dyurl");
  EXPECT_EQ(url.rfind(fake().base() + "/platform/oauth/connect/?", 0), 0u) << url;
  EXPECT_EQ(test::query_param(url, "client_key").value_or(""), client_key_);
  EXPECT_EQ(test::query_param(url, "scope").value_or(""), "user_info,video.list");
  EXPECT_EQ(test::query_param(url, "response_type").value_or(""), "code");
  EXPECT_EQ(test::query_param(url, "redirect_uri").value_or(""), daemon().callback_url("dyurl"));
  EXPECT_FALSE(test::query_param(url, "code_challenge").has_value()) << "Douyin takes no PKCE";
}

TEST_F(DouyinE2E, AGrantLivesThroughAllItsRenewalsToItsReauthDateAndEndsOnlyWhenItsRefreshTokenDies) {
  register_douyin("renewing", {{"max_renewals", 2}});
  set_dead_webhook("renewing");
  const std::int64_t id = connect_account("renewing", "alice", "open_alice");

  json g = grant(id);
  EXPECT_EQ(g.value("status", ""), "active");
  EXPECT_EQ(g["extra"].value("renewals", -1), 0);
  EXPECT_TRUE(g["reauth_due_at"].is_null()) << g.dump();
  ASSERT_TRUE(g["refresh_expires_at"].is_string()) << g.dump();
  const std::string first_expiry = g["refresh_expires_at"].get<std::string>();

  // Two renewals, each once and late; then the grant stays active with its reauth date.
  ASSERT_TRUE(eventually([&] { return grant(id)["reauth_due_at"].is_string(); }, 40s, 200ms)) << grant(id).dump();
  g = grant(id);
  EXPECT_EQ(g.value("status", ""), "active") << g.dump();
  EXPECT_EQ(g["extra"].value("renewals", -1), 2);
  EXPECT_EQ(g["reauth_due_at"], g["refresh_expires_at"]) << "the reauth date is the refresh token's real end";
  EXPECT_GT(g["refresh_expires_at"].get<std::string>(), first_expiry) << "renewals move the refresh token's expiry";
  EXPECT_EQ(fake().stat("renewals"), 2);
  EXPECT_GE(fake().stat("refreshes"), 4) << "the access token is refreshed on its own schedule";
  const std::string reauth_due_at = g["reauth_due_at"].get<std::string>();
  // grant.reauth_due is sent webhook.reauth_notice_days (7) before: at once here.
  EXPECT_TRUE(eventually([&] { return events("renewing", "grant.reauth_due") >= 1; }, 5s, 200ms));

  // Active to the end, needs_reauth once the refresh token is dead, not before.
  std::string ended_at;
  ASSERT_TRUE(eventually(
      [&] {
        if (grant(id).value("status", "") != "needs_reauth") return false;
        ended_at = format_time(SysClock::now());
        return true;
      },
      30s, 200ms))
      << grant(id).dump();
  EXPECT_GE(ended_at, reauth_due_at) << "the grant was ended before its refresh token died";
  g = grant(id);
  std::string reason = g.value("status_reason", "");
  EXPECT_TRUE(reason.find("refresh_token_expired") != std::string::npos || reason.find("10010") != std::string::npos)
      << g.dump();
  // The last refresh came just before the end: that access token outlives the grant's end.
  const std::string last = published("renewing", id);
  ASSERT_FALSE(last.empty());
  EXPECT_TRUE(fake().token_active(last)) << "the final access token should last past the refresh token's end";
  EXPECT_EQ(fake().stat("renewals"), 2);
  EXPECT_EQ(fake().stat_in("errors_by_code", "10020"), 0) << "no renewal was tried beyond max_renewals";
  EXPECT_EQ(fake().stat("dead_refresh_token_uses"), 0) << "the daemon sent a refresh token that a renewal had killed";
  EXPECT_TRUE(eventually([&] { return events("renewing", "grant.needs_reauth") == 1; }, 5s, 200ms));
  EXPECT_EQ(events("renewing", "grant.reauth_due"), 1) << "sent once per refresh token's life";
}

TEST_F(DouyinE2E, WithoutTheRenewPermissionTheAppIsFlaggedOnceAndItsGrantsRefreshToTheirEnd) {
  register_douyin("norenew", json::object(), false, "", false);
  set_dead_webhook("norenew");
  const std::int64_t alice = connect_account("norenew", "alice", "open_alice");
  EXPECT_TRUE(app_json("norenew")["renew_not_permitted_at"].is_null());

  // Half-way through its refresh token's life the renewal is refused with 10004: the refresh that
  // went with it is kept, the app is flagged, the grant gets its reauth date and stays active.
  ASSERT_TRUE(eventually([&] { return app_json("norenew")["renew_not_permitted_at"].is_string(); }, 20s, 200ms));
  json g = grant(alice);
  EXPECT_EQ(g.value("status", ""), "active") << g.dump();
  ASSERT_TRUE(g["reauth_due_at"].is_string()) << g.dump();
  EXPECT_EQ(g["reauth_due_at"], g["refresh_expires_at"]);
  EXPECT_EQ(fake().stat_in("errors_by_code", "10004"), 1);
  EXPECT_TRUE(eventually([&] { return events("norenew", "app.renew_not_permitted") == 1; }, 5s, 200ms));

  // An account connected now gets its reauth date at once and is never renewed.
  const std::int64_t bob = connect_account("norenew", "bob", "open_bob");
  EXPECT_TRUE(grant(bob)["reauth_due_at"].is_string()) << grant(bob).dump();
  const auto bob_refreshes = fake().stat_in("refreshes_by_account", "open_bob");
  EXPECT_TRUE(
      eventually([&] { return fake().stat_in("refreshes_by_account", "open_bob") > bob_refreshes + 1; }, 15s, 200ms))
      << "bob's grant keeps refreshing";

  // alice: active until her refresh token dies, then needs_reauth.
  const std::string alice_due = grant(alice)["reauth_due_at"].get<std::string>();
  std::string ended_at;
  ASSERT_TRUE(eventually(
      [&] {
        if (grant(alice).value("status", "") != "needs_reauth") return false;
        ended_at = format_time(SysClock::now());
        return true;
      },
      25s, 200ms));
  EXPECT_GE(ended_at, alice_due);
  EXPECT_EQ(fake().stat("renewals"), 0);
  EXPECT_EQ(fake().stat_in("errors_by_code", "10004"), 1) << "renewal is not tried again for a flagged app";
  EXPECT_EQ(events("norenew", "app.renew_not_permitted"), 1) << "the app is flagged once";
  EXPECT_GE(events("norenew", "grant.reauth_due"), 1);
}

TEST_F(DouyinSlowE2E, OptionalScopesTheCreatorKeepsAreGranted) {
  register_douyin("dyopt", {{"optional_scopes", {{"friend_relation", true}, {"message", false}}}});
  const std::string url = platform_url("dyopt");
  EXPECT_EQ(test::query_param(url, "optionalScope").value_or(""), "friend_relation,1,message,0") << url;
  const std::int64_t id = connect_account("dyopt", "erin", "open_erin");
  const auto scopes = grant(id)["scopes"];
  EXPECT_NE(std::find(scopes.begin(), scopes.end(), "friend_relation"), scopes.end()) << scopes.dump();
  EXPECT_EQ(std::find(scopes.begin(), scopes.end(), "message"), scopes.end()) << scopes.dump();
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
  auto r = visit(authorize_at_platform("wrongsecret", "carol"));
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_NE(r.body.find("10013"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("app_misconfigured"), std::string::npos) << r.body;
  EXPECT_EQ(grants("wrongsecret").size(), 0u);
}

TEST_F(DouyinE2E, ReconnectingAnAccountReplacesItsGrantAndRestartsRenewals) {
  register_douyin("again", {{"max_renewals", 2}});
  const std::int64_t first = connect_account("again", "dave", "open_dave");
  ASSERT_TRUE(eventually([&] { return grant(first)["extra"].value("renewals", 0) >= 2; }, 30s, 200ms));
  ASSERT_TRUE(grant(first)["reauth_due_at"].is_string());
  const std::int64_t second = connect_account("again", "dave", "open_dave");
  EXPECT_EQ(second, first);
  EXPECT_EQ(grants("again").size(), 1u);
  json g = grant(second);
  EXPECT_EQ(g.value("status", ""), "active");
  // A new authorization starts a new chain of renewals, without a reauth date.
  EXPECT_LT(g["extra"].value("renewals", 99), 2) << g.dump();
  EXPECT_TRUE(g["reauth_due_at"].is_null()) << g.dump();
  // ... and the grant is kept fresh again.
  EXPECT_TRUE(eventually([&] { return fake().stat_in("renewals_by_account", "open_dave") >= 3; }, 20s, 200ms));
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

TEST_F(DouyinE2E, StableClientTokenCostsAtMostTwoCallsPerLifetime) {
  register_douyin("dystable", {{"client_token", "stable_client_token"}}, true);
  std::set<std::string> seen;
  ASSERT_TRUE(eventually(
      [&] {
        std::string t = published("dystable");
        if (!t.empty()) seen.insert(t);
        return seen.size() >= 4;
      },
      30s, 150ms))
      << "stable tokens seen: " << seen.size();
  const auto issued = fake().stat("client_tokens_issued");
  const auto repeated = fake().stat("stable_client_tokens_repeated");
  // Each 4 s token: one call at the policy's time (same token back), one right after its end.
  EXPECT_LE(repeated, issued + 1) << "issued " << issued << ", repeated " << repeated;
  EXPECT_GE(issued, 4);
}

}  // namespace
}  // namespace mediax::e2e

// Keys that can do only what they must (issue 21): reader keys scoped to apps, on both listeners;
// failed authentications limited per peer; token/rejected limited per key and per token with no
// platform call beyond the limit; /metrics behind a key when metrics.require_key.
#include "harness.hpp"

namespace mediax::e2e {
namespace {

// A daemon with the token listener and `extra` appended to its config ([security] gets the
// database's key file added here: the harness leaves [security] to a config that names it).
class KeysTest : public E2ETest {
 protected:
  virtual std::string security_extra() const { return ""; }
  virtual std::string other_extra() const { return ""; }

  void SetUp() override {
    dir_ = test::make_temp_dir("mediax-e2e");
    token_port_ = test::free_port();
    const std::string db = cluster().create_database(random_hex("e2e_keys_", 8));
    const std::string config = "[security]\nkey_file = \"" + seal_key_file_for(db, dir_) + "\"\n" + security_extra() +
                               "\n" + other_extra();
    daemon_ =
        std::make_unique<Daemon>(db, dir_, config, "token_listen = \"127.0.0.1:" + std::to_string(token_port_) + "\"");
  }

  HttpResult on_token_listener(const std::string& method, const std::string& path, const std::string& key) const {
    test::HttpHeaders headers;
    if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
    return test::http_request(method, "http://127.0.0.1:" + std::to_string(token_port_) + path, "", "", headers);
  }
  HttpResult on(bool token_listener, const std::string& path, const std::string& key) {
    return token_listener ? on_token_listener("GET", path, key) : daemon().request("GET", path, key);
  }
  // create-api-key with --apps; the key.
  std::string create_scoped_key(const std::string& name, const std::string& apps) {
    auto r = daemon().run_cli({"create-api-key", "--name", name, "--role", "reader", "--apps", apps});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string key = r.out;
    while (!key.empty() && key.back() == '\n') key.pop_back();
    remember_secret(key);
    return key;
  }

  int token_port_ = 0;
};

using KeysScoped = KeysTest;

TEST_F(KeysScoped, AReaderKeyScopedToAppsGets403ForAnotherAppsTokenOnBothListenersAnd200ForItsOwn) {
  auto& fake = start_fake({.expires_in = 3600, .rotate_refresh = false, .issuer_path = ""});
  register_fake_app(fake, "crm-main", "client_secret_post");
  register_fake_app(fake, "billing", "client_secret_post");
  register_fake_app(fake, "crm-service", "client_secret_post", false, true);
  const std::int64_t crm_grant = connect("crm-main", "alice");
  const std::int64_t billing_grant = connect("billing", "bob");

  // The CLI checks --apps before it reaches the database, and never scopes an admin key.
  auto admin_scoped = daemon().run_cli({"create-api-key", "--name", "adm2", "--role", "admin", "--apps", "crm-*"});
  EXPECT_EQ(admin_scoped.exit_code, 2);
  EXPECT_NE(admin_scoped.err.find("only reader keys are scoped to apps"), std::string::npos) << admin_scoped.err;
  auto bad = daemon().run_cli({"create-api-key", "--name", "bad", "--role", "reader", "--apps", "crm,Billing"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("'Billing' may hold only"), std::string::npos) << bad.err;
  EXPECT_TRUE(bad.out.empty()) << "no key printed";

  const std::string crm_key = create_scoped_key("crm-reader", "crm-*");
  const auto list = daemon().run_cli({"list-api-keys"});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("APPS"), std::string::npos) << list.out;
  const auto row = list.out.substr(list.out.find("crm-reader"));
  EXPECT_NE(row.substr(0, row.find('\n')).find("crm-*"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find(crm_key), std::string::npos);

  const std::string own = "/v1/grants/" + std::to_string(crm_grant) + "/token";
  const std::string other = "/v1/grants/" + std::to_string(billing_grant) + "/token";
  for (const bool token_listener : {false, true}) {
    const std::string where = token_listener ? "token listener" : "admin listener";
    HttpResult ok;
    // A key made a moment ago works once the registry reloads (at once, or within its 500 ms guard).
    EXPECT_TRUE(eventually(
        [&] {
          ok = on(token_listener, own, crm_key);
          return ok.status == 200;
        },
        5s))
        << where << ": " << ok.describe();
    remember_secret(ok.json().value("access_token", ""));
    EXPECT_FALSE(ok.json().value("access_token", "").empty());

    const auto refused = on(token_listener, other, crm_key);
    EXPECT_EQ(refused.status, 403) << where << ": " << refused.describe();
    EXPECT_EQ(refused.json().value("error", ""), "forbidden");
    EXPECT_EQ(refused.json().value("message", ""),
              "API key 'crm-reader' may use the tokens of apps crm-* only; grant " + std::to_string(billing_grant) +
                  " belongs to another app");
    EXPECT_EQ(refused.body.find("access_token"), std::string::npos);

    const auto app_ok = on(token_listener, "/v1/apps/crm-service/token", crm_key);
    EXPECT_TRUE(
        eventually([&] { return on(token_listener, "/v1/apps/crm-service/token", crm_key).status == 200; }, 15s))
        << where << ": " << app_ok.describe();
    const auto app_refused = on(token_listener, "/v1/apps/billing/token", crm_key);
    EXPECT_EQ(app_refused.status, 403) << where << ": " << app_refused.describe();
    EXPECT_EQ(app_refused.json().value("message", ""),
              "API key 'crm-reader' may use the tokens of apps crm-* only; app 'billing' is not one of them");
  }
  // The harness's admin key and an unscoped reader read every app.
  EXPECT_EQ(daemon().get(other).status, 200);
  const std::string any_reader = daemon().create_api_key("any-reader", "reader");
  remember_secret(any_reader);
  EXPECT_TRUE(eventually([&] { return on(true, other, any_reader).status == 200; }, 5s));

  // Rejected-token reports: the same scope; a refused one causes no platform call.
  const auto refreshes = fake.stat("refreshes");
  const auto report = daemon().request("POST", other + "/rejected", crm_key,
                                       json{{"access_token", "whatever-it-was"}}.dump(), "application/json");
  EXPECT_EQ(report.status, 403) << report.describe();
  EXPECT_EQ(fake.stat("refreshes"), refreshes);
}

class KeysAuthFailures : public KeysTest {
 protected:
  std::string security_extra() const override {
    return "auth_failures_per_peer = 4\nauth_failure_window_seconds = 3\n";
  }
};

TEST_F(KeysAuthFailures, RepeatedBadKeysFromOnePeerGet429WithRetryAfterEvenWithAGoodKeyUntilTheWindowEnds) {
  const std::string path = "/v1/apps";
  const std::string wrong = random_hex("mxk_wrong", 40);
  remember_secret(wrong);
  ASSERT_EQ(daemon().get(path).status, 200);
  // Four failures (wrong keys on both listeners, a missing key): each a 401.
  EXPECT_EQ(daemon().request("GET", path, wrong).status, 401);
  EXPECT_EQ(on_token_listener("GET", "/v1/grants/1/token", wrong).status, 401);
  EXPECT_EQ(daemon().request("GET", path, "").status, 401);
  EXPECT_EQ(on_token_listener("GET", "/v1/grants/1/token", wrong + "x").status, 401);

  for (const bool token_listener : {false, true}) {
    const auto held = token_listener ? on_token_listener("GET", "/v1/grants/1/token", daemon().api_key())
                                     : daemon().request("GET", path, daemon().api_key());
    EXPECT_EQ(held.status, 429) << held.describe();
    EXPECT_EQ(held.json().value("error", ""), "rate_limited");
    const int retry_after = std::stoi(held.header("retry-after").empty() ? "0" : held.header("retry-after"));
    EXPECT_GE(retry_after, 1);
    EXPECT_LE(retry_after, 3);
    EXPECT_NE(held.json().value("message", "").find("security.auth_failures_per_peer"), std::string::npos);
  }
  EXPECT_EQ(daemon().request("GET", "/healthz", "").status, 200) << "open routes stay open";
  const auto log = daemon().log();
  const std::string line = "4 failed authentications from 127.0.0.1 within 3 s (the last: GET /v1/grants/1/token)";
  const auto first = log.find(line);
  EXPECT_NE(first, std::string::npos) << "logged with the peer and the route";
  EXPECT_EQ(log.find("failed authentications from", first + line.size()), std::string::npos) << "once per window";
  // The window passes: the good key works again.
  EXPECT_TRUE(eventually([&] { return daemon().get(path).status == 200; }, 6s));
  // TearDown checks that no key (the wrong ones included) is in the log.
}

class KeysRejectedLimit : public KeysTest {
 protected:
  std::string security_extra() const override {
    return "rejected_per_token_per_minute = 2\nrejected_per_key_per_minute = 3\n";
  }
};

TEST_F(KeysRejectedLimit, ReportsBeyondTheLimitGet429WithRetryAfterAndCauseNoPlatformCall) {
  auto& fake = start_fake({.expires_in = 3600, .rotate_refresh = false, .issuer_path = ""});
  register_fake_app(fake, "svc", "client_secret_post");
  const std::int64_t g1 = connect("svc", "alice");
  const std::int64_t g2 = connect("svc", "bob");
  const std::string reader = daemon().create_api_key("consumer", "reader");
  remember_secret(reader);
  const std::string p1 = "/v1/grants/" + std::to_string(g1) + "/token";
  const std::string p2 = "/v1/grants/" + std::to_string(g2) + "/token";
  ASSERT_TRUE(eventually([&] { return daemon().request("GET", p1, reader).status == 200; }, 5s));

  // Reports the current token of path as rejected; the answer.
  auto report = [&](const std::string& path) {
    const auto current = daemon().request("GET", path, reader);
    const std::string token = current.json().value("access_token", "");
    remember_secret(token);
    auto r =
        daemon().request("POST", path + "/rejected", reader, json{{"access_token", token}}.dump(), "application/json");
    remember_secret(r.json().value("access_token", ""));
    return r;
  };

  const auto before = fake.stat("refreshes");
  EXPECT_EQ(report(p1).status, 200);
  EXPECT_EQ(report(p1).status, 200);
  EXPECT_EQ(fake.stat("refreshes"), before + 2) << "each report forced a refresh";
  const auto held = report(p1);
  EXPECT_EQ(held.status, 429) << held.describe();
  EXPECT_EQ(held.json().value("error", ""), "rate_limited");
  EXPECT_NE(held.json().value("message", "").find("security.rejected_per_token_per_minute"), std::string::npos);
  const int retry_after = std::stoi(held.header("retry-after").empty() ? "0" : held.header("retry-after"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60);
  EXPECT_EQ(held.json().value("retry_after_seconds", 0), retry_after);
  EXPECT_EQ(fake.stat("refreshes"), before + 2) << "no platform call for a refused report";
  // A report of a token already replaced starts no refresh: answered with the current token,
  // neither counted nor refused.
  const auto replaced = daemon().request("POST", p1 + "/rejected", reader,
                                         json{{"access_token", "a-token-replaced-long-ago"}}.dump(), "application/json");
  EXPECT_EQ(replaced.status, 200) << replaced.describe();
  remember_secret(replaced.json().value("access_token", ""));
  EXPECT_EQ(fake.stat("refreshes"), before + 2);

  // Another grant's token: its own allowance, until the key's (3 a minute) is spent.
  EXPECT_EQ(report(p2).status, 200);
  const auto key_held = report(p2);
  EXPECT_EQ(key_held.status, 429) << key_held.describe();
  EXPECT_NE(key_held.json().value("message", "").find("by API key 'consumer'"), std::string::npos);
  EXPECT_EQ(fake.stat("refreshes"), before + 3);

  // Counted in the metrics.
  const auto metrics = daemon().request("GET", "/metrics", "");
  EXPECT_NE(metrics.body.find("mediax_rate_limited_total{limit=\"rejected_per_token\"} 1"), std::string::npos)
      << metrics.body.substr(0, 2000);
  EXPECT_NE(metrics.body.find("mediax_rate_limited_total{limit=\"rejected_per_key\"} 1"), std::string::npos);
}

class KeysMetrics : public KeysTest {
 protected:
  std::string other_extra() const override { return "[metrics]\nrequire_key = true\n"; }
};

TEST_F(KeysMetrics, MetricsRequireKeyAsksForAReaderOrAdminKey) {
  const auto none = daemon().request("GET", "/metrics", "");
  EXPECT_EQ(none.status, 401) << none.describe();
  EXPECT_EQ(none.json().value("error", ""), "unauthorized");
  const std::string reader = daemon().create_api_key("prometheus", "reader");
  remember_secret(reader);
  HttpResult ok;
  EXPECT_TRUE(eventually(
      [&] {
        ok = daemon().request("GET", "/metrics", reader);
        return ok.status == 200;
      },
      5s))
      << ok.describe();
  EXPECT_NE(ok.body.find("mediax_"), std::string::npos);
  EXPECT_EQ(daemon().request("GET", "/metrics", daemon().api_key()).status, 200);
  EXPECT_EQ(daemon().request("GET", "/healthz", "").status, 200) << "health stays open";
  EXPECT_EQ(daemon().request("GET", "/readyz", "").status, 200);
}

}  // namespace
}  // namespace mediax::e2e

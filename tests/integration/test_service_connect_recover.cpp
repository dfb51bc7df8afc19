// ConnectFlow and Grants against a real PostgreSQL store and scripted platforms: starting a connection with
// a platform that must fetch something first (the WeChat third-party platform's pre_auth_code),
// the callback with its auth_code, and recovering a grant.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <deque>
#include <mutex>

#include "obs/metrics.hpp"
#include "pg_env.hpp"
#include "platforms/registry.hpp"
#include "schedule/scheduler.hpp"
#include "service/component_status.hpp"
#include "service/token_reads.hpp"
#include "service/apps.hpp"
#include "support/fake_resolver.hpp"
#include "service/connect_flow.hpp"
#include "service/grants.hpp"
#include "service/new_grant_store.hpp"

namespace mediax::test {
namespace {

// The cookie of the browser these flows are started in (the callback requires it).
constexpr const char* kBrowser = "browser-cookie-1";

CallbackRequest bound(std::map<std::string, std::string> params) {
  return {std::move(params), std::nullopt, std::string(kBrowser)};
}

class NoHttp final : public HttpClient {
 public:
  HttpClientResponse send(const HttpClientRequest&) override {
    HttpClientResponse r;
    r.error = "connection";
    return r;
  }
};

Outcome token(const std::string& access, const std::string& account, std::vector<std::string> scopes,
              std::optional<std::string> refresh) {
  TokenResult t;
  t.access_token = access;
  t.expires_in = Seconds(7200);
  t.account_id = account;
  t.scopes = std::move(scopes);
  t.refresh_token = std::move(refresh);
  return Outcome::success(t);
}

// Stands in for the WeChat third-party platform (its name, so that component_status reads the app's
// ticket state): takes mobile/auth_type/biz_appid, fetches a single-use code before the URL is
// built, puts the state into the redirect_uri, can recover a grant. What it answers is queued by
// the test; what it was given is kept.
class ComponentLike final : public Platform {
 public:
  std::string name() const override { return component_status::kPlatform; }
  AppCheck prepare_app(App&) override { return {}; }
  bool uses_pkce(const App&) const override { return false; }
  std::string check_authorize(const App&, const AuthorizeParams& p) const override {
    return p.scopes.empty() && p.prompt.empty() ? "" : "takes no scopes or prompt";
  }
  Outcome prepare_authorize(const App& app, AuthorizeParams& p) override {
    std::lock_guard lk(mu);
    prepared_with_secret = app.client_secret;
    seen = p;
    Outcome o = prepare.empty() ? Outcome::success({}) : prepare.front();
    if (!prepare.empty()) prepare.pop_front();
    if (o.ok()) p.pre_auth_code = "preauthcode@@@single-use";
    return o;
  }
  std::string authorize_url(const App& app, const AuthorizeParams& p) const override {
    return "https://mp.example/componentloginpage?pre_auth_code=" + p.pre_auth_code +
           "&redirect_uri=" + app.redirect_uri + "%3Fstate%3D" + p.state + (p.mobile ? "&mobile=1" : "");
  }
  Outcome exchange_code(const App&, const std::string& code, const std::string&, const std::string&) override {
    std::lock_guard lk(mu);
    exchanged.push_back(code);
    return next(exchange);
  }
  Outcome refresh(const App&, const Grant&) override {
    return Outcome::failure(OutcomeKind::retry_later, "script", "not used");
  }
  Outcome client_token(const App&, const AppTokenCall&) override {
    return Outcome::failure(OutcomeKind::retry_later, "script", "not used");
  }
  Outcome revoke(const App&, const Grant&) override { return Outcome::success({}); }
  Outcome recover_grant(const App& app, const Grant& g) override {
    std::lock_guard lk(mu);
    ++recover_calls;
    recovered_with_secret = app.client_secret;
    recovered_refresh_token = g.refresh_token;
    return next(recover);
  }

  std::mutex mu;
  std::deque<Outcome> prepare, exchange, recover;
  AuthorizeParams seen;
  std::string prepared_with_secret, recovered_with_secret, recovered_refresh_token;
  std::vector<std::string> exchanged;
  int recover_calls = 0;

 private:
  static Outcome next(std::deque<Outcome>& q) {
    if (q.empty()) return Outcome::failure(OutcomeKind::retry_later, "script_empty", "no answer queued");
    auto o = q.front();
    q.pop_front();
    return o;
  }
};

// A platform that keeps Platform's defaults for choices, preparation and recovery.
class Plain final : public Platform {
 public:
  std::string name() const override { return "plain"; }
  AppCheck prepare_app(App&) override { return {}; }
  bool uses_pkce(const App&) const override { return true; }
  std::string authorize_url(const App&, const AuthorizeParams& p) const override {
    return "https://idp.example/authorize?state=" + p.state;
  }
  Outcome exchange_code(const App&, const std::string&, const std::string&, const std::string&) override {
    return token("plain-access", "alice", {"read"}, "plain-refresh");
  }
  Outcome refresh(const App&, const Grant&) override { return Outcome::failure(OutcomeKind::retry_later, "x", ""); }
  Outcome client_token(const App&, const AppTokenCall&) override {
    return Outcome::failure(OutcomeKind::retry_later, "x", "");
  }
  Outcome revoke(const App&, const Grant&) override { return Outcome::success({}); }
};

class ConnectRecoverTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto c = std::make_unique<ComponentLike>();
    component_ = c.get();
    registry_.add(std::move(c));
    registry_.add(std::make_unique<Plain>());
    refresh_cfg_.jitter_seconds = 0;
    policy_ = std::make_unique<RefreshPolicy>(refresh_cfg_);
    refresher_ = std::make_unique<Refresher>(*store_, *store_, *store_, registry_, cache_, *policy_, clock_,
                                             "instance-a", metrics_);
    // Never run: what the services schedule just sits in the wheel.
    scheduler_ = std::make_unique<Scheduler>(io_, *refresher_, clock_, 1, metrics_);
    App a = sample_app("wxc");
    a.platform = component_status::kPlatform;
    a.client_id = "wxcomponent0001";
    a.client_secret = "component-secret";
    app_ = store_->create_app(a);
    // WeChat has pushed a ticket: the app waits for one only when its token's last error says so.
    store_->put_component_ticket({app_.id, "ticket@@@one", clock_.system(), clock_.system()});
    App p = sample_app("plain");
    p.platform = "plain";
    plain_ = store_->create_app(p);
    reads_ = std::make_unique<TokenReads>(*store_, cache_, *refresher_, clock_);
    apps_ = std::make_unique<Apps>(*store_, *store_, *store_, *store_, registry_, cache_, *reads_, *scheduler_, config_,
                                   clock_, outbound_);
    new_grants_ = std::make_unique<NewGrantStore>(*store_, *store_, cache_, *scheduler_, *policy_, clock_);
    grants_ = std::make_unique<Grants>(*store_, *store_, registry_, cache_, *scheduler_, *apps_, *new_grants_, clock_);
    connect_ = std::make_unique<ConnectFlow>(*store_, *store_, registry_, *grants_, *new_grants_, config_, clock_);
  }

  // The ApiError a call answered with; a failure of the test when it succeeded.
  template <typename T>
  static ApiError refusal(const Expected<T>& r) {
    EXPECT_FALSE(r) << "no error";
    return r ? ApiError(0, "", "") : r.error();
  }

  std::vector<std::string> event_kinds(std::int64_t grant_id) {
    std::vector<std::string> out;
    for (const auto& e : store_->list_events(std::nullopt, grant_id, 20)) out.push_back(e.kind);
    return out;
  }

  void set_grant_state(std::int64_t id, const std::string& status, const std::string& last_error) {
    pqxx::connection c(url_);
    pqxx::work w(c);
    w.exec_params("UPDATE mediax.grants SET status = $2, last_error = $3, failure_count = 4 WHERE id = $1", id, status,
                  last_error);
    w.commit();
  }

  RealTimeSource clock_;
  NoHttp http_;
  PlatformRegistry registry_{http_, PlatformSettings{}};
  ComponentLike* component_ = nullptr;
  RefreshConfig refresh_cfg_;
  std::unique_ptr<RefreshPolicy> policy_;
  TokenCache cache_;
  metrics::Registry metrics_;
  std::unique_ptr<Refresher> refresher_;
  boost::asio::io_context io_;
  std::unique_ptr<Scheduler> scheduler_;
  Config config_;
  // Every name resolves to a public address; the tests' loopback is allowed, as in the e2e config.
  test::FakeResolver resolver_{{"93.184.215.14"}};
  OutboundGuard outbound_{test::policy_allowing({"127.0.0.0/8", "::1/128"}), resolver_};
  std::unique_ptr<TokenReads> reads_;
  std::unique_ptr<Apps> apps_;
  std::unique_ptr<NewGrantStore> new_grants_;
  std::unique_ptr<Grants> grants_;
  std::unique_ptr<ConnectFlow> connect_;
  App app_, plain_;
};

TEST_F(ConnectRecoverTest, StartingPassesTheChoicesAndTheAppsSecretToPrepareAuthorize) {
  AuthorizeChoices c;
  c.mobile = true;
  c.auth_type = 1;
  c.biz_appid = "wx1111222233334444";
  const auto a = connect_->start_authorization("wxc", c, kBrowser).value();
  EXPECT_TRUE(component_->seen.mobile);
  EXPECT_EQ(component_->seen.auth_type, 1);
  EXPECT_EQ(component_->seen.biz_appid, "wx1111222233334444");
  EXPECT_EQ(component_->seen.state, a.state);  // known before the platform is called
  EXPECT_EQ(component_->prepared_with_secret, "component-secret");
  EXPECT_NE(a.authorize_url.find("pre_auth_code=preauthcode@@@single-use"), std::string::npos) << a.authorize_url;
  EXPECT_NE(a.authorize_url.find("%3Fstate%3D" + a.state), std::string::npos);
  EXPECT_NE(a.authorize_url.find("&mobile=1"), std::string::npos);
}

TEST_F(ConnectRecoverTest, APreparationFailureIsAClearErrorAndStoresNoRequest) {
  component_->prepare.push_back(Outcome::failure(OutcomeKind::retry_later, "waiting_for_ticket",
                                                 "no component_verify_ticket yet", 0, Seconds(600)));
  {
    const ApiError e = refusal(connect_->start_authorization("wxc", {}, kBrowser));
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.code(), "waiting_for_ticket");
    EXPECT_EQ(std::string(e.what()).rfind("WeChat has not pushed a component_verify_ticket yet; ", 0), 0U);
    EXPECT_EQ(e.details().value("retry_after_seconds", 0), 600);
  }
  component_->prepare.push_back(Outcome::failure(OutcomeKind::app_misconfigured, "61004",
                                                 "access clientip is not registered: whitelist 203.0.113.7"));
  {
    const ApiError e = refusal(connect_->start_authorization("wxc", {}, kBrowser));
    EXPECT_EQ(e.status(), 422);
    EXPECT_EQ(e.code(), "app_misconfigured");
    EXPECT_NE(std::string(e.what()).find("203.0.113.7"), std::string::npos);
  }
  pqxx::connection conn(url_);
  pqxx::work w(conn);
  EXPECT_EQ(w.exec("SELECT count(*) FROM mediax.auth_requests")[0][0].as<int>(), 0);
}

TEST_F(ConnectRecoverTest, AnUnavailableComponentTokenWhileTheAppTokenWaitsForTheTicketIsWaitingForTicket) {
  {
    pqxx::connection conn(url_);
    pqxx::work w(conn);
    w.exec_params("UPDATE mediax.apps SET last_error = $2, failure_count = 1 WHERE id = $1", app_.id,
                  "waiting_for_ticket: no component_verify_ticket has been pushed yet");
    w.commit();
  }
  component_->prepare.push_back(
      Outcome::failure(OutcomeKind::retry_later, "component_token_unavailable", "not available yet", 0, Seconds(600)));
  {
    const ApiError e = refusal(connect_->start_authorization("wxc", {}, kBrowser));
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.code(), "waiting_for_ticket");
    EXPECT_EQ(e.details().value("platform_code", ""), "component_token_unavailable");
  }
}

TEST_F(ConnectRecoverTest, PlatformsWithoutChoicesStillRefuseTheNewOnes) {
  AuthorizeChoices c;
  c.mobile = true;
  {
    const ApiError e = refusal(connect_->start_authorization("plain", c, kBrowser));
    EXPECT_EQ(e.status(), 400);
  }
  EXPECT_FALSE(connect_->start_authorization("plain", {}, kBrowser).value().authorize_url.empty());
}

TEST_F(ConnectRecoverTest, TheCallbackTakesAuthCodeAndNamesTheAccountAndPermissionSets) {
  const auto a = connect_->start_authorization("wxc", {}, kBrowser).value();
  component_->exchange.push_back(token("authorizer-access", "wx1111222233334444", {"1", "15"}, "authorizer-refresh"));
  const auto r =
      connect_->handle_callback(bound({{"auth_code", "queryauthcode@@@abc"}, {"expires_in", "600"}, {"state", a.state}}));
  ASSERT_EQ(r.status, 200) << r.title << ": " << r.message;
  EXPECT_EQ(component_->exchanged, std::vector<std::string>{"queryauthcode@@@abc"});
  ASSERT_TRUE(r.grant.has_value());
  EXPECT_EQ(r.grant->account_id, "wx1111222233334444");
  EXPECT_EQ(r.grant->scopes, (std::vector<std::string>{"1", "15"}));
  EXPECT_NE(r.message.find("Account 'wx1111222233334444'"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("Permission sets granted: 1, 15."), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("queryauthcode"), std::string::npos);
  EXPECT_EQ(store_->get_grant(r.grant->id, true)->refresh_token, "authorizer-refresh");
  EXPECT_EQ(cache_.get(RefreshKey{app_.id, r.grant->id})->access_token, "authorizer-access");
}

TEST_F(ConnectRecoverTest, TheCallbackReadsAnAuthCodeAppendedAfterTheStatesQuery) {
  const auto a = connect_->start_authorization("wxc", {}, kBrowser).value();
  component_->exchange.push_back(token("authorizer-access", "wx1111222233334444", {"1"}, "authorizer-refresh"));
  const auto r =
      connect_->handle_callback(bound({{"state", a.state + "?auth_code=queryauthcode@@@def"}, {"expires_in", "600"}}));
  ASSERT_EQ(r.status, 200) << r.title << ": " << r.message;
  EXPECT_EQ(component_->exchanged, std::vector<std::string>{"queryauthcode@@@def"});
}

TEST_F(ConnectRecoverTest, AnOAuthCodeCallbackIsAsBefore) {
  const auto a = connect_->start_authorization("plain", {}, kBrowser).value();
  const auto r = connect_->handle_callback(bound({{"code", "c1"}, {"state", a.state}}));
  ASSERT_EQ(r.status, 200) << r.message;
  EXPECT_EQ(r.message.find("Permission sets"), std::string::npos) << r.message;
  const auto none = connect_->handle_callback(bound({{"state", connect_->start_authorization("plain", {}, kBrowser).value().state}}));
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(none.title, "Missing code");
}

TEST_F(ConnectRecoverTest, RecoveryStoresTheNewRefreshTokenAndReactivatesTheGrant) {
  Grant g = sample_grant(app_.id, "wx1111222233334444", "lost-refresh");
  g.scopes = {"1", "15"};
  g = store_->upsert_grant(g, sample_token("old-access", clock_.system() + std::chrono::minutes(1)));
  set_grant_state(g.id, "needs_reauth", "61023 refresh_token is invalid");
  component_->recover.push_back(token("recovered-access", "", {}, "recovered-refresh"));
  const Grant r = grants_->recover_grant(g.id).value();
  EXPECT_EQ(component_->recover_calls, 1);
  EXPECT_EQ(component_->recovered_with_secret, "component-secret");
  EXPECT_EQ(component_->recovered_refresh_token, "lost-refresh");
  EXPECT_EQ(r.id, g.id);
  EXPECT_EQ(r.account_id, "wx1111222233334444");  // the known grant's: the answer named none
  EXPECT_EQ(r.scopes, (std::vector<std::string>{"1", "15"}));
  EXPECT_EQ(r.status, GrantStatus::active);
  EXPECT_EQ(r.last_error, "");
  EXPECT_EQ(r.refresh_token, "");  // never answered
  EXPECT_TRUE(r.next_refresh_at.has_value());
  const auto stored = store_->get_grant(g.id, true);
  EXPECT_EQ(stored->refresh_token, "recovered-refresh");
  EXPECT_EQ(stored->status, GrantStatus::active);
  EXPECT_EQ(stored->failure_count, 0);
  EXPECT_EQ(cache_.get(RefreshKey{app_.id, g.id})->access_token, "recovered-access");
  const auto kinds = event_kinds(g.id);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "grant_recovered"), kinds.end());
}

TEST_F(ConnectRecoverTest, ARefusedRecoveryChangesNothing) {
  Grant g = store_->upsert_grant(sample_grant(app_.id, "wx1", "rt-1"),
                                 sample_token("old-access", clock_.system() + std::chrono::minutes(1)));
  set_grant_state(g.id, "needs_reauth", "61023 refresh_token is invalid");
  component_->recover.push_back(
      Outcome::failure(OutcomeKind::needs_reauth, "61003", "component is not authorized by this account"));
  {
    const ApiError e = refusal(grants_->recover_grant(g.id));
    EXPECT_EQ(e.status(), 422);
    EXPECT_EQ(e.code(), "recovery_refused");
    EXPECT_EQ(e.details().value("platform_code", ""), "61003");
    EXPECT_EQ(e.details().value("class", ""), "needs_reauth");
  }
  const auto stored = store_->get_grant(g.id, true);
  EXPECT_EQ(stored->refresh_token, "rt-1");
  EXPECT_EQ(stored->status, GrantStatus::needs_reauth);
  const auto kinds = event_kinds(g.id);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "grant_recovery_failed"), kinds.end());
  component_->recover.push_back(Outcome::failure(OutcomeKind::retry_later, "-1", "system error"));
  {
    const ApiError e = refusal(grants_->recover_grant(g.id));
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.code(), "platform_unavailable");
  }
}

TEST_F(ConnectRecoverTest, APlatformWithoutRecoveryAnswersNotSupported) {
  Grant g = store_->upsert_grant(sample_grant(plain_.id, "alice", "rt-1"),
                                 sample_token("a", clock_.system() + std::chrono::minutes(1)));
  {
    const ApiError e = refusal(grants_->recover_grant(g.id));
    EXPECT_EQ(e.status(), 409);
    EXPECT_EQ(e.code(), "not_supported");
    EXPECT_NE(std::string(e.what()).find("the plain platform cannot recover a grant"), std::string::npos) << e.what();
  }
}

TEST_F(ConnectRecoverTest, ARevokedGrantIsNotRecoveredAndAnUnknownOneIsNotFound) {
  Grant g = store_->upsert_grant(sample_grant(app_.id, "wx1", "rt-1"),
                                 sample_token("a", clock_.system() + std::chrono::minutes(1)));
  ASSERT_TRUE(store_->revoke_grant(g.id, "unauthorized by the account"));
  {
    const ApiError e = refusal(grants_->recover_grant(g.id));
    EXPECT_EQ(e.status(), 409);
    EXPECT_EQ(e.code(), "grant_revoked");
  }
  EXPECT_EQ(component_->recover_calls, 0);
  {
    const ApiError e = refusal(grants_->recover_grant(g.id + 1000));
    EXPECT_EQ(e.status(), 404);
  }
}

}  // namespace
}  // namespace mediax::test

// PUT /v1/apps/{name}/secrets through Apps on a real store, with the real platforms'
// prepare_app: the new secrets are sealed for their row in one UPDATE, the grants stay, the event
// names fields and never values, a WeChat EncodingAESKey change keeps the old key as previous, and an
// app token stopped by a refused secret is fetched again at once.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <boost/asio/io_context.hpp>

#include "obs/metrics.hpp"
#include "pg_env.hpp"
#include "platforms/registry.hpp"
#include "schedule/scheduler.hpp"
#include "service/apps.hpp"
#include "support/fake_resolver.hpp"
#include "service/token_reads.hpp"

namespace mediax::test {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;

const std::string kKeyA(43, 'a');
const std::string kKeyB = std::string(42, 'B') + "b";

class NoHttp final : public HttpClient {
 public:
  HttpClientResponse send(const HttpClientRequest&) override {
    HttpClientResponse r;
    r.error = "connection";
    return r;
  }
};

App component_app(const std::string& name) {
  App a = sample_app(name, true);
  a.platform = "wechat_component";
  a.client_id = "wxcomponent-" + name;
  a.client_secret = "appsecret-of-" + name;
  a.issuer.clear();
  a.endpoints = {};
  a.scopes.clear();
  a.token_auth_method = "client_secret_post";
  a.options = json::object();
  a.secret_options = {{"message_token", "msgtoken" + name}, {"encoding_aes_key", kKeyA}};
  a.token_usage = TokenUsage::access_token_query;
  a.app_token_usage = TokenUsage::component_access_token_query;
  a.credential_key = "wechat_component - " + a.client_id;
  return a;
}

std::string raw(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  const auto r = tx.exec(sql);
  return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
}

class AppSecretsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    refresh_cfg_.jitter_seconds = 0;
    policy_ = std::make_unique<RefreshPolicy>(refresh_cfg_);
    refresher_ = std::make_unique<Refresher>(*store_, *store_, *store_, registry_, cache_, *policy_, clock_,
                                             "instance-a", metrics_);
    scheduler_ = std::make_unique<Scheduler>(io_, *refresher_, clock_, 1, metrics_);  // never run
    app_ = store_->create_app(component_app("wxc"));
    grant_ = store_->upsert_grant(sample_grant(app_.id, "wx_acct", "authorizer-refresh"),
                                  sample_token("authorizer-access", t0() + hours(2)));
    reads_ = std::make_unique<TokenReads>(*store_, cache_, *refresher_, clock_);
    apps_ = std::make_unique<Apps>(*store_, *store_, *store_, *store_, registry_, cache_, *reads_, *scheduler_, config_,
                                   clock_, outbound_);
  }

  int status_of(const std::string& app, const json& body) {
    const auto r = apps_->update_app_secrets(app, body);
    return r ? 200 : r.error().status();
  }

  // The app as the change shows it; a failure of the test when it is refused.
  App updated(const std::string& app, const json& body) {
    auto r = apps_->update_app_secrets(app, body);
    EXPECT_TRUE(r) << (r ? "" : r.error().code() + ": " + r.error().what());
    return r ? *r : App{};
  }

  std::vector<Event> events(const std::string& kind) {
    std::vector<Event> out;
    for (auto& e : store_->list_events(app_.id, std::nullopt, 100)) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }

  RealTimeSource clock_;
  NoHttp http_;
  PlatformRegistry registry_{http_, PlatformSettings{}};
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
  App app_;
  Grant grant_;
};

TEST_F(AppSecretsTest, ANewEncodingAesKeyIsSealedKeepsTheOldAsPreviousAndTheGrants) {
  const App shown = updated("wxc", {{"options", {{"encoding_aes_key", kKeyB}}}});
  EXPECT_EQ(shown.id, app_.id);
  EXPECT_EQ(shown.client_secret, "");
  const auto stored = store_->get_app("wxc", true);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->secret_options["encoding_aes_key"], kKeyB);
  EXPECT_EQ(stored->secret_options["previous_encoding_aes_key"], kKeyA);
  EXPECT_EQ(stored->secret_options["message_token"], "msgtokenwxc");
  EXPECT_EQ(stored->client_secret, "appsecret-of-wxc");
  EXPECT_FALSE(stored->options.contains("encoding_aes_key")) << "secret options never land in the shown options";
  // Sealed at rest.
  const std::string at_rest = raw(url_, "SELECT secret_options FROM mediax.apps WHERE id = " + std::to_string(app_.id));
  EXPECT_EQ(at_rest.rfind("v2:", 0), 0U) << "sealed and bound to the app's endpoints: " << at_rest;
  for (const auto& s : {kKeyA, kKeyB, std::string("msgtokenwxc")}) EXPECT_EQ(at_rest.find(s), std::string::npos);
  // The grant is untouched.
  const auto g = store_->get_grant(grant_.id, true);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->status, GrantStatus::active);
  EXPECT_EQ(g->refresh_token, "authorizer-refresh");

  // The change at WeChat is done: the previous key is dropped.
  updated("wxc", {{"options", {{"previous_encoding_aes_key", nullptr}}}});
  EXPECT_FALSE(store_->get_app("wxc", true)->secret_options.contains("previous_encoding_aes_key"));
  EXPECT_EQ(store_->get_app("wxc", true)->secret_options["encoding_aes_key"], kKeyB);

  const auto ev = events("app_secrets_changed");
  ASSERT_EQ(ev.size(), 2U);
  const std::string all = ev[0].detail.dump() + ev[1].detail.dump();
  EXPECT_NE(all.find("options.encoding_aes_key"), std::string::npos) << all;
  EXPECT_NE(all.find("options.previous_encoding_aes_key"), std::string::npos) << all;
  for (const auto& s : {kKeyA, kKeyB}) EXPECT_EQ(all.find(s), std::string::npos) << all;
}

TEST_F(AppSecretsTest, SecretsSealedForOneRowDoNotOpenInAnother) {
  const App other = store_->create_app(component_app("other"));
  updated("wxc", {{"client_secret", "new-appsecret"}, {"options", {{"encoding_aes_key", kKeyB}}}});
  EXPECT_EQ(store_->get_app("wxc", true)->client_secret, "new-appsecret");
  EXPECT_EQ(
      raw(url_, "SELECT client_secret FROM mediax.apps WHERE id = " + std::to_string(app_.id)).find("new-appsecret"),
      std::string::npos);
  {
    pqxx::connection c(url_);
    pqxx::work w(c);
    w.exec_params(
        "UPDATE mediax.apps SET client_secret = s.client_secret, secret_options = s.secret_options"
        " FROM (SELECT client_secret, secret_options FROM mediax.apps WHERE id = $1) s WHERE id = $2",
        app_.id, other.id);
    w.commit();
  }
  EXPECT_THROW(store_->get_app("other", true), SecretUnreadableError);
  EXPECT_EQ(store_->get_app("wxc", true)->client_secret, "new-appsecret");
}

TEST_F(AppSecretsTest, ValuesThePlatformRefusesAre422BadBodies400AndNothingIsStored) {
  EXPECT_EQ(status_of("wxc", {{"options", {{"encoding_aes_key", "too-short"}}}}), 422);
  EXPECT_EQ(status_of("wxc", {{"options", {{"message_token", nullptr}}}}), 422);  // required
  EXPECT_EQ(status_of("wxc", {{"options", {{"auth_type", "1"}}}}), 400);          // not a secret option
  EXPECT_EQ(status_of("wxc", {{"options", {{"bogus", "x"}}}}), 400);
  EXPECT_EQ(status_of("wxc", {{"client_id", "x"}}), 400);
  EXPECT_EQ(status_of("wxc", json::object()), 400);
  EXPECT_EQ(status_of("nosuchapp", {{"client_secret", "x"}}), 404);
  const auto stored = store_->get_app("wxc", true);
  EXPECT_EQ(stored->client_secret, "appsecret-of-wxc");
  EXPECT_EQ(stored->secret_options, component_app("wxc").secret_options);
  EXPECT_TRUE(events("app_secrets_changed").empty());
}

TEST_F(AppSecretsTest, AnOAuth2AppsSecretIsCheckedWithoutDiscoveryAndHasNoSecretOptions) {
  App a = sample_app("idp", true);
  a.options = json::object();
  store_->create_app(a);
  EXPECT_EQ(status_of("idp", {{"client_secret", "rotated"}}), 200);  // issuer kept, no discovery call
  EXPECT_EQ(store_->get_app("idp", true)->client_secret, "rotated");
  EXPECT_EQ(status_of("idp", {{"options", {{"pkce", "x"}}}}), 400);
}

TEST_F(AppSecretsTest, AClientSecretChangeRestartsAnAppTokenStoppedAsMisconfigured) {
  const RefreshKey key{app_.id, 0};
  ASSERT_TRUE(store_->acquire_lease(key, "w", clock_.system(), clock_.system() + minutes(1)));
  RefreshFailure f;
  f.kind = OutcomeKind::app_misconfigured;
  f.code = "40125";
  f.message = "invalid appsecret";
  f.new_status = GrantStatus::needs_reauth;
  store_->fail_refresh(key, "w", f);
  auto before = store_->schedule_of(key);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, GrantStatus::needs_reauth);
  EXPECT_EQ(raw(url_, "SELECT next_refresh_at IS NULL FROM mediax.apps WHERE id = " + std::to_string(app_.id)), "t")
      << "stopped: nothing scheduled";

  // Secret options alone do not restart it: the refused thing was the AppSecret.
  updated("wxc", {{"options", {{"encoding_aes_key", kKeyB}}}});
  EXPECT_EQ(store_->schedule_of(key)->status, GrantStatus::needs_reauth);

  const auto asked = clock_.system();
  const App shown = updated("wxc", {{"client_secret", "reset-appsecret"}});
  EXPECT_EQ(shown.status, GrantStatus::active);
  EXPECT_EQ(shown.failure_count, 0);
  EXPECT_EQ(shown.last_error, "");
  const auto after = store_->schedule_of(key);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, GrantStatus::active);
  ASSERT_TRUE(after->next_refresh_at);
  EXPECT_LE(*after->next_refresh_at, clock_.system());
  EXPECT_GE(*after->next_refresh_at, asked - std::chrono::seconds(1));
  // The next refresh reads the new secret with its lease: nothing holds the old one.
  const auto job = store_->acquire_lease(key, "w", clock_.system(), clock_.system() + minutes(1));
  ASSERT_TRUE(job);
  EXPECT_EQ(job->app.client_secret, "reset-appsecret");
  EXPECT_EQ(job->app.secret_options["encoding_aes_key"], kKeyB);

  const auto ev = events("app_secrets_changed");
  ASSERT_EQ(ev.size(), 2U);
  bool restarted = false;
  for (const auto& e : ev) {
    EXPECT_EQ(e.detail.dump().find("reset-appsecret"), std::string::npos);
    restarted = restarted || e.detail.value("app_token_restarted", false);
  }
  EXPECT_TRUE(restarted);
}

TEST_F(AppSecretsTest, AHealthyAppTokenKeepsItsSchedule) {
  const RefreshKey key{app_.id, 0};
  const auto later = t0() + hours(1);
  store_->set_next_refresh(key, later);
  updated("wxc", {{"client_secret", "another"}});
  const auto s = store_->schedule_of(key);
  ASSERT_TRUE(s && s->next_refresh_at);
  EXPECT_EQ(*s->next_refresh_at, later);
  EXPECT_EQ(store_->get_app("wxc", true)->client_secret, "another");
  updated("wxc", {{"client_secret", "another"}});  // the same again: nothing to record
  EXPECT_EQ(events("app_secrets_changed").size(), 1U);
}

}  // namespace
}  // namespace mediax::test

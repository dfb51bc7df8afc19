// StoreComponentCredentials (service/store_component_credentials.hpp) with the real store,
// token cache and refresher: the ticket comes from the store, the component token from the cache
// while it has a minute left, else from one refresh of the app token, also when a grant's refresh
// asks for it on a refresh worker (no wait on itself).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "obs/metrics.hpp"
#include "pg_env.hpp"
#include "platforms/registry.hpp"
#include "schedule/refresher.hpp"
#include "service/store_component_credentials.hpp"
#include "schedule/token_cache.hpp"

namespace mediax::test {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

class NoHttp final : public HttpClient {
 public:
  HttpClientResponse send(const HttpClientRequest&) override {
    HttpClientResponse r;
    r.error = "connection";
    return r;
  }
};

// Stands in for the wechat_component platform: client_token fetches the component token with the
// stored ticket (or waits for one); a grant's refresh needs the component token first.
class ComponentStandIn final : public Platform {
 public:
  explicit ComponentStandIn(ComponentCredentials& creds) : creds_(creds) {}
  std::string name() const override { return "wechat_component"; }
  AppCheck prepare_app(App&) override { return {}; }
  bool uses_pkce(const App&) const override { return false; }
  std::string authorize_url(const App&, const AuthorizeParams&) const override { return ""; }
  Outcome exchange_code(const App&, const std::string&, const std::string&, const std::string&) override {
    return Outcome::failure(OutcomeKind::retry_later, "unused", "");
  }
  Outcome refresh(const App& app, const Grant&) override {
    auto component = creds_.component_token(app);
    if (!component) return Outcome::failure(OutcomeKind::retry_later, "no_component_token", "");
    {
      std::lock_guard lk(mu_);
      grant_refresh_used_.push_back(*component);
    }
    TokenResult t;
    t.access_token = "authorizer-access-" + std::to_string(++grant_calls);
    t.expires_in = Seconds(7200);
    return Outcome::success(t);
  }
  Outcome client_token(const App& app, const AppTokenCall& call) override {
    {
      std::unique_lock lk(mu_);
      ++app_calls;
      calls_.push_back(call);
      changed_.notify_all();
      changed_.wait(lk, [this] { return !held_; });
    }
    auto ticket = creds_.latest_ticket(app);
    if (!ticket) {
      return Outcome::failure(OutcomeKind::retry_later, "waiting_for_ticket", "no ticket yet", 0, Seconds(600));
    }
    TokenResult t;
    t.access_token = "component-" + std::to_string(app_calls.load()) + "-with-" + *ticket;
    t.expires_in = Seconds(7200);
    return Outcome::success(t);
  }
  Outcome revoke(const App&, const Grant&) override { return Outcome::success({}); }

  std::vector<std::string> grant_refresh_used() {
    std::lock_guard lk(mu_);
    return grant_refresh_used_;
  }
  std::vector<AppTokenCall> calls() {
    std::lock_guard lk(mu_);
    return calls_;
  }
  // client_token calls wait at the gate until release(); until_app_called() returns once one came.
  void hold() {
    std::lock_guard lk(mu_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard lk(mu_);
      held_ = false;
    }
    changed_.notify_all();
  }
  void until_app_called() {
    std::unique_lock lk(mu_);
    changed_.wait(lk, [this] { return app_calls.load() > 0; });
  }
  std::atomic<int> app_calls{0};
  std::atomic<int> grant_calls{0};

 private:
  ComponentCredentials& creds_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool held_ = false;
  std::vector<std::string> grant_refresh_used_;
  std::vector<AppTokenCall> calls_;
};

class ComponentCredentialsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    creds_ = std::make_unique<StoreComponentCredentials>(*store_, clock_);
    auto p = std::make_unique<ComponentStandIn>(*creds_);
    platform_ = p.get();
    registry_.add(std::move(p));
    cfg_.jitter_seconds = 0;
    policy_ = std::make_unique<RefreshPolicy>(cfg_);
    refresher_ = std::make_unique<Refresher>(*store_, *store_, *store_, registry_, cache_, *policy_, clock_,
                                             "instance-a", metrics_);
    App a = sample_app("platform", true);
    a.platform = "wechat_component";
    a.token_usage = TokenUsage::access_token_query;
    a.app_token_usage = TokenUsage::component_access_token_query;
    app_ = store_->create_app(a);
  }

  void store_ticket(const std::string& t) {
    ASSERT_TRUE(store_->put_component_ticket({app_.id, t, clock_.system(), clock_.system()}));
  }

  RealTimeSource clock_;
  NoHttp http_;
  std::unique_ptr<StoreComponentCredentials> creds_;
  PlatformRegistry registry_{http_, PlatformSettings{}};
  ComponentStandIn* platform_ = nullptr;
  RefreshConfig cfg_;
  std::unique_ptr<RefreshPolicy> policy_;
  TokenCache cache_;
  metrics::Registry metrics_;
  std::unique_ptr<Refresher> refresher_;
  App app_;
};

TEST_F(ComponentCredentialsTest, TheTicketIsTheStoresNewest) {
  EXPECT_FALSE(creds_->latest_ticket(app_));
  store_ticket("ticket@@@1");
  EXPECT_EQ(creds_->latest_ticket(app_), "ticket@@@1");
}

TEST_F(ComponentCredentialsTest, BeforeBindingTheStoredTokenIsAllThereIs) {
  EXPECT_FALSE(creds_->component_token(app_));
  ASSERT_TRUE(store_->acquire_lease({app_.id, 0}, "w", clock_.system(), clock_.system() + minutes(1)));
  RefreshSuccess s;
  s.token = sample_token("stored-component", clock_.system() + hours(2));
  s.next_refresh_at = clock_.system() + hours(1);
  store_->complete_refresh({app_.id, 0}, "w", s);
  EXPECT_EQ(creds_->component_token(app_), "stored-component");
  EXPECT_FALSE(creds_->component_token(app_, std::string("stored-component"))) << "the refused one is no answer";
  EXPECT_EQ(platform_->app_calls, 0);
}

TEST_F(ComponentCredentialsTest, WaitingForATicketThereIsNoTokenAndTheAppSaysWhy) {
  creds_->bind(cache_, *refresher_);
  EXPECT_FALSE(creds_->component_token(app_));
  EXPECT_EQ(platform_->app_calls, 1);
  EXPECT_EQ(store_->get_app("platform")->last_error, "waiting_for_ticket: no ticket yet");
}

TEST_F(ComponentCredentialsTest, ACachedTokenWithAMinuteLeftIsUsedElseOneRefreshFetchesIt) {
  creds_->bind(cache_, *refresher_);
  store_ticket("ticket@@@1");
  const auto first = creds_->component_token(app_);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, "component-1-with-ticket@@@1");
  EXPECT_EQ(platform_->calls().at(0).reason, AppTokenReason::forced);
  EXPECT_EQ(creds_->component_token(app_), first) << "from the cache";
  EXPECT_EQ(platform_->app_calls, 1);

  // Under a minute left: fetched again first.
  Token t = *cache_.get({app_.id, 0});
  t.expires_at = clock_.system() + seconds(30);
  cache_.put(t);
  EXPECT_EQ(creds_->component_token(app_), "component-2-with-ticket@@@1");
  EXPECT_EQ(platform_->app_calls, 2);
}

TEST_F(ComponentCredentialsTest, AnotherInstancesComponentTokenIsReadNotFetchedAgain) {
  // The app's partition is another instance's: this cache never holds its token, which the owner
  // keeps fresh in the database. Each grant refresh here must not fetch a component token.
  PartitionSet owned;
  owned.set(partition_of(RefreshKey{app_.id, 0}), false);
  cache_.restrict_to(&owned);
  creds_->bind(cache_, *refresher_);
  store_ticket("ticket@@@1");
  ASSERT_TRUE(store_->acquire_lease({app_.id, 0}, "owner", clock_.system(), clock_.system() + minutes(1)));
  RefreshSuccess s;
  s.token = sample_token("owners-component", clock_.system() + hours(2));
  s.next_refresh_at = clock_.system() + hours(1);
  store_->complete_refresh({app_.id, 0}, "owner", s);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(creds_->component_token(app_), "owners-component");
  EXPECT_EQ(platform_->app_calls, 0);
}

TEST_F(ComponentCredentialsTest, ARefusedTokenIsReplacedOnceUnlessAlreadyReplaced) {
  creds_->bind(cache_, *refresher_);
  store_ticket("ticket@@@1");
  const auto first = creds_->component_token(app_);
  ASSERT_TRUE(first);
  const auto second = creds_->component_token(app_, first);
  ASSERT_TRUE(second);
  EXPECT_NE(*second, *first);
  EXPECT_EQ(platform_->calls().back().reason, AppTokenReason::rejected);
  EXPECT_EQ(platform_->app_calls, 2);
  // A caller still holding the first refused one gets the second without another fetch.
  EXPECT_EQ(creds_->component_token(app_, first), second);
  EXPECT_EQ(platform_->app_calls, 2);
}

TEST_F(ComponentCredentialsTest, GrantRefreshesOnWorkersGetTheComponentTokenFromOneFetch) {
  creds_->bind(cache_, *refresher_);
  store_ticket("ticket@@@1");
  platform_->hold();  // the first fetch of the component token waits while the other grants ask
  std::vector<Grant> grants;
  for (int i = 0; i < 4; ++i) {
    grants.push_back(store_->upsert_grant(sample_grant(app_.id, "wx-" + std::to_string(i), "rt"),
                                          sample_token("old", clock_.system() + minutes(5))));
  }
  std::vector<std::thread> workers;
  std::vector<RefreshResult> results(grants.size());
  for (std::size_t i = 0; i < grants.size(); ++i) {
    workers.emplace_back([&, i] { results[i] = refresher_->refresh({app_.id, grants[i].id}, Trigger::forced); });
  }
  platform_->until_app_called();
  platform_->release();
  for (auto& w : workers) w.join();
  for (const auto& r : results) EXPECT_EQ(r.status, RefreshResult::Status::refreshed) << r.message;
  EXPECT_EQ(platform_->app_calls, 1) << "one component token for all";
  const auto used = platform_->grant_refresh_used();
  ASSERT_EQ(used.size(), grants.size());
  for (const auto& u : used) EXPECT_EQ(u, "component-1-with-ticket@@@1");
  EXPECT_EQ(store_->get_token({app_.id, 0})->access_token, "component-1-with-ticket@@@1");
}

}  // namespace
}  // namespace mediax::test

// The refresher against a real PostgreSQL store and a scripted platform: leases, coalescing,
// rotation and the classification of failures.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "obs/metrics.hpp"
#include "pg_env.hpp"
#include "platforms/registry.hpp"
#include "schedule/refresher.hpp"

namespace mediax::test {
namespace {

// No network in these tests: every outgoing request fails.
class NoHttp final : public HttpClient {
 public:
  HttpClientResponse send(const HttpClientRequest&) override {
    HttpClientResponse r;
    r.error = "connection";
    return r;
  }
};

// A platform whose answers the test queues; counts calls; can hold calls at a gate.
class ScriptedPlatform final : public Platform {
 public:
  std::string name() const override { return "scripted"; }
  AppCheck prepare_app(App&) override { return {}; }
  bool uses_pkce(const App&) const override { return true; }
  std::string authorize_url(const App&, const AuthorizeParams&) const override { return "https://idp.test/authorize"; }
  Outcome exchange_code(const App&, const std::string&, const std::string&, const std::string&) override {
    return next(nullptr);
  }
  Outcome refresh(const App&, const Grant& g) override { return next(&g); }
  Outcome client_token(const App&, const AppTokenCall& call) override {
    {
      std::lock_guard lk(mu);
      last_call = call;
    }
    return next(nullptr);
  }
  Outcome revoke(const App&, const Grant&) override { return Outcome::success({}); }

  void push(Outcome o) {
    std::lock_guard lk(mu);
    queue.push_back(std::move(o));
  }
  // Calls wait at the gate until release(); until_called(n) returns once n calls have arrived.
  void hold() {
    std::lock_guard lk(mu);
    held = true;
  }
  void release() {
    {
      std::lock_guard lk(mu);
      held = false;
    }
    changed.notify_all();
  }
  void until_called(int n) {
    std::unique_lock lk(mu);
    changed.wait(lk, [&] { return calls.load() >= n; });
  }

  std::atomic<int> calls{0};
  AppTokenCall last_call;  // guarded by mu
  std::string seen_refresh_token;

 private:
  Outcome next(const Grant* g) {
    std::unique_lock lk(mu);
    ++calls;
    changed.notify_all();
    changed.wait(lk, [&] { return !held; });
    if (g) seen_refresh_token = g->refresh_token;
    if (queue.empty()) return Outcome::failure(OutcomeKind::retry_later, "script_empty", "no answer queued");
    auto o = queue.front();
    queue.pop_front();
    return o;
  }

 public:
  AppTokenCall seen_call() {
    std::lock_guard lk(mu);
    return last_call;
  }

 private:
  std::mutex mu;
  std::condition_variable changed;
  bool held = false;
  std::deque<Outcome> queue;
};

// The real clocks, telling the test when a refresher has first read monotonic time. A refresher
// reads it to time a platform call or to wait for another instance's result (await_other_refresh):
// in a test whose refresh makes no platform call, the first read is the start of that wait, and
// the test acts then instead of sleeping.
class WatchedTime final : public TimeSource {
 public:
  TimePoint system() const override { return SysClock::now(); }
  MonoTime monotonic() const override {
    {
      std::lock_guard lk(mu_);
      ++reads_;
    }
    read_.notify_all();
    return MonoClock::now();
  }
  void until_monotonic_read() const {
    std::unique_lock lk(mu_);
    read_.wait(lk, [this] { return reads_ > 0; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable read_;
  mutable int reads_ = 0;
};

Outcome token(const std::string& access, std::optional<std::string> refresh = std::nullopt, int expires_in = 3600) {
  TokenResult t;
  t.access_token = access;
  t.expires_in = Seconds(expires_in);
  t.refresh_token = std::move(refresh);
  return Outcome::success(t);
}

class RefresherTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto p = std::make_unique<ScriptedPlatform>();
    platform_ = p.get();
    registry_.add(std::move(p));
    cfg_.retry_min_seconds = 5;
    cfg_.retry_max_seconds = 60;
    cfg_.jitter_seconds = 0;
    policy_ = std::make_unique<RefreshPolicy>(cfg_);
    refresher_ = std::make_unique<Refresher>(*store_, *store_, *store_, registry_, cache_, *policy_, clock_,
                                             "instance-a", metrics_);
    refresher_->set_next_listener([this](const RefreshKey& k, std::optional<TimePoint> next) {
      std::lock_guard lk(mu_);
      nexts_.emplace_back(k, next);
    });
    App a = sample_app("app1");
    a.platform = "scripted";
    app_ = store_->create_app(a);
    auto now = clock_.system();
    Grant g = sample_grant(app_.id, "acct-1", "refresh-0");
    grant_ = store_->upsert_grant(g, sample_token("access-0", now + std::chrono::minutes(5)));
    key_ = RefreshKey{app_.id, grant_.id};
    // Due now: a scheduled refresh only runs for a row that is due.
    store_->set_next_refresh(key_, now - std::chrono::seconds(1));
    for (const auto& t : store_->all_tokens()) cache_.put(t);
  }

  std::string view_token() {
    pqxx::connection c(url_);
    pqxx::work w(c);
    auto r = w.exec_params("SELECT access_token FROM mediax.access_tokens WHERE grant_id = $1", grant_.id);
    return r.empty() ? std::string() : r[0][0].as<std::string>();
  }

  WatchedTime clock_;
  NoHttp http_;
  PlatformRegistry registry_{http_, PlatformSettings{}};
  ScriptedPlatform* platform_ = nullptr;
  RefreshConfig cfg_;
  std::unique_ptr<RefreshPolicy> policy_;
  TokenCache cache_;
  metrics::Registry metrics_;
  std::unique_ptr<Refresher> refresher_;
  App app_;
  Grant grant_;
  RefreshKey key_;
  std::mutex mu_;
  std::vector<std::pair<RefreshKey, std::optional<TimePoint>>> nexts_;
};

TEST_F(RefresherTest, StoresRotatedTokensAndPublishesThem) {
  platform_->push(token("access-1", "refresh-1"));
  auto r = refresher_->refresh(key_, Trigger::scheduled);
  ASSERT_EQ(r.status, RefreshResult::Status::refreshed) << r.message;
  EXPECT_EQ(platform_->seen_refresh_token, "refresh-0");
  EXPECT_EQ(view_token(), "access-1");
  EXPECT_EQ(cache_.get(key_)->access_token, "access-1");
  auto g = store_->get_grant(grant_.id, true);
  EXPECT_EQ(g->refresh_token, "refresh-1");
  ASSERT_EQ(nexts_.size(), 1U);
  ASSERT_TRUE(nexts_[0].second.has_value());
  EXPECT_GT(*nexts_[0].second, clock_.system() + std::chrono::minutes(30));

  // The next refresh sends the rotated refresh token; a response without one keeps it.
  platform_->push(token("access-2"));
  r = refresher_->refresh(key_, Trigger::forced);
  ASSERT_EQ(r.status, RefreshResult::Status::refreshed) << r.message;
  EXPECT_EQ(platform_->seen_refresh_token, "refresh-1");
  EXPECT_EQ(store_->get_grant(grant_.id, true)->refresh_token, "refresh-1");
}

TEST_F(RefresherTest, ThePlatformsNotesAreStoredWithTheRefresh) {
  // A success whose follow-up step failed (Douyin: renewal refused with 10004): the token is stored,
  // the warning becomes last_error, the app is flagged once, the reauth date is the stored end of
  // the refresh token, and the next refresh is due by the platform's call_again_by.
  Outcome o = token("access-1", std::nullopt, 3600);
  o.token.call_again_by = clock_.system() + std::chrono::seconds(120);
  o.token.reauth_due = true;
  o.token.renew_not_permitted = true;
  o.token.warning_code = "10004";
  o.token.warning_message = "renewing the refresh token failed: no permission";
  platform_->push(o);
  auto r = refresher_->refresh(key_, Trigger::scheduled);
  ASSERT_EQ(r.status, RefreshResult::Status::refreshed) << r.message;
  EXPECT_EQ(view_token(), "access-1");
  auto g = store_->get_grant(grant_.id);
  EXPECT_EQ(g->status, GrantStatus::active);
  EXPECT_EQ(g->last_error, "10004: renewing the refresh token failed: no permission");
  ASSERT_TRUE(g->refresh_expires_at.has_value());
  EXPECT_EQ(g->reauth_due_at, g->refresh_expires_at);
  ASSERT_TRUE(g->next_refresh_at.has_value());
  EXPECT_LE(*g->next_refresh_at, clock_.system() + std::chrono::seconds(120));
  const auto flagged = store_->get_app_by_id(app_.id)->renew_not_permitted_at;
  ASSERT_TRUE(flagged.has_value());

  // A renewed refresh token: its new end is the reauth date; a plain success clears the note.
  Outcome renewed = token("access-2", "refresh-2", 3600);
  renewed.token.refresh_expires_in = Seconds(7200);
  renewed.token.reauth_due = true;
  renewed.token.renew_not_permitted = true;  // known already: not flagged again
  platform_->push(renewed);
  ASSERT_EQ(refresher_->refresh(key_, Trigger::forced).status, RefreshResult::Status::refreshed);
  g = store_->get_grant(grant_.id);
  EXPECT_EQ(g->reauth_due_at, g->refresh_expires_at);
  EXPECT_EQ(g->last_error, "");
  EXPECT_EQ(store_->get_app_by_id(app_.id)->renew_not_permitted_at, flagged);

  platform_->push(token("access-3"));
  ASSERT_EQ(refresher_->refresh(key_, Trigger::forced).status, RefreshResult::Status::refreshed);
  EXPECT_FALSE(store_->get_grant(grant_.id)->reauth_due_at);
}

TEST_F(RefresherTest, ConcurrentRequestsCoalesceIntoOnePlatformCall) {
  platform_->hold();
  platform_->push(token("access-1", "refresh-1"));
  platform_->push(token("access-unexpected", "refresh-unexpected"));
  std::vector<std::thread> threads;
  std::vector<std::string> seen(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = refresher_->refresh(key_, Trigger::rejected, std::string("access-0"));
      if (r.token) seen[i] = r.token->access_token;
    });
  }
  platform_->until_called(1);  // the others join the call in flight, or come late and find it done
  platform_->release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(platform_->calls.load(), 1);
  for (const auto& s : seen) EXPECT_EQ(s, "access-1");
  // A late report of the old token gets the current one without a platform call.
  auto r = refresher_->refresh(key_, Trigger::rejected, std::string("access-0"));
  EXPECT_EQ(r.token->access_token, "access-1");
  EXPECT_EQ(platform_->calls.load(), 1);
}

TEST_F(RefresherTest, InvalidGrantNeedsReauthorizationAndStopsScheduling) {
  platform_->push(Outcome::failure(OutcomeKind::needs_reauth, "invalid_grant", "Token has been revoked", 400));
  auto r = refresher_->refresh(key_, Trigger::scheduled);
  EXPECT_EQ(r.status, RefreshResult::Status::failed);
  EXPECT_FALSE(r.next_at.has_value());
  auto g = store_->get_grant(grant_.id);
  EXPECT_EQ(g->status, GrantStatus::needs_reauth);
  EXPECT_NE(g->last_error.find("invalid_grant"), std::string::npos);
  EXPECT_EQ(view_token(), "access-0");  // still valid: served until it expires, never refreshed
  ASSERT_EQ(nexts_.size(), 1U);
  EXPECT_FALSE(nexts_[0].second.has_value());
  // Not retried: the next attempt finds it inactive without calling the platform.
  r = refresher_->refresh(key_, Trigger::scheduled);
  EXPECT_EQ(r.status, RefreshResult::Status::gone);
  EXPECT_EQ(platform_->calls.load(), 1);
}

TEST_F(RefresherTest, TransientFailureBacksOffAndKeepsTheGrantActive) {
  platform_->push(Outcome::failure(OutcomeKind::retry_later, "http_503", "Service Unavailable", 503));
  auto before = clock_.system();
  auto r = refresher_->refresh(key_, Trigger::forced);  // retry now rather than wait for the backoff
  EXPECT_EQ(r.status, RefreshResult::Status::failed);
  ASSERT_TRUE(r.next_at.has_value());
  EXPECT_GE(*r.next_at, before + std::chrono::milliseconds(2500));
  EXPECT_LE(*r.next_at, clock_.system() + std::chrono::seconds(5));
  auto g = store_->get_grant(grant_.id);
  EXPECT_EQ(g->status, GrantStatus::active);
  EXPECT_EQ(g->failure_count, 1);
  EXPECT_EQ(view_token(), "access-0");  // the old token is still served

  platform_->push(Outcome::failure(OutcomeKind::rate_limited, "http_429", "slow down", 429, Seconds(40)));
  r = refresher_->refresh(key_, Trigger::forced);  // retry now rather than wait for the backoff
  ASSERT_TRUE(r.next_at.has_value());
  EXPECT_GE(*r.next_at, clock_.system() + std::chrono::seconds(39));
  EXPECT_EQ(store_->get_grant(grant_.id)->failure_count, 2);

  platform_->push(token("access-1"));
  r = refresher_->refresh(key_, Trigger::forced);  // retry now rather than wait for the backoff
  EXPECT_EQ(r.status, RefreshResult::Status::refreshed);
  EXPECT_EQ(store_->get_grant(grant_.id)->failure_count, 0);
}

TEST_F(RefresherTest, ScheduledRefreshOfARowAnotherInstanceRefreshedIsSkipped) {
  // Another instance refreshed it and moved its time: this instance's stale timer must not
  // refresh it again, but follow the row's new time and token.
  const auto later = clock_.system() + std::chrono::minutes(20);
  store_->set_next_refresh(key_, later);
  auto r = refresher_->refresh(key_, Trigger::scheduled);
  EXPECT_EQ(r.status, RefreshResult::Status::not_acquired);
  EXPECT_EQ(platform_->calls.load(), 0);
  ASSERT_TRUE(r.next_at.has_value());
  EXPECT_EQ(to_unix(*r.next_at), to_unix(later));
  // A forced refresh still runs.
  platform_->push(token("access-1", "refresh-1"));
  EXPECT_EQ(refresher_->refresh(key_, Trigger::forced).status, RefreshResult::Status::refreshed);
}

TEST_F(RefresherTest, LeaseHeldByAnotherInstanceMeansNoPlatformCall) {
  auto now = clock_.system();
  ASSERT_TRUE(store_->acquire_lease(key_, "instance-b", now, now + std::chrono::seconds(60)).has_value());
  auto r = refresher_->refresh(key_, Trigger::scheduled);
  EXPECT_EQ(r.status, RefreshResult::Status::not_acquired);
  EXPECT_EQ(platform_->calls.load(), 0);
  ASSERT_TRUE(r.next_at.has_value());
}

TEST_F(RefresherTest, AppTokenUsesClientCredentialsAndTellsThePlatformWhyItIsAsked) {
  App a = sample_app("cc-app", true);
  a.platform = "scripted";
  a = store_->create_app(a);
  RefreshKey k{a.id, 0};
  store_->set_next_refresh(k, clock_.system());
  platform_->push(token("app-access-1"));
  auto r = refresher_->refresh(k, Trigger::scheduled);
  ASSERT_EQ(r.status, RefreshResult::Status::refreshed) << r.message;
  EXPECT_EQ(platform_->seen_call().reason, AppTokenReason::scheduled);
  EXPECT_FALSE(platform_->seen_call().rejected_token.has_value());
  platform_->push(token("app-access-2"));
  r = refresher_->refresh(k, Trigger::forced);
  EXPECT_EQ(platform_->seen_call().reason, AppTokenReason::forced);
  EXPECT_FALSE(platform_->seen_call().rejected_token.has_value());
  // A consumer's report carries the refused token to the platform (WeChat asks in normal mode first).
  platform_->push(token("app-access-3"));
  r = refresher_->refresh(k, Trigger::rejected, std::string("app-access-2"));
  ASSERT_EQ(r.status, RefreshResult::Status::refreshed) << r.message;
  EXPECT_EQ(platform_->seen_call().reason, AppTokenReason::rejected);
  EXPECT_EQ(platform_->seen_call().rejected_token.value_or(""), "app-access-2");
  pqxx::connection c(url_);
  pqxx::work w(c);
  auto row =
      w.exec_params1("SELECT access_token FROM mediax.access_tokens WHERE app_name = 'cc-app' AND grant_id IS NULL");
  EXPECT_EQ(row[0].as<std::string>(), "app-access-3");
}

}  // namespace
}  // namespace mediax::test

namespace mediax::test {
namespace {

TEST_F(RefresherTest, ViewNeverServesAnExpiredToken) {
  EXPECT_EQ(view_token(), "access-0");
  {
    pqxx::connection c(url_);
    pqxx::work w(c);
    w.exec_params("UPDATE mediax.tokens SET expires_at = now() - interval '1 second' WHERE grant_id = $1", grant_.id);
    w.commit();
  }
  EXPECT_EQ(view_token(), "");
  platform_->push(token("access-1"));
  ASSERT_EQ(refresher_->refresh(key_, Trigger::scheduled).status, RefreshResult::Status::refreshed);
  EXPECT_EQ(view_token(), "access-1");
}

}  // namespace
}  // namespace mediax::test

namespace mediax::test {
namespace {

CallLimit daily(int limit, int utc_offset_hours = 0, int gap_seconds = 0) {
  CallLimit l;
  l.daily_limit = limit;
  l.utc_offset_hours = utc_offset_hours;
  l.min_gap = Seconds(gap_seconds);
  return l;
}

TEST_F(StoreTest, DailyCallBudgetIsCountedPerAppKindAndDayAcrossThreads) {
  App a = store_->create_app(sample_app("budgeted", true));
  const auto day1 = from_unix(1'900'000'000);  // 2030-03-17T17:46:40Z
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) {
        if (store_->try_spend_call(a.id, "token", daily(25), day1).counted()) ++granted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 25);
  EXPECT_EQ(store_->calls_today(a.id, "token", day1, 0), 25);
  auto spent = store_->try_spend_call(a.id, "token", daily(25), day1);
  EXPECT_EQ(spent.verdict, CallSpend::Verdict::budget_spent);
  EXPECT_EQ(spent.count, 25);
  // Another kind and the next UTC day have their own counts.
  EXPECT_TRUE(store_->try_spend_call(a.id, "stable_token_force", daily(20), day1).counted());
  auto next_day = store_->try_spend_call(a.id, "token", daily(25), day1 + std::chrono::hours(7));
  EXPECT_TRUE(next_day.counted());
  EXPECT_EQ(next_day.count, 1);
  EXPECT_EQ(store_->calls_today(a.id, "token", day1 + std::chrono::hours(7), 0), 1);
  EXPECT_FALSE(store_->try_spend_call(a.id, "token", daily(0), day1 + std::chrono::hours(7)).counted());
}

TEST_F(StoreTest, DailyCallBudgetRestartsAtThePlatformsMidnight) {
  App a = store_->create_app(sample_app("beijing", true));
  const auto before = from_unix(1'777'651'199);  // 2026-05-01T15:59:59Z = 23:59:59 in Beijing
  const auto after = before + Seconds(1);        // 00:00:00 in Beijing, still 2026-05-01 in UTC
  ASSERT_TRUE(store_->try_spend_call(a.id, "force", daily(1, 8), before).counted());
  EXPECT_EQ(store_->try_spend_call(a.id, "force", daily(1, 8), before).verdict, CallSpend::Verdict::budget_spent);
  EXPECT_TRUE(store_->try_spend_call(a.id, "force", daily(1, 8), after).counted()) << "a new day in Beijing";
  EXPECT_EQ(store_->calls_today(a.id, "force", before, 8), 1);
  EXPECT_EQ(store_->calls_today(a.id, "force", after, 8), 1);
  // The same instants counted by the UTC day are one day.
  ASSERT_TRUE(store_->try_spend_call(a.id, "utc", daily(1, 0), before).counted());
  EXPECT_EQ(store_->try_spend_call(a.id, "utc", daily(1, 0), after).verdict, CallSpend::Verdict::budget_spent);
  pqxx::connection c(url_);
  pqxx::work w(c);
  auto days = w.exec("SELECT day::text FROM mediax.call_counts WHERE kind = 'force' ORDER BY day");
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[0][0].as<std::string>(), "2026-05-01");
  EXPECT_EQ(days[1][0].as<std::string>(), "2026-05-02") << "the row names WeChat's day";
}

TEST_F(StoreTest, CallsOfAKindKeepTheirGapAcrossDaysAndInstances) {
  App a = store_->create_app(sample_app("gap", true));
  const auto t0 = from_unix(1'777'651'190);  // 10 s before Beijing midnight
  auto first = store_->try_spend_call(a.id, "force", daily(20, 8, 30), t0);
  ASSERT_TRUE(first.counted());
  EXPECT_FALSE(first.last_at.has_value());
  // 15 s later, on WeChat's next day: too soon all the same, and nothing counted.
  auto soon = store_->try_spend_call(a.id, "force", daily(20, 8, 30), t0 + Seconds(15));
  EXPECT_EQ(soon.verdict, CallSpend::Verdict::too_soon);
  ASSERT_TRUE(soon.last_at.has_value());
  EXPECT_EQ(to_unix(*soon.last_at), to_unix(t0));
  EXPECT_EQ(store_->calls_today(a.id, "force", t0 + Seconds(15), 8), 0);
  // Many instances at once after the gap: exactly one call is counted.
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      if (store_->try_spend_call(a.id, "force", daily(20, 8, 30), t0 + Seconds(30)).counted()) ++granted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 1);
  EXPECT_EQ(store_->calls_today(a.id, "force", t0 + Seconds(30), 8), 1);
}

// Encryption at rest: a refresh token copied from another row does not decrypt. The refresher
// does not call the platform, does not crash, and flags the grant for a human.
TEST_F(RefresherTest, ARefreshTokenCopiedFromAnotherRowFlagsTheGrantWithoutCallingThePlatform) {
  const Grant other =
      store_->upsert_grant(sample_grant(app_.id, "acct-2", "refresh-other"), sample_token("access-x", clock_.system()));
  {
    pqxx::connection c(url_);
    pqxx::work w(c);
    w.exec_params(
        "UPDATE mediax.grants SET refresh_token = (SELECT refresh_token FROM mediax.grants WHERE id = $1)"
        " WHERE id = $2",
        other.id, grant_.id);
    w.commit();
  }
  platform_->push(token("access-1", "refresh-1"));
  auto r = refresher_->refresh(key_, Trigger::scheduled);
  EXPECT_EQ(r.status, RefreshResult::Status::failed) << r.message;
  EXPECT_EQ(r.outcome.code, "secret_unreadable");
  EXPECT_EQ(platform_->calls, 0);
  EXPECT_FALSE(r.next_at) << "not retried: a human must act";
  auto g = store_->get_grant(grant_.id);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->status, GrantStatus::needs_reauth);
  EXPECT_NE(g->status_reason.find("grant " + std::to_string(grant_.id)), std::string::npos) << g->status_reason;
  EXPECT_EQ(g->status_reason.find("refresh-"), std::string::npos) << g->status_reason;
  EXPECT_EQ(view_token(), "access-0") << "the last token is served until it expires";
}

// A refresh token sealed with a key this instance has not loaded (another daemon already has a
// newer key) is not the row's fault: the refresh is postponed and the grant stays active.
TEST_F(RefresherTest, ASecretSealedWithAKeyNotLoadedPostponesTheRefresh) {
  const std::string bytes(32, 'Z');
  auto newer = make_pg_store(url_, 1,
                             std::make_shared<const crypto::Sealer>(
                                 std::vector<crypto::SealKey>{crypto::SealKey{crypto::key_id_for(bytes), bytes}}));
  newer->upsert_grant(sample_grant(app_.id, "acct-1", "refresh-new"), sample_token("access-0", clock_.system()));
  store_->set_next_refresh(key_, clock_.system() - std::chrono::seconds(1));
  auto r = refresher_->refresh(key_, Trigger::scheduled);
  EXPECT_EQ(r.status, RefreshResult::Status::store_error) << r.message;
  EXPECT_EQ(platform_->calls, 0);
  EXPECT_TRUE(r.next_at);
  EXPECT_EQ(store_->get_grant(grant_.id)->status, GrantStatus::active);
}

}  // namespace
}  // namespace mediax::test

namespace mediax::test {
namespace {

// Two instances on one database: each with its own store (connection pool), cache and owner id,
// sharing the scripted platform so that its call count is the platform's view of both.
class TwoInstances : public RefresherTest {
 protected:
  void SetUp() override {
    RefresherTest::SetUp();
    store_b_ = make_pg_store(url_, 8, test_sealer());
    for (const auto& t : store_b_->all_tokens()) cache_b_.put(t);
    refresher_b_ = std::make_unique<Refresher>(*store_b_, *store_b_, *store_b_, registry_, cache_b_, *policy_, clock_,
                                               "instance-b", metrics_);
  }
  std::unique_ptr<Store> store_b_;
  TokenCache cache_b_;
  std::unique_ptr<Refresher> refresher_b_;
};

TEST_F(TwoInstances, RejectedTokenReportedOnBothInstancesAtOnceRefreshesOnce) {
  platform_->hold();
  platform_->push(token("access-1", "refresh-1"));
  platform_->push(token("access-unexpected", "refresh-unexpected"));
  std::vector<std::thread> threads;
  std::vector<std::string> seen(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Refresher& r = i % 2 == 0 ? *refresher_ : *refresher_b_;
      auto res = r.refresh(key_, Trigger::rejected, std::string("access-0"));
      if (res.token) seen[i] = res.token->access_token;
    });
  }
  platform_->until_called(1);
  platform_->release();
  for (auto& t : threads) t.join();
  EXPECT_EQ(platform_->calls.load(), 1);
  for (const auto& s : seen) EXPECT_EQ(s, "access-1");
  EXPECT_EQ(view_token(), "access-1");
  EXPECT_EQ(store_->get_grant(grant_.id, true)->refresh_token, "refresh-1");
  EXPECT_EQ(cache_.get(key_)->access_token, "access-1");
  EXPECT_EQ(cache_b_.get(key_)->access_token, "access-1");
}

TEST_F(TwoInstances, RejectedTokenWaitsForTheOtherInstancesRefreshInsteadOfRepeatingIt) {
  // Instance b is in the middle of refreshing (it holds the lease); a report of the old token
  // on instance a must come back with b's result, without a platform call of its own.
  auto now = clock_.system();
  ASSERT_TRUE(store_b_->acquire_lease(key_, "instance-b", now, now + std::chrono::seconds(60)));
  std::thread b([&] {
    clock_.until_monotonic_read();  // a is waiting for b's result
    RefreshSuccess s;
    s.token = sample_token("access-by-b", clock_.system() + std::chrono::hours(1));
    s.token.app_id = app_.id;
    s.token.grant_id = grant_.id;
    s.new_refresh_token = "refresh-by-b";
    s.next_refresh_at = clock_.system() + std::chrono::minutes(30);
    store_b_->complete_refresh(key_, "instance-b", s);
  });
  auto r = refresher_->refresh(key_, Trigger::rejected, std::string("access-0"));
  b.join();
  ASSERT_EQ(r.status, RefreshResult::Status::refreshed) << r.message;
  ASSERT_TRUE(r.token);
  EXPECT_EQ(r.token->access_token, "access-by-b");
  EXPECT_EQ(platform_->calls.load(), 0);
  EXPECT_EQ(cache_.get(key_)->access_token, "access-by-b");
  // The scheduler follows b's schedule rather than refreshing again.
  ASSERT_FALSE(nexts_.empty());
  ASSERT_TRUE(nexts_.back().second);
  EXPECT_GT(*nexts_.back().second, clock_.system() + std::chrono::minutes(20));
}

TEST_F(TwoInstances, RejectedTokenTakesOverFromADeadInstanceOnceItsLeaseRunsOut) {
  auto now = clock_.system();
  ASSERT_TRUE(store_b_->acquire_lease(key_, "instance-dead", now, now + std::chrono::seconds(2)));
  platform_->push(token("access-1", "refresh-1"));
  const auto started = std::chrono::steady_clock::now();
  auto r = refresher_->refresh(key_, Trigger::rejected, std::string("access-0"));
  ASSERT_EQ(r.status, RefreshResult::Status::refreshed) << r.message;
  EXPECT_EQ(r.token->access_token, "access-1");
  EXPECT_EQ(platform_->calls.load(), 1);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1500));
  EXPECT_EQ(view_token(), "access-1");
}

TEST_F(TwoInstances, StaleReportOnTheOtherInstanceGetsTheNewTokenWithoutACall) {
  platform_->push(token("access-1", "refresh-1"));
  ASSERT_EQ(refresher_->refresh(key_, Trigger::rejected, std::string("access-0")).status,
            RefreshResult::Status::refreshed);
  // b's cache still holds access-0 (it has not heard of the refresh yet).
  ASSERT_EQ(cache_b_.get(key_)->access_token, "access-0");
  auto r = refresher_b_->refresh(key_, Trigger::rejected, std::string("access-0"));
  ASSERT_EQ(r.status, RefreshResult::Status::refreshed) << r.message;
  EXPECT_EQ(r.token->access_token, "access-1");
  EXPECT_EQ(platform_->calls.load(), 1);
  EXPECT_EQ(cache_b_.get(key_)->access_token, "access-1");
}

}  // namespace
}  // namespace mediax::test

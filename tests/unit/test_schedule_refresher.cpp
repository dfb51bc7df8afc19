// Refresher: one refresh against in-memory store slices and a scripted platform, on a
// ManualTimeSource. What is stored, published and scheduled next; a lease held elsewhere;
// concurrent reports of one refused token; a refresh whose inputs changed while it failed; a
// refresh cut off by a dead instance.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "fake_http_client.hpp"
#include "obs/metrics.hpp"
#include "platforms/registry.hpp"
#include "schedule/refresher.hpp"
#include "support/manual_time_source.hpp"
#include "support/store_fakes/event_log.hpp"
#include "support/store_fakes/refresh_store.hpp"
#include "support/store_fakes/token_feed.hpp"

namespace mediax {
namespace {

using namespace std::chrono_literals;

const TimePoint kT0 = from_unix(1'800'000'000);

// Answers refresh and client_token calls from a script, in order; a call can be held at a gate.
class ScriptedPlatform final : public Platform {
 public:
  std::string name() const override { return "scripted"; }
  AppCheck prepare_app(App&) override { return {}; }
  bool uses_pkce(const App&) const override { return false; }
  std::string authorize_url(const App&, const AuthorizeParams&) const override { return "https://idp.example/a"; }
  Outcome exchange_code(const App&, const std::string&, const std::string&, const std::string&) override {
    return Outcome::failure(OutcomeKind::app_misconfigured, "not_scripted", "");
  }
  Outcome refresh(const App&, const Grant&) override { return next(); }
  // App tokens (a key with grant 0) follow the same script.
  Outcome client_token(const App&, const AppTokenCall&) override { return next(); }
  Outcome revoke(const App&, const Grant&) override { return Outcome::success({}); }

  void answer(Outcome o) {
    std::lock_guard lk(mu_);
    script_.push_back(std::move(o));
  }
  void open(bool o) {
    {
      std::lock_guard lk(mu_);
      open_ = o;
    }
    gate_.notify_all();
  }
  // Blocks until the platform has been called n times (it may be holding the last call).
  void until_called(int n) {
    std::unique_lock lk(mu_);
    called_.wait(lk, [&] { return calls_ >= n; });
  }
  int calls() const {
    std::lock_guard lk(mu_);
    return calls_;
  }

 private:
  Outcome next() {
    std::unique_lock lk(mu_);
    ++calls_;
    called_.notify_all();
    gate_.wait(lk, [this] { return open_; });
    if (script_.empty()) return Outcome::failure(OutcomeKind::retry_later, "script_empty", "no answer queued");
    auto o = script_.front();
    script_.pop_front();
    return o;
  }

  mutable std::mutex mu_;
  std::condition_variable gate_, called_;
  bool open_ = true;
  int calls_ = 0;
  std::deque<Outcome> script_;
};

Outcome token(const std::string& access, std::optional<std::string> refresh = std::nullopt) {
  TokenResult t;
  t.access_token = access;
  t.expires_in = Seconds(3600);
  t.refresh_token = std::move(refresh);
  return Outcome::success(t);
}

class RefresherTest : public ::testing::Test {
 protected:
  RefresherTest() : clock_(kT0) {
    auto p = std::make_unique<ScriptedPlatform>();
    platform_ = p.get();
    platforms_.add(std::move(p));
    cfg_.retry_min_seconds = 5;
    cfg_.retry_max_seconds = 60;
    cfg_.jitter_seconds = 0;
    policy_ = std::make_unique<RefreshPolicy>(cfg_, 1);
    refresher_ = std::make_unique<Refresher>(store_, feed_, events_, platforms_, cache_, *policy_, clock_, "instance-a",
                                             metrics_);
    refresher_->set_next_listener([this](const RefreshKey& k, std::optional<TimePoint> next) {
      std::lock_guard lk(mu_);
      nexts_.emplace_back(k, next);
    });

    job_.key = key_;
    job_.app.id = key_.app_id;
    job_.app.name = "app1";
    job_.app.platform = "scripted";
    Grant g;
    g.id = key_.grant_id;
    g.app_id = key_.app_id;
    g.refresh_token = "refresh-0";
    job_.grant = g;
    Token current;
    current.app_id = key_.app_id;
    current.grant_id = key_.grant_id;
    current.access_token = "access-0";
    current.refreshed_at = kT0 - 55min;
    current.expires_at = kT0 + 5min;
    job_.current = current;
    cache_.put(current);
  }

  void put_due_job() { store_.put(job_, clock_.system() - 1s); }

  std::vector<std::pair<RefreshKey, std::optional<TimePoint>>> nexts() {
    std::lock_guard lk(mu_);
    return nexts_;
  }

  const RefreshKey key_{7, 42};
  ManualTimeSource clock_;
  FakeRefreshStore store_;
  FakeTokenFeed feed_;
  FakeEventLog events_;
  testing::FakeHttpClient http_;
  PlatformRegistry platforms_{http_, PlatformSettings{}};
  ScriptedPlatform* platform_ = nullptr;
  RefreshConfig cfg_;
  std::unique_ptr<RefreshPolicy> policy_;
  TokenCache cache_;
  metrics::Registry metrics_;
  std::unique_ptr<Refresher> refresher_;
  RefreshJob job_;
  std::mutex mu_;
  std::vector<std::pair<RefreshKey, std::optional<TimePoint>>> nexts_;
};

TEST_F(RefresherTest, ASuccessIsStoredPublishedAndScheduledBeforeTheNewTokenExpires) {
  put_due_job();
  platform_->answer(token("access-1", "refresh-1"));
  auto r = refresher_->refresh(key_, Trigger::scheduled);
  ASSERT_EQ(r.status, RefreshResult::Status::refreshed) << r.message;
  const auto row = store_.row(key_);
  ASSERT_EQ(row.completed.size(), 1u);
  EXPECT_EQ(row.completed[0].token.access_token, "access-1");
  EXPECT_EQ(row.completed[0].new_refresh_token, "refresh-1");
  EXPECT_EQ(row.completed[0].token.expires_at, kT0 + 1h);
  EXPECT_TRUE(row.lease_owner.empty()) << "the lease is released with the result";
  EXPECT_EQ(cache_.get(key_)->access_token, "access-1") << "published to the token cache";
  ASSERT_EQ(nexts().size(), 1u);
  ASSERT_TRUE(nexts()[0].second);
  EXPECT_EQ(*nexts()[0].second, row.completed[0].next_refresh_at);
  EXPECT_GT(*nexts()[0].second, kT0);
  EXPECT_LT(*nexts()[0].second, kT0 + 1h);
  EXPECT_EQ(events_.of_kind("refreshed").size(), 1u);
}

TEST_F(RefresherTest, AFailureIsRecordedAndRetriedLaterWithTheOldTokenStillServed) {
  put_due_job();
  platform_->answer(Outcome::failure(OutcomeKind::retry_later, "http_503", "unavailable"));
  auto r = refresher_->refresh(key_, Trigger::scheduled);
  EXPECT_EQ(r.status, RefreshResult::Status::failed);
  const auto row = store_.row(key_);
  ASSERT_EQ(row.failed.size(), 1u);
  EXPECT_EQ(row.failed[0].code, "http_503");
  EXPECT_FALSE(row.failed[0].new_status);
  ASSERT_TRUE(r.next_at);
  EXPECT_EQ(row.failed[0].next_refresh_at, r.next_at);
  EXPECT_GE(*r.next_at, kT0 + 2500ms) << "half of retry_min at least";
  EXPECT_LE(*r.next_at, kT0 + 5s) << "the first retry: retry_min at most";
  EXPECT_EQ(cache_.get(key_)->access_token, "access-0");
  EXPECT_EQ(events_.of_kind("refresh_failed").size(), 1u);
  // Its time comes: the retry goes to the platform again and succeeds.
  clock_.advance(*r.next_at - kT0);
  platform_->answer(token("access-1"));
  EXPECT_EQ(refresher_->refresh(key_, Trigger::scheduled).status, RefreshResult::Status::refreshed);
  EXPECT_EQ(platform_->calls(), 2);
}

TEST_F(RefresherTest, ALeaseHeldByAnotherInstanceIsLeftToItAndLookedAtAgainAfterTheLease) {
  put_due_job();
  store_.lease(key_, "instance-b", kT0 + 60s);
  ScheduleChange state;
  state.key = key_;
  state.next_refresh_at = kT0 - 1s;
  state.lease_until = kT0 + 60s;
  feed_.put_schedule(state, kT0);
  auto r = refresher_->refresh(key_, Trigger::scheduled);
  EXPECT_EQ(r.status, RefreshResult::Status::not_acquired);
  EXPECT_EQ(platform_->calls(), 0);
  ASSERT_TRUE(r.next_at);
  EXPECT_GE(*r.next_at, kT0 + 60s) << "not before the other instance's lease runs out";
  EXPECT_TRUE(store_.row(key_).completed.empty());
  // The app or grant was deleted meanwhile: gone, nothing more to schedule.
  feed_.erase_schedule(key_);
  auto gone = refresher_->refresh(key_, Trigger::scheduled);
  EXPECT_EQ(gone.status, RefreshResult::Status::gone);
  EXPECT_FALSE(gone.next_at);
}

TEST_F(RefresherTest, ConcurrentReportsOfOneRefusedTokenMakeOnePlatformCall) {
  put_due_job();
  platform_->answer(token("access-1", "refresh-1"));
  platform_->open(false);
  auto first = std::async(std::launch::async, [&] { return refresher_->refresh(key_, Trigger::rejected, "access-0"); });
  platform_->until_called(1);
  // The others arrive while the first is at the platform: they wait for its result, or (late)
  // find the refused token already replaced. Either way no second call.
  std::vector<std::future<RefreshResult>> others;
  for (int i = 0; i < 6; ++i) {
    others.push_back(
        std::async(std::launch::async, [&] { return refresher_->refresh(key_, Trigger::rejected, "access-0"); }));
  }
  platform_->open(true);
  EXPECT_EQ(first.get().token->access_token, "access-1");
  for (auto& f : others) {
    auto r = f.get();
    EXPECT_EQ(r.status, RefreshResult::Status::refreshed) << r.message;
    ASSERT_TRUE(r.token);
    EXPECT_EQ(r.token->access_token, "access-1");
  }
  EXPECT_EQ(platform_->calls(), 1);
  EXPECT_EQ(store_.row(key_).completed.size(), 1u);
}

// The admission check (token/rejected's rate limits) is asked only by a call that would start a
// refresh: not by one joining the refresh in flight, nor by a report of a token already replaced.
TEST_F(RefresherTest, TheAdmissionCheckIsAskedOnlyByACallThatWouldStartARefresh) {
  put_due_job();
  std::atomic<int> asked{0};
  const Refresher::Admission refuse = [&] { return ++asked, false; };
  const Refresher::Admission admit = [&] { return ++asked, true; };
  auto refused = refresher_->refresh(key_, Trigger::rejected, "access-0", refuse);
  EXPECT_EQ(refused.status, RefreshResult::Status::refused);
  EXPECT_EQ(asked.load(), 1);
  EXPECT_EQ(platform_->calls(), 0) << "a refused call reaches neither the store nor the platform";
  EXPECT_TRUE(store_.row(key_).completed.empty());

  platform_->answer(token("access-1", "refresh-1"));
  platform_->open(false);
  auto first =
      std::async(std::launch::async, [&] { return refresher_->refresh(key_, Trigger::rejected, "access-0", admit); });
  platform_->until_called(1);
  EXPECT_EQ(asked.load(), 2);
  auto joined =
      std::async(std::launch::async, [&] { return refresher_->refresh(key_, Trigger::rejected, "access-0", refuse); });
  platform_->open(true);
  EXPECT_EQ(first.get().token->access_token, "access-1");
  const auto j = joined.get();
  EXPECT_EQ(j.status, RefreshResult::Status::refreshed) << "joined the refresh in flight, or found it done";
  EXPECT_EQ(j.token->access_token, "access-1");
  // The replaced token reported late: answered with the current one, nothing asked.
  const auto late = refresher_->refresh(key_, Trigger::rejected, "access-0", refuse);
  EXPECT_EQ(late.status, RefreshResult::Status::refreshed);
  EXPECT_EQ(late.token->access_token, "access-1");
  EXPECT_EQ(asked.load(), 2);
  EXPECT_EQ(platform_->calls(), 1);
}

// WeChat's ticket is pushed while the component token's fetch is at the platform, after that
// fetch read "no ticket": the push marks the key, makes its row due and schedules it; that
// refresh joins the fetch in flight. Its failure (retry in 10 minutes, the next push) must not
// stand: the fetch runs once more with the new ticket, and everyone waiting gets that token.
TEST_F(RefresherTest, AFetchWhoseInputsChangedWhileItFailedRunsOnceMoreForEveryoneWaiting) {
  const RefreshKey app_key{key_.app_id, 0};
  RefreshJob job = job_;
  job.key = app_key;
  job.grant.reset();
  job.current.reset();  // the first token: none yet
  store_.put(job, kT0 - 1s);
  platform_->answer(
      Outcome::failure(OutcomeKind::retry_later, "waiting_for_ticket", "no ticket pushed yet", 0, Seconds(600)));
  platform_->answer(token("component-1"));
  platform_->open(false);
  auto first = std::async(std::launch::async, [&] { return refresher_->refresh(app_key, Trigger::scheduled); });
  platform_->until_called(1);
  // The push, as ComponentEventReceiver::on_ticket does it; its scheduled refresh follows at once.
  EXPECT_TRUE(refresher_->inputs_changed(app_key)) << "a fetch is in flight";
  store_.set_next_refresh(app_key, kT0);
  auto pushed = std::async(std::launch::async, [&] { return refresher_->refresh(app_key, Trigger::scheduled); });
  platform_->open(true);

  const auto r = first.get();
  ASSERT_EQ(r.status, RefreshResult::Status::refreshed) << r.message;
  EXPECT_EQ(r.token->access_token, "component-1");
  const auto p = pushed.get();
  ASSERT_TRUE(p.token) << to_string(p.status) << ": " << p.message;
  EXPECT_EQ(p.token->access_token, "component-1") << "joined the second run (or came after it)";
  EXPECT_EQ(platform_->calls(), 2);
  const auto row = store_.row(app_key);
  ASSERT_EQ(row.failed.size(), 1U);
  EXPECT_EQ(row.failed[0].code, "waiting_for_ticket");
  ASSERT_EQ(row.completed.size(), 1U);
  EXPECT_EQ(row.next_refresh_at, row.completed[0].next_refresh_at) << "the failure's 10 minutes do not stand";
  EXPECT_EQ(cache_.get(app_key)->access_token, "component-1");
  for (const auto& [k, next] : nexts()) {
    EXPECT_NE(next, row.failed[0].next_refresh_at) << "the failure's retry time reached the timer wheel";
  }
  EXPECT_FALSE(refresher_->inputs_changed(app_key)) << "nothing in flight any more";
}

// The mark is for failures that may pass: a permanent one stopped the key (no lease to take for a
// second run), and without a mark a failure stands as before.
TEST_F(RefresherTest, OnlyAFailureThatMayPassIsRunAgainAfterItsInputsChanged) {
  put_due_job();
  platform_->answer(Outcome::failure(OutcomeKind::app_misconfigured, "invalid_client", "wrong secret"));
  platform_->open(false);
  auto first = std::async(std::launch::async, [&] { return refresher_->refresh(key_, Trigger::scheduled); });
  platform_->until_called(1);
  EXPECT_TRUE(refresher_->inputs_changed(key_));
  platform_->open(true);
  EXPECT_EQ(first.get().status, RefreshResult::Status::failed);
  EXPECT_EQ(platform_->calls(), 1);
  EXPECT_EQ(store_.row(key_).status, GrantStatus::needs_reauth);

  put_due_job();
  platform_->answer(Outcome::failure(OutcomeKind::retry_later, "http_503", "unavailable"));
  const auto r = refresher_->refresh(key_, Trigger::scheduled);
  EXPECT_EQ(r.status, RefreshResult::Status::failed);
  EXPECT_EQ(platform_->calls(), 2) << "no mark: no second run";
  EXPECT_EQ(store_.row(key_).next_refresh_at, r.next_at);
}

TEST_F(RefresherTest, ARefusedRefreshTokenAfterAnInterruptedRefreshSaysTheRotationWasLost) {
  job_.interrupted = true;  // the instance that held the lease died in the middle of a refresh
  put_due_job();
  platform_->answer(Outcome::failure(OutcomeKind::needs_reauth, "invalid_grant", "refresh token revoked"));
  auto r = refresher_->refresh(key_, Trigger::scheduled);
  EXPECT_EQ(r.status, RefreshResult::Status::failed);
  EXPECT_FALSE(r.next_at) << "a human must reconnect: not retried";
  const auto row = store_.row(key_);
  ASSERT_EQ(row.failed.size(), 1u);
  EXPECT_EQ(row.failed[0].code, "lost_rotation");
  EXPECT_NE(row.failed[0].message.find("invalid_grant"), std::string::npos);
  EXPECT_EQ(row.failed[0].new_status, GrantStatus::needs_reauth);
  EXPECT_EQ(row.status, GrantStatus::needs_reauth);
}

TEST_F(RefresherTest, ADatabaseOutageIsRetriedWithoutCallingThePlatform) {
  put_due_job();
  store_.set_down(true);
  auto r = refresher_->refresh(key_, Trigger::scheduled);
  EXPECT_EQ(r.status, RefreshResult::Status::store_error);
  EXPECT_EQ(platform_->calls(), 0);
  ASSERT_TRUE(r.next_at);
  EXPECT_GT(*r.next_at, kT0);
  EXPECT_EQ(cache_.get(key_)->access_token, "access-0") << "the cached token is still served";
}

}  // namespace
}  // namespace mediax

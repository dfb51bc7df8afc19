// PgStore: schedule, leases, completing and failing refreshes.
#include <latch>
#include <thread>

#include <gtest/gtest.h>

#include "pg_env.hpp"

namespace mediax::test {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

class StoreRefresh : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    app_ = store_->create_app(sample_app("app"));
    grant_ = store_->upsert_grant(sample_grant(app_.id, "acct", "rt-1"), sample_token("at-1", t0()));
    key_ = RefreshKey::unpack(RefreshKey{app_.id, grant_.id}.pack());  // app_id unknown, as from the wheel
  }

  RefreshSuccess success(const std::string& access_token) {
    RefreshSuccess s;
    s.token = sample_token(access_token, t0() + hours(2));
    s.next_refresh_at = t0() + hours(1);
    return s;
  }

  App app_;
  Grant grant_;
  RefreshKey key_;
};

TEST_F(StoreRefresh, LeaseReturnsTheJobWithSecrets) {
  const auto job = store_->acquire_lease(key_, "worker-a", t0(), t0() + minutes(1));
  ASSERT_TRUE(job);
  EXPECT_EQ(job->key.app_id, app_.id);
  EXPECT_EQ(job->key.grant_id, grant_.id);
  EXPECT_EQ(job->app.client_secret, "secret-of-app");
  ASSERT_TRUE(job->grant);
  EXPECT_EQ(job->grant->refresh_token, "rt-1");
  ASSERT_TRUE(job->current);
  EXPECT_EQ(job->current->access_token, "at-1");
}

TEST_F(StoreRefresh, OwnersRacingForOneKeyHaveExactlyOneWinner) {
  constexpr int kThreads = 8;
  for (int round = 0; round < 5; ++round) {
    std::latch start(kThreads);
    std::atomic<int> winners{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        const std::string owner = "worker-" + std::to_string(round) + "-" + std::to_string(i);
        if (store_->acquire_lease(key_, owner, t0(), t0() + minutes(1))) ++winners;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(winners.load(), 1) << "round " << round;
    for (int i = 0; i < kThreads; ++i) {
      store_->release_leases("worker-" + std::to_string(round) + "-" + std::to_string(i));
    }
  }
}

TEST_F(StoreRefresh, HeldLeaseBlocksOthersUntilItExpires) {
  ASSERT_TRUE(store_->acquire_lease(key_, "a", t0(), t0() + minutes(1)));
  EXPECT_FALSE(store_->acquire_lease(key_, "b", t0() + seconds(30), t0() + minutes(2)));
  EXPECT_TRUE(store_->acquire_lease(key_, "a", t0() + seconds(30), t0() + minutes(2)));  // the owner may renew
  EXPECT_FALSE(store_->acquire_lease(key_, "b", t0() + minutes(1), t0() + minutes(3)));
  EXPECT_TRUE(store_->acquire_lease(key_, "b", t0() + minutes(2), t0() + minutes(3)));    // expired: taken over
  EXPECT_THROW(store_->complete_refresh(key_, "a", success("at-late")), StoreError);
  EXPECT_EQ(store_->get_token(key_)->access_token, "at-1");
  EXPECT_THROW(store_->fail_refresh(key_, "a", {OutcomeKind::retry_later, "http_503", "busy", t0(), std::nullopt}),
               StoreError);
}

TEST_F(StoreRefresh, CompleteStoresTokenRotatesRefreshTokenAndReleasesTheLease) {
  // One failure first, to see it reset.
  ASSERT_TRUE(store_->acquire_lease(key_, "a", t0(), t0() + minutes(1)));
  store_->fail_refresh(key_, "a", {OutcomeKind::retry_later, "http_503", "busy", t0() + seconds(5), std::nullopt});
  ASSERT_EQ(store_->get_grant(grant_.id)->failure_count, 1);

  ASSERT_TRUE(store_->acquire_lease(key_, "a", t0(), t0() + minutes(1)));
  RefreshSuccess s = success("at-2");
  s.token.scopes = {"read", "extra"};
  s.new_refresh_token = "rt-2";
  s.refresh_expires_at = t0() + hours(720);
  s.grant_extra_patch = {{"renewals", 1}};
  store_->complete_refresh(key_, "a", s);

  const auto tok = store_->get_token(key_);
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->access_token, "at-2");
  EXPECT_EQ(tok->expires_at, t0() + hours(2));
  EXPECT_EQ(tok->scopes, (std::vector<std::string>{"read", "extra"}));
  const auto g = store_->get_grant(grant_.id, true);
  EXPECT_EQ(g->refresh_token, "rt-2");
  EXPECT_EQ(g->refresh_expires_at, t0() + hours(720));
  EXPECT_EQ(g->failure_count, 0);
  EXPECT_EQ(g->last_error, "");
  EXPECT_EQ(g->next_refresh_at, t0() + hours(1));
  EXPECT_EQ(g->extra["renewals"], 1);
  EXPECT_EQ(g->extra["unionid"], "u-acct");  // merged, not replaced
  EXPECT_TRUE(store_->acquire_lease(key_, "b", t0(), t0() + minutes(1)));  // released
}

TEST_F(StoreRefresh, CompleteWithoutRotationKeepsRefreshTokenAndScopes) {
  ASSERT_TRUE(store_->acquire_lease(key_, "a", t0(), t0() + minutes(1)));
  RefreshSuccess s = success("at-2");
  s.token.scopes.clear();  // "unchanged"
  store_->complete_refresh(key_, "a", s);
  EXPECT_EQ(store_->get_grant(grant_.id, true)->refresh_token, "rt-1");
  EXPECT_EQ(store_->get_token(key_)->scopes, std::vector<std::string>{"read"});
  EXPECT_EQ(store_->get_token(key_)->access_token, "at-2");
}

TEST_F(StoreRefresh, FailuresCountUpAndCanStopTheGrant) {
  for (int i = 1; i <= 2; ++i) {
    ASSERT_TRUE(store_->acquire_lease(key_, "a", t0(), t0() + minutes(1)));
    store_->fail_refresh(key_, "a",
                         {OutcomeKind::retry_later, "http_503", "unavailable", t0() + seconds(10 * i), std::nullopt});
    const auto g = store_->get_grant(grant_.id);
    EXPECT_EQ(g->failure_count, i);
    EXPECT_EQ(g->last_error, "http_503: unavailable");
    EXPECT_EQ(g->next_refresh_at, t0() + seconds(10 * i));
    EXPECT_EQ(g->status, GrantStatus::active);
  }
  ASSERT_TRUE(store_->acquire_lease(key_, "a", t0(), t0() + minutes(1)));
  store_->fail_refresh(key_, "a", {OutcomeKind::needs_reauth, "invalid_grant", "refresh token expired", std::nullopt,
                                   GrantStatus::needs_reauth});
  const auto g = store_->get_grant(grant_.id);
  EXPECT_EQ(g->failure_count, 3);
  EXPECT_EQ(g->status, GrantStatus::needs_reauth);
  EXPECT_EQ(g->status_reason, "invalid_grant: refresh token expired");
  EXPECT_FALSE(g->next_refresh_at);
  EXPECT_TRUE(store_->load_schedule().empty());
  EXPECT_FALSE(store_->acquire_lease(key_, "a", t0(), t0() + minutes(1)));
}

TEST_F(StoreRefresh, ScheduleListsActiveAppTokensAndGrants) {
  const App cc = store_->create_app(sample_app("cc", true));
  store_->set_next_refresh({cc.id, 0}, t0() + minutes(5));
  store_->create_app(sample_app("plain"));  // no app token, no grants
  const App fresh_cc = store_->create_app(sample_app("fresh-cc", true));  // never fetched
  const Grant revoked = store_->upsert_grant(sample_grant(app_.id, "gone", "rt"), sample_token("at", t0()));
  store_->revoke_grant(revoked.id, "x");

  const auto entries = store_->load_schedule();
  ASSERT_EQ(entries.size(), 3U);
  // Ordered by due time; the never-fetched app is due at once (the database's now(), before t0).
  EXPECT_EQ(entries[0].key, (RefreshKey{fresh_cc.id, 0}));
  EXPECT_LT(entries[0].next_refresh_at, t0());
  EXPECT_EQ(entries[1].key, (RefreshKey{cc.id, 0}));
  EXPECT_EQ(entries[1].next_refresh_at, t0() + minutes(5));
  EXPECT_EQ(entries[2].key, (RefreshKey{app_.id, grant_.id}));
  EXPECT_EQ(entries[2].next_refresh_at, t0() + minutes(50));

  store_->set_next_refresh(key_, t0() + seconds(1));
  EXPECT_EQ(store_->get_grant(grant_.id)->next_refresh_at, t0() + seconds(1));
}

TEST_F(StoreRefresh, AppTokenLeaseCompleteAndFail) {
  const App cc = store_->create_app(sample_app("cc", true));
  const RefreshKey key{cc.id, 0};
  const auto job = store_->acquire_lease(key, "a", t0(), t0() + minutes(1));
  ASSERT_TRUE(job);
  EXPECT_FALSE(job->grant);
  EXPECT_FALSE(job->current);
  EXPECT_EQ(job->app.client_secret, "secret-of-cc");
  EXPECT_FALSE(store_->acquire_lease(key, "b", t0(), t0() + minutes(1)));
  store_->complete_refresh(key, "a", success("app-at"));
  EXPECT_EQ(store_->get_token(key)->access_token, "app-at");
  EXPECT_FALSE(store_->get_token(key)->grant_id);
  EXPECT_EQ(store_->get_app_by_id(cc.id)->next_refresh_at, t0() + hours(1));

  ASSERT_TRUE(store_->acquire_lease(key, "b", t0(), t0() + minutes(1)));
  store_->fail_refresh(key, "b", {OutcomeKind::app_misconfigured, "invalid_client", "bad secret", std::nullopt,
                                  GrantStatus::disabled});
  const auto after = store_->get_app_by_id(cc.id);
  EXPECT_EQ(after->status, GrantStatus::disabled);
  EXPECT_EQ(after->failure_count, 1);
  EXPECT_EQ(after->last_error, "invalid_client: bad secret");
  EXPECT_FALSE(store_->acquire_lease(key, "b", t0(), t0() + minutes(1)));
}

TEST_F(StoreRefresh, ReleaseLeasesFreesOnlyThatOwner) {
  const App cc = store_->create_app(sample_app("cc", true));
  ASSERT_TRUE(store_->acquire_lease(key_, "a", t0(), t0() + hours(1)));
  ASSERT_TRUE(store_->acquire_lease({cc.id, 0}, "other", t0(), t0() + hours(1)));
  store_->release_leases("a");
  EXPECT_TRUE(store_->acquire_lease(key_, "b", t0(), t0() + hours(1)));
  EXPECT_FALSE(store_->acquire_lease({cc.id, 0}, "b", t0(), t0() + hours(1)));
}

TEST_F(StoreRefresh, ReconnectDuringARefreshMakesTheStaleResultLoseItsLease) {
  ASSERT_TRUE(store_->acquire_lease(key_, "a", t0(), t0() + minutes(1)));
  store_->upsert_grant(sample_grant(app_.id, "acct", "rt-reconnected"), sample_token("at-reconnected", t0()));
  RefreshSuccess s = success("at-stale");
  s.new_refresh_token = "rt-stale";
  EXPECT_THROW(store_->complete_refresh(key_, "a", s), StoreError);
  EXPECT_EQ(store_->get_grant(grant_.id, true)->refresh_token, "rt-reconnected");
  EXPECT_EQ(store_->get_token(key_)->access_token, "at-reconnected");
}

TEST_F(StoreRefresh, RejectedTokenLeaseOnlyWhileThatTokenIsStillStored) {
  // A report of an old token: another instance refreshed already, nothing to lease.
  EXPECT_FALSE(store_->acquire_lease(key_, "a", t0(), t0() + minutes(1), std::nullopt, std::string("at-old")));
  // The stored token is the refused one: this instance refreshes (even when not due).
  store_->set_next_refresh(key_, t0() + hours(5));
  const auto job = store_->acquire_lease(key_, "a", t0(), t0() + minutes(1), std::nullopt, std::string("at-1"));
  ASSERT_TRUE(job);
  store_->complete_refresh(key_, "a", success("at-2"));
  // The second instance's report of the same token comes after: no second refresh.
  EXPECT_FALSE(store_->acquire_lease(key_, "b", t0(), t0() + minutes(1), std::nullopt, std::string("at-1")));
  EXPECT_EQ(store_->get_token(key_)->access_token, "at-2");

  // An app token with none stored yet may be fetched for a report.
  const App cc = store_->create_app(sample_app("cc", true));
  EXPECT_TRUE(store_->acquire_lease({cc.id, 0}, "a", t0(), t0() + minutes(1), std::nullopt, std::string("x")));
  store_->complete_refresh({cc.id, 0}, "a", success("app-at-1"));
  EXPECT_FALSE(store_->acquire_lease({cc.id, 0}, "b", t0(), t0() + minutes(1), std::nullopt, std::string("x")));
  EXPECT_TRUE(store_->acquire_lease({cc.id, 0}, "b", t0(), t0() + minutes(1), std::nullopt, std::string("app-at-1")));
}

TEST_F(StoreRefresh, RejectedTokenRaceOfManyOwnersLeasesOnceEvenAcrossACompletedRefresh) {
  // Owners race with reports of one token while the winner completes its refresh at once: the
  // ones that wait for the winner's row lock must see the new token, not refresh again.
  constexpr int kThreads = 8;
  for (int round = 0; round < 5; ++round) {
    const std::string refused = store_->get_token(key_)->access_token;
    std::latch start(kThreads);
    std::atomic<int> winners{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        const std::string owner = "worker-" + std::to_string(round) + "-" + std::to_string(i);
        if (store_->acquire_lease(key_, owner, t0(), t0() + minutes(1), std::nullopt, refused)) {
          ++winners;
          store_->complete_refresh(key_, owner, success("at-round-" + std::to_string(round)));
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(winners.load(), 1) << "round " << round;
  }
}

}  // namespace
}  // namespace mediax::test

// PgStore: schedule, leases, completing and failing refreshes.
#include <algorithm>
#include <latch>
#include <map>
#include <mutex>
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
  EXPECT_TRUE(store_->acquire_lease(key_, "b", t0() + minutes(2), t0() + minutes(3)));  // expired: taken over
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
  EXPECT_EQ(g->extra["unionid"], "u-acct");                                // merged, not replaced
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
  store_->fail_refresh(
      key_, "a",
      {OutcomeKind::needs_reauth, "invalid_grant", "refresh token expired", std::nullopt, GrantStatus::needs_reauth});
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
  store_->create_app(sample_app("plain"));                                // no app token, no grants
  const App fresh_cc = store_->create_app(sample_app("fresh-cc", true));  // never fetched
  const Grant revoked = store_->upsert_grant(sample_grant(app_.id, "gone", "rt"), sample_token("at", t0()));
  store_->revoke_grant(revoked.id, "x");

  auto entries = store_->load_schedule();
  ASSERT_EQ(entries.size(), 3U);
  // In no particular order (the timer wheel orders): sorted here by due time. The never-fetched
  // app is due at once (the database's now(), before t0).
  std::sort(entries.begin(), entries.end(),
            [](const ScheduleEntry& a, const ScheduleEntry& b) { return a.next_refresh_at < b.next_refresh_at; });
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
  store_->fail_refresh(
      key, "b", {OutcomeKind::app_misconfigured, "invalid_client", "bad secret", std::nullopt, GrantStatus::disabled});
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


// Scheduled refreshes of grants take leases and store results in batches (pg_store_batch.cpp):
// many threads at once, several owners racing for the same rows, one lease taken over before
// its result arrives, values that need quoting in an array literal.
TEST_F(StoreRefresh, ConcurrentBatchedLeasesAndResultsKeepOneOwnerPerRowAndLoseOnlyTheStolenOne) {
  constexpr int kGrants = 60;
  constexpr int kOwners = 3;
  std::vector<RefreshKey> keys{key_};
  for (int i = 1; i < kGrants; ++i) {
    const auto g = store_->upsert_grant(sample_grant(app_.id, "acct-" + std::to_string(i), "rt-" + std::to_string(i)),
                                        sample_token("at-old-" + std::to_string(i), t0()));
    keys.push_back(RefreshKey::unpack(RefreshKey{app_.id, g.id}.pack()));
  }
  for (const auto& k : keys) store_->set_next_refresh(k, t0());  // all due
  // Every owner tries every grant, all threads at once, as scheduled refreshes (due by t0 + 1 s).
  std::latch start(kOwners * kGrants);
  std::mutex mu;
  std::map<std::int64_t, std::vector<std::string>> winners;
  std::vector<std::thread> threads;
  for (int o = 0; o < kOwners; ++o) {
    for (int i = 0; i < kGrants; ++i) {
      threads.emplace_back([&, o, i] {
        const std::string owner = "owner-" + std::to_string(o);
        start.arrive_and_wait();
        auto job =
            store_->acquire_lease(keys[static_cast<std::size_t>(i)], owner, t0(), t0() + minutes(1), t0() + seconds(1));
        if (!job) return;
        EXPECT_EQ(job->key.app_id, app_.id);
        EXPECT_EQ(job->app.client_secret, "secret-of-app");
        ASSERT_TRUE(job->grant);
        EXPECT_EQ(job->grant->refresh_token, i == 0 ? "rt-1" : "rt-" + std::to_string(i));
        ASSERT_TRUE(job->current);
        std::lock_guard lk(mu);
        winners[job->key.grant_id].push_back(owner);
      });
    }
  }
  for (auto& t : threads) t.join();
  threads.clear();
  ASSERT_EQ(winners.size(), static_cast<std::size_t>(kGrants));
  for (const auto& [id, owners] : winners) EXPECT_EQ(owners.size(), 1u) << "grant " << id;

  // The first grant's lease runs out and another owner takes it: its first owner's result is lost.
  const auto stolen = keys[0];
  const std::string stolen_from = winners[stolen.grant_id].front();
  const std::string thief = "owner-late";
  ASSERT_TRUE(store_->acquire_lease(stolen, thief, t0() + minutes(2), t0() + minutes(3)));

  std::atomic<int> lost{0};
  std::latch finish(kGrants);
  for (int i = 0; i < kGrants; ++i) {
    threads.emplace_back([&, i] {
      const auto& key = keys[static_cast<std::size_t>(i)];
      RefreshSuccess s = success("at-\"new\",{" + std::to_string(i) + "}\\");
      s.token.scopes = {"read", "a \"quoted\", scope"};
      s.new_refresh_token = "rt-new-" + std::to_string(i);
      s.grant_extra_patch = {{"round", i}};
      finish.arrive_and_wait();
      try {
        store_->complete_refresh(key, winners.at(key.grant_id).front(), s);
      } catch (const StoreError&) {
        ++lost;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(lost.load(), 1);
  EXPECT_EQ(store_->get_token(stolen)->access_token, "at-1");  // keys[0] is key_ of SetUp
  EXPECT_EQ(store_->get_grant(stolen.grant_id, true)->refresh_token, "rt-1");
  EXPECT_FALSE(store_->acquire_lease(stolen, stolen_from, t0() + minutes(2), t0() + minutes(3)));  // the thief holds it
  for (int i = 1; i < kGrants; ++i) {
    const auto& key = keys[static_cast<std::size_t>(i)];
    const auto tok = store_->get_token(key);
    ASSERT_TRUE(tok);
    EXPECT_EQ(tok->access_token, "at-\"new\",{" + std::to_string(i) + "}\\");
    EXPECT_EQ(tok->scopes, (std::vector<std::string>{"read", "a \"quoted\", scope"}));
    EXPECT_EQ(tok->expires_at, t0() + hours(2));
    const auto g = store_->get_grant(key.grant_id, true);
    EXPECT_EQ(g->refresh_token, "rt-new-" + std::to_string(i));  // sealed for its own row: it opens
    EXPECT_EQ(g->next_refresh_at, t0() + hours(1));
    EXPECT_EQ(g->extra["round"], i);
    // Released: anyone may lease it once it is due again.
    EXPECT_TRUE(
        store_->acquire_lease(key, "owner-next", t0() + hours(1), t0() + hours(1) + minutes(1), t0() + hours(1)));
  }
}

}  // namespace
}  // namespace mediax::test

// PgStore: the end of a refresh token (migrations/0008_douyin_renewal.sql): a grant's
// reauth_due_at stored with a refresh and shown with the grant, cleared by a new authorization;
// grant.reauth_due queued once per refresh token's life; an app flagged once as not permitted to
// renew, with its app.renew_not_permitted event.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_env.hpp"

namespace mediax::test {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

class StoreRenewal : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    app_ = store_->create_app(sample_app("dy"));
    store_->set_webhook(app_.id, "https://hooks.example/mediax", "whsec-integration-0123456789");
    grant_ = store_->upsert_grant(sample_grant(app_.id, "acct", "rt-1"), sample_token("at-1", t0()));
    key_ = RefreshKey{app_.id, grant_.id};
  }

  void refresh_with(std::optional<TimePoint> reauth_due_at, const std::string& last_error = "") {
    ASSERT_TRUE(store_->acquire_lease(key_, "a", t0(), t0() + minutes(1)));
    RefreshSuccess s;
    s.token = sample_token("at-2", t0() + hours(2));
    s.next_refresh_at = t0() + hours(1);
    s.reauth_due_at = reauth_due_at;
    s.last_error = last_error;
    store_->complete_refresh(key_, "a", s);
  }

  int events(const std::string& event) {
    int n = 0;
    for (const auto& d : store_->list_webhook_deliveries(app_.id, 100)) n += d.event == event ? 1 : 0;
    return n;
  }

  App app_;
  Grant grant_;
  RefreshKey key_;
};

TEST_F(StoreRenewal, ARefreshStoresTheReauthDateAndAWarningAndTheNextClearsThem) {
  EXPECT_FALSE(store_->get_grant(grant_.id)->reauth_due_at);
  refresh_with(t0() + hours(240), "10004: renewing the refresh token failed: no permission");
  auto g = store_->get_grant(grant_.id);
  EXPECT_EQ(g->reauth_due_at, t0() + hours(240));
  EXPECT_EQ(g->last_error, "10004: renewing the refresh token failed: no permission");
  EXPECT_EQ(g->status, GrantStatus::active);
  EXPECT_EQ(g->failure_count, 0) << "a warning is not a failure";
  EXPECT_EQ(store_->list_grants(app_.id).at(0).reauth_due_at, t0() + hours(240));
  // The lease read (batched) carries it too.
  auto job = store_->acquire_lease(key_, "b", t0(), t0() + minutes(1));
  ASSERT_TRUE(job);
  EXPECT_EQ(job->grant->reauth_due_at, t0() + hours(240));
  store_->release_leases("b");

  refresh_with(std::nullopt);
  g = store_->get_grant(grant_.id);
  EXPECT_FALSE(g->reauth_due_at);
  EXPECT_EQ(g->last_error, "");
}

TEST_F(StoreRenewal, ReauthNoticeIsQueuedOncePerRefreshTokenAndOnlyWithinTheNotice) {
  refresh_with(t0() + hours(24 * 10));
  const auto week = std::chrono::seconds(7 * 24 * 3600);
  EXPECT_EQ(store_->queue_reauth_notices(t0(), week), 0) << "ten days away: not yet";
  EXPECT_EQ(store_->queue_reauth_notices(t0() + hours(24 * 3), week), 1);
  EXPECT_EQ(store_->queue_reauth_notices(t0() + hours(24 * 4), week), 0) << "once";
  EXPECT_EQ(events("grant.reauth_due"), 1);
  const auto d = store_->list_webhook_deliveries(app_.id, 10).at(0);
  EXPECT_EQ(d.payload.value("grant_id", 0), grant_.id);
  EXPECT_EQ(d.payload.value("account_id", ""), "acct");
  EXPECT_EQ(d.payload.value("reauth_due_at", ""), format_time(t0() + hours(24 * 10)));

  // A new refresh token's end (the account connected again, then no renewals) is noticed again.
  Grant again = sample_grant(app_.id, "acct", "rt-9");
  again.reauth_due_at = t0() + hours(24 * 12);
  store_->upsert_grant(again, sample_token("at-9", t0()));
  EXPECT_EQ(store_->get_grant(grant_.id)->reauth_due_at, t0() + hours(24 * 12));
  EXPECT_EQ(store_->queue_reauth_notices(t0() + hours(24 * 6), week), 1);
  EXPECT_EQ(events("grant.reauth_due"), 2);

  // Stopped grants are not noticed.
  Grant other = store_->upsert_grant(sample_grant(app_.id, "gone", "rt-x"), sample_token("at-x", t0()));
  pqxx::connection c(url_);
  pqxx::work tx(c);
  tx.exec_params("UPDATE mediax.grants SET reauth_due_at = to_timestamp($1) WHERE id = $2",
                 static_cast<double>(to_unix(t0() + hours(1))), other.id);
  tx.commit();
  store_->revoke_grant(other.id, "gone");
  EXPECT_EQ(store_->queue_reauth_notices(t0(), week), 0);
}

TEST_F(StoreRenewal, AConnectedAccountClearsTheReauthDate) {
  refresh_with(t0() + hours(3));
  store_->upsert_grant(sample_grant(app_.id, "acct", "rt-2"), sample_token("at-3", t0()));
  EXPECT_FALSE(store_->get_grant(grant_.id)->reauth_due_at);
}

TEST_F(StoreRenewal, AnAppIsFlaggedAsNotPermittedToRenewOnceWithOneEvent) {
  EXPECT_FALSE(store_->get_app_by_id(app_.id)->renew_not_permitted_at);
  EXPECT_TRUE(store_->flag_renew_not_permitted(app_.id, t0()));
  EXPECT_FALSE(store_->flag_renew_not_permitted(app_.id, t0() + minutes(5))) << "once";
  EXPECT_EQ(store_->get_app_by_id(app_.id)->renew_not_permitted_at, t0());
  EXPECT_EQ(store_->get_app("dy")->renew_not_permitted_at, t0());
  bool listed = false;
  for (const auto& a : store_->list_apps()) listed |= a.id == app_.id && a.renew_not_permitted_at == t0();
  EXPECT_TRUE(listed);
  // The refresh job's app carries it, so the platform stops asking.
  auto job = store_->acquire_lease(key_, "a", t0(), t0() + minutes(1));
  ASSERT_TRUE(job);
  EXPECT_EQ(job->app.renew_not_permitted_at, t0());
  EXPECT_EQ(events("app.renew_not_permitted"), 1);
  const auto d = store_->list_webhook_deliveries(app_.id, 10).at(0);
  EXPECT_EQ(d.payload.value("app", ""), "dy");
  EXPECT_EQ(d.payload.value("event", ""), "app.renew_not_permitted");
  // Without a webhook the flag is still set.
  const App quiet = store_->create_app(sample_app("quiet"));
  EXPECT_TRUE(store_->flag_renew_not_permitted(quiet.id, t0()));
  EXPECT_TRUE(store_->list_webhook_deliveries(quiet.id, 10).empty());
}

}  // namespace
}  // namespace mediax::test

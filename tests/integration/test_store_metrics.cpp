// PgStore: the aggregate counts behind GET /metrics.
#include <algorithm>
#include <chrono>
#include <map>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pg_env.hpp"

namespace mediax::test {
namespace {

using StoreMetrics = StoreTest;

std::int64_t find(const std::vector<StatusCount>& v, const std::string& kind, const std::string& status,
                  bool leased = false) {
  for (const auto& c : v) {
    if (c.kind == kind && c.platform == "oauth2" && c.status == status) return leased ? c.leased : c.count;
  }
  return 0;
}

void set_lease(const std::string& url, std::int64_t grant_id, const std::string& until_sql) {
  pqxx::connection c(url);
  pqxx::work tx(c);
  tx.exec("UPDATE mediax.grants SET lease_owner = 'owner', lease_until = " + until_sql +
          " WHERE id = " + std::to_string(grant_id));
  tx.commit();
}

std::int64_t find(const std::vector<TokenCount>& v, const std::string& state) {
  for (const auto& c : v) {
    if (c.platform == "oauth2" && c.state == state) return c.count;
  }
  return 0;
}

TEST_F(StoreMetrics, EmptyDatabaseCountsNothing) {
  EXPECT_TRUE(store_->count_grants_by_platform_status().empty());
  EXPECT_TRUE(store_->count_tokens_by_platform().empty());
}

TEST_F(StoreMetrics, GrantsAndAppTokensAreCountedByPlatformStatusAndLease) {
  const App app = store_->create_app(sample_app("counted"));
  const App cc = store_->create_app(sample_app("machine", true));
  const Grant g1 = store_->upsert_grant(sample_grant(app.id, "a1", "rt-1"), sample_token("at-1", t0()));
  store_->upsert_grant(sample_grant(app.id, "a2", "rt-2"), sample_token("at-2", t0()));
  const Grant g3 = store_->upsert_grant(sample_grant(app.id, "a3", "rt-3"), sample_token("at-3", t0()));
  ASSERT_TRUE(store_->revoke_grant(g3.id, "test"));
  // One grant's lease is held now, another's ran out an hour ago.
  set_lease(url_, g1.id, "now() + interval '1 minute'");
  set_lease(url_, g3.id, "now() - interval '1 hour'");

  const auto counts = store_->count_grants_by_platform_status();
  EXPECT_EQ(find(counts, "grant", "active"), 2);
  EXPECT_EQ(find(counts, "grant", "revoked"), 1);
  EXPECT_EQ(find(counts, "grant", "needs_reauth"), 0);
  EXPECT_EQ(find(counts, "grant", "active", true), 1);
  EXPECT_EQ(find(counts, "app_token", "active"), 1) << "only client-credentials apps have an app token";
  EXPECT_EQ(find(counts, "app_token", "active", true), 0);
  (void)cc;

  set_lease(url_, g1.id, "NULL");
  EXPECT_EQ(find(store_->count_grants_by_platform_status(), "grant", "active", true), 0);
}

TEST_F(StoreMetrics, TokensAreCountedAsValidOrExpired) {
  const App app = store_->create_app(sample_app("tokens"));
  store_->upsert_grant(sample_grant(app.id, "fresh", "rt-1"), sample_token("at-1", t0()));
  store_->upsert_grant(sample_grant(app.id, "stale", "rt-2"), sample_token("at-2", from_unix(1'000'000'000)));
  const auto counts = store_->count_tokens_by_platform();
  EXPECT_EQ(find(counts, "valid"), 1);
  EXPECT_EQ(find(counts, "expired"), 1);
}

TEST_F(StoreMetrics, GrantsMissingScopesAreCountedPerAppIncludingZeros) {
  const App app = store_->create_app(sample_app("partial"));
  const App other = store_->create_app(sample_app("complete"));
  Grant partial = sample_grant(app.id, "p1", "rt-1");
  partial.extra = {{"missing_scopes", {"https://www.googleapis.com/auth/drive.readonly"}}};
  store_->upsert_grant(partial, sample_token("at-1", t0()));
  Grant full = sample_grant(app.id, "p2", "rt-2");
  full.extra = {{"missing_scopes", nlohmann::json::array()}};
  store_->upsert_grant(full, sample_token("at-2", t0()));
  Grant revoked = sample_grant(app.id, "p3", "rt-3");
  revoked.extra = partial.extra;
  const Grant r = store_->upsert_grant(revoked, sample_token("at-3", t0()));
  ASSERT_TRUE(store_->revoke_grant(r.id, "test"));
  store_->upsert_grant(sample_grant(other.id, "c1", "rt-4"), sample_token("at-4", t0()));

  auto counts = store_->count_grants_missing_scopes();
  std::map<std::string, std::int64_t> by_app(counts.begin(), counts.end());
  EXPECT_EQ(by_app["partial"], 1) << "active grants only";
  ASSERT_EQ(by_app.count("complete"), 1u) << "an app with none shows 0, so the gauge goes back down";
  EXPECT_EQ(by_app["complete"], 0);
}

// The per-app gauges read a few columns of every app (not list_apps): the same values list_apps gives.
TEST_F(StoreMetrics, AppGaugeStatesAgreeWithListApps) {
  App waiting = sample_app("component-waiting");
  waiting.platform = "wechat_component";
  waiting = store_->create_app(waiting);
  App ticketed = sample_app("component-ticketed");
  ticketed.platform = "wechat_component";
  ticketed = store_->create_app(ticketed);
  ASSERT_TRUE(store_->put_component_ticket({ticketed.id, "ticket@@@x", t0(), t0()}));
  const App broken = store_->create_app(sample_app("broken", true));
  {
    pqxx::connection c(url_);
    pqxx::work tx(c);
    tx.exec(
        "UPDATE mediax.apps SET misconfigured = 'token_url changed', misconfigured_at = now(),"
        " last_error = 'app_misconfigured: refused' WHERE id = " +
        std::to_string(broken.id));
    tx.commit();
  }

  const auto full = store_->list_apps();
  const auto light = store_->app_gauge_states();
  ASSERT_EQ(light.size(), 3u);
  ASSERT_EQ(full.size(), light.size());
  for (std::size_t i = 0; i < full.size(); ++i) {
    SCOPED_TRACE(full[i].name);
    EXPECT_EQ(light[i].id, full[i].id);
    EXPECT_EQ(light[i].name, full[i].name);
    EXPECT_EQ(light[i].platform, full[i].platform);
    EXPECT_EQ(light[i].last_error, full[i].last_error);
    EXPECT_EQ(light[i].misconfigured, full[i].misconfigured);
    EXPECT_EQ(light[i].component_ticket_at, full[i].component_ticket_at);
  }
  EXPECT_FALSE(light[0].component_ticket_at);
  EXPECT_TRUE(light[1].component_ticket_at);
  EXPECT_EQ(light[2].misconfigured, "token_url changed");
}

}  // namespace
}  // namespace mediax::test

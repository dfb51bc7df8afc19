// PgStore: the aggregate counts behind GET /metrics.
#include <algorithm>
#include <chrono>

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
  tx.exec("UPDATE mediax.grants SET lease_owner = 'owner', lease_until = " + until_sql + " WHERE id = " +
          std::to_string(grant_id));
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

}  // namespace
}  // namespace mediax::test

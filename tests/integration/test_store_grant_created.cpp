// PgStore::upsert_grant tells a new grant from a replaced one by its times: POST
// /v1/apps/{name}/grants and .../grants/import answer 201 for a new account and 200 for one that
// was connected already (Grants::add_grant_from_code, import_grant).
#include <gtest/gtest.h>

#include "pg_env.hpp"

namespace mediax::test {
namespace {

using StoreGrantCreated = StoreTest;

TEST_F(StoreGrantCreated, ANewGrantHasEqualTimesAndAReplacedOneKeepsItsCreatedAt) {
  const App app = store_->create_app(sample_app("app"));
  const Grant first = store_->upsert_grant(sample_grant(app.id, "acct", "rt-1"), sample_token("at-1", t0()));
  EXPECT_EQ(first.created_at, first.updated_at) << "inserted in one transaction";
  const Grant again = store_->upsert_grant(sample_grant(app.id, "acct", "rt-2"), sample_token("at-2", t0()));
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(again.created_at, first.created_at);
  EXPECT_NE(again.created_at, again.updated_at) << "a replaced grant shows when it was replaced";
  const Grant other = store_->upsert_grant(sample_grant(app.id, "acct-2", "rt-3"), sample_token("at-3", t0()));
  EXPECT_EQ(other.created_at, other.updated_at);
}

}  // namespace
}  // namespace mediax::test

// Partitions in PostgreSQL: the claims on advisory locks (store/partition_locks.hpp), two
// instances' sessions and one that ends; the schedule and tokens of some partitions only.
#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "pg_env.hpp"
#include "store/partition_locks.hpp"

namespace mediax::test {
namespace {

using std::chrono::hours;

class StorePartitions : public StoreTest {};

std::vector<int> held_by(const PartitionView& v, std::int64_t session) {
  std::vector<int> out;
  for (int p = 0; p < kPartitionCount; ++p) {
    if (v.holders[static_cast<std::size_t>(p)] == session) out.push_back(p);
  }
  return out;
}

TEST_F(StorePartitions, ClaimsAreExclusiveAndEndWithTheSession) {
  auto a = make_partition_claims(url_);
  auto b = make_partition_claims(url_);
  const auto va = a->look();
  const auto vb = b->look();
  EXPECT_NE(va.me, vb.me);
  EXPECT_EQ(vb.members.size(), 2u) << "both joined";
  EXPECT_EQ(held_by(vb, 0).size(), static_cast<std::size_t>(kPartitionCount)) << "all free";

  EXPECT_EQ(a->claim({0, 1, 2, 3}), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(b->claim({2, 3, 4}), (std::vector<int>{4})) << "a holds 2 and 3";
  EXPECT_EQ(a->claim({1}), (std::vector<int>{1})) << "taking again what it holds is harmless";
  auto seen = b->look();
  EXPECT_EQ(held_by(seen, va.me), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(held_by(seen, vb.me), (std::vector<int>{4}));

  a->release({1});
  a->release({1});  // once more: the lock was taken twice (a session's locks count)
  EXPECT_EQ(b->claim({1}), (std::vector<int>{1}));

  // a's session ends (as when its process is killed): its locks are free at once.
  {
    pqxx::connection admin(url_);
    pqxx::nontransaction tx(admin);
    tx.exec_params("SELECT pg_terminate_backend($1)", va.me);
  }
  for (int i = 0; i < 50 && b->look().members.size() != 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  seen = b->look();
  EXPECT_EQ(seen.members, (std::vector<std::int64_t>{vb.me}));
  EXPECT_EQ(held_by(seen, vb.me), (std::vector<int>{1, 4}));
  EXPECT_EQ(held_by(seen, 0).size(), static_cast<std::size_t>(kPartitionCount - 2)) << "the rest are free";
  EXPECT_EQ(b->claim({0, 2, 3}), (std::vector<int>{0, 2, 3}));

  // a notices on its next look: it joins again with a new session that holds nothing.
  EXPECT_THROW(a->look(), StoreError);
  const auto again = a->look();
  EXPECT_NE(again.me, va.me);
  EXPECT_TRUE(held_by(again, again.me).empty());

  b->leave();
  EXPECT_EQ(held_by(a->look(), 0).size(), static_cast<std::size_t>(kPartitionCount)) << "leaving releases everything";
}

TEST_F(StorePartitions, ScheduleAndTokensOfSomePartitionsOnly) {
  const App app = store_->create_app(sample_app("app"));
  const App cc = store_->create_app(sample_app("cc", true));
  std::vector<Grant> grants;
  for (int i = 0; i < 6; ++i) {
    grants.push_back(store_->upsert_grant(sample_grant(app.id, "acct-" + std::to_string(i), "rt"),
                                          sample_token("at-" + std::to_string(i), t0() + hours(2))));
  }
  store_->set_next_refresh({cc.id, 0}, t0());
  Token app_token = sample_token("app-at", t0() + hours(2));
  app_token.app_id = cc.id;
  const std::vector<int> some = {partition_of(RefreshKey{0, grants[1].id}), partition_of(RefreshKey{0, grants[4].id}),
                                 partition_of(RefreshKey{cc.id, 0})};

  std::set<std::int64_t> scheduled;
  for (const auto& e : store_->load_schedule_of(some)) {
    EXPECT_TRUE(PartitionSet(some).owns(e.key));
    scheduled.insert(e.key.is_app_token() ? -e.key.app_id : e.key.grant_id);
  }
  std::set<std::int64_t> expected;
  for (const auto& g : grants) {
    if (PartitionSet(some).owns(RefreshKey{0, g.id})) expected.insert(g.id);
  }
  EXPECT_TRUE(expected.count(grants[1].id) && expected.count(grants[4].id));
  expected.insert(-cc.id);
  EXPECT_EQ(scheduled, expected);

  std::set<std::int64_t> tokens;
  store_->scan_tokens_of(some, 2, [&](const Token& t) {
    EXPECT_TRUE(PartitionSet(some).owns(RefreshKey{t.app_id, t.grant_id.value_or(0)}));
    tokens.insert(t.grant_id.value_or(-t.app_id));
  });
  expected.erase(-cc.id);  // no app token stored yet
  EXPECT_EQ(tokens, expected);
  EXPECT_TRUE(store_->load_schedule_of({}).empty());
  EXPECT_EQ(store_->load_schedule_of(PartitionSet().list()).size(), store_->load_schedule().size());
}

}  // namespace
}  // namespace mediax::test

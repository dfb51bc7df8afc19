// PgStore: what an instance that lost the race for a lease reads to know when to look again.
// schedule_of (and the sweep's schedule_changes_since) say until when another instance holds the
// lease, so that a dead holder's refresh is taken over right after its lease runs out.
#include <gtest/gtest.h>

#include "pg_env.hpp"
#include "schedule/refresh_policy.hpp"

namespace mediax::test {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

class StoreTakeover : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    app_ = store_->create_app(sample_app("app"));
    grant_ = store_->upsert_grant(sample_grant(app_.id, "acct", "rt-1"), sample_token("at-1", t0() + hours(1)));
    key_ = RefreshKey{app_.id, grant_.id};
    store_->set_next_refresh(key_, t0());
  }

  App app_;
  Grant grant_;
  RefreshKey key_;
};

TEST_F(StoreTakeover, ScheduleOfSaysUntilWhenAnotherInstanceHoldsTheLease) {
  auto free = store_->schedule_of(key_);
  ASSERT_TRUE(free);
  EXPECT_FALSE(free->lease_until) << "nobody holds the lease yet";

  // Instance "a" takes the lease for 5 s; instance "b" is refused and reads the row.
  ASSERT_TRUE(store_->acquire_lease(key_, "a", t0(), t0() + seconds(5), t0() + seconds(1)));
  EXPECT_FALSE(store_->acquire_lease(key_, "b", t0() + seconds(1), t0() + seconds(6), t0() + seconds(2)));
  auto leased = store_->schedule_of(key_);
  ASSERT_TRUE(leased && leased->lease_until && leased->next_refresh_at);
  EXPECT_EQ(*leased->lease_until, t0() + seconds(5));
  EXPECT_EQ(*leased->next_refresh_at, t0()) << "still due: a takes it over only if a dies";
  // What b does next: look again right after the lease, and then it may take the row over.
  const auto again =
      retry_after_lease_refused(t0() + seconds(1), leased->next_refresh_at, leased->lease_until, seconds(5));
  EXPECT_GT(again, t0() + seconds(5));
  auto job = store_->acquire_lease(key_, "b", again, again + seconds(5), again + seconds(1));
  ASSERT_TRUE(job);
  EXPECT_TRUE(job->interrupted) << "a never finished: its refresh may have rotated the refresh token";

  // The sweep reads the lease too.
  bool seen = false;
  for (const auto& c : store_->schedule_changes_since(t0() - hours(24 * 365 * 10))) {
    if (c.key.grant_id != grant_.id) continue;
    seen = true;
    ASSERT_TRUE(c.lease_until);
    EXPECT_EQ(*c.lease_until, again + seconds(5));
  }
  EXPECT_TRUE(seen);

  // Released with the result: no lease left.
  RefreshSuccess s;
  s.token = sample_token("at-2", t0() + hours(2));
  s.next_refresh_at = t0() + hours(1);
  store_->complete_refresh(key_, "b", s);
  auto done = store_->schedule_of(key_);
  ASSERT_TRUE(done);
  EXPECT_FALSE(done->lease_until);
  EXPECT_EQ(*done->next_refresh_at, t0() + hours(1));
}

}  // namespace
}  // namespace mediax::test

// ClusterSync over a FakeTokenFeed with a ManualTimeSource: what other instances changed since the
// last sweep reaches the token cache and the timer wheel, a failing store is read again from the
// same point, and notifications of other instances are read again key by key.
#include <gtest/gtest.h>

#include <map>

#include "runtime/cluster_sync.hpp"
#include "runtime/janitor.hpp"
#include "support/manual_time_source.hpp"
#include "support/store_fakes/token_feed.hpp"

namespace mediax {
namespace {

using namespace std::chrono_literals;

class ClusterSyncTest : public ::testing::Test {
 protected:
  Token token(RefreshKey key, const std::string& access, TimePoint refreshed) {
    Token t;
    t.app_id = key.app_id;
    if (!key.is_app_token()) t.grant_id = key.grant_id;
    t.access_token = access;
    t.token_type = "Bearer";
    t.refreshed_at = refreshed;
    t.expires_at = refreshed + 1h;
    return t;
  }
  ScheduleChange change(RefreshKey key, GrantStatus status, std::optional<TimePoint> next) {
    ScheduleChange c;
    c.key = key;
    c.status = status;
    c.next_refresh_at = next;
    return c;
  }
  std::optional<std::string> cached(RefreshKey key) {
    auto t = cache_.get(key);
    return t ? std::optional<std::string>(t->access_token) : std::nullopt;
  }

  ManualTimeSource time_;
  FakeTokenFeed feed_;
  TokenCache cache_;
  std::map<std::uint64_t, TimePoint> scheduled_;  // the wheel as ClusterSync left it
  std::vector<std::uint64_t> cancelled_;
  ClusterSync sync_{feed_, cache_,
                    WheelUpdates{[this](const RefreshKey& k, TimePoint at) { scheduled_[k.pack()] = at; },
                                 [this](const RefreshKey& k) {
                                   scheduled_.erase(k.pack());
                                   cancelled_.push_back(k.pack());
                                 },
                                 [this](const RefreshKey& k) { inputs_changed_.push_back(k.pack()); }},
                    time_, "mediaxd/self"};
  std::vector<std::uint64_t> inputs_changed_;
  const RefreshKey a_{1, 10};
  const RefreshKey b_{1, 11};
  const RefreshKey app_{2, 0};
};

TEST_F(ClusterSyncTest, ChangesSinceTheLastSweepReachTheCacheAndTheWheel) {
  cache_.put(token(b_, "b-old", time_.system()));
  time_.advance(1s);
  const TimePoint next = time_.system() + 50min;
  feed_.put_token(token(a_, "a-new", time_.system()), time_.system());
  feed_.put_schedule(change(a_, GrantStatus::active, next), time_.system());
  feed_.put_schedule(change(b_, GrantStatus::revoked, std::nullopt), time_.system());
  feed_.put_schedule(change(app_, GrantStatus::needs_reauth, std::nullopt), time_.system());
  time_.advance(10s);

  sync_.sweep();
  EXPECT_EQ(cached(a_), "a-new");
  ASSERT_TRUE(scheduled_.count(a_.pack()));
  EXPECT_EQ(scheduled_[a_.pack()], next);
  EXPECT_EQ(cached(b_), std::nullopt) << "a revoked grant's token is no longer served";
  EXPECT_FALSE(scheduled_.count(b_.pack()));
  EXPECT_FALSE(scheduled_.count(app_.pack())) << "needs_reauth: not refreshed";

  // The next sweep reads only what changed since the last one (less the overlap).
  time_.advance(10s);
  const auto reads = feed_.reads();
  cancelled_.clear();
  scheduled_.clear();
  feed_.put_schedule(change(app_, GrantStatus::active, time_.system()), time_.system());
  sync_.sweep();
  EXPECT_EQ(feed_.reads(), reads + 2);
  EXPECT_EQ(scheduled_.size(), 1U);
  EXPECT_TRUE(scheduled_.count(app_.pack())) << "the app token was started again elsewhere";
  EXPECT_TRUE(cancelled_.empty()) << "the rows of the first sweep are not applied again";
}

TEST_F(ClusterSyncTest, ASweepNeverReplacesANewerTokenOfThisInstance) {
  time_.advance(1s);
  feed_.put_token(token(a_, "a-read-before", time_.system()), time_.system());
  time_.advance(1s);
  cache_.put(token(a_, "a-refreshed-here", time_.system()));
  sync_.sweep();
  EXPECT_EQ(cached(a_), "a-refreshed-here");
}

TEST_F(ClusterSyncTest, AFailingStoreIsReadAgainFromTheSamePointAtTheNextSweep) {
  time_.advance(1s);
  sync_.sweep();
  time_.advance(30s);
  feed_.put_token(token(a_, "a-during-outage", time_.system()), time_.system());
  feed_.put_schedule(change(a_, GrantStatus::active, time_.system() + 1h), time_.system());
  feed_.set_down(true);
  time_.advance(30s);
  EXPECT_NO_THROW(sync_.sweep());
  EXPECT_EQ(cached(a_), std::nullopt);

  feed_.set_down(false);
  time_.advance(5min);  // far past the overlap: only the failed sweep's start point can find the rows
  sync_.sweep();
  EXPECT_EQ(cached(a_), "a-during-outage");
  EXPECT_TRUE(scheduled_.count(a_.pack()));
}

TEST_F(ClusterSyncTest, NotificationsOfOtherInstancesAreReadAgainKeyByKey) {
  EXPECT_FALSE(sync_.on_notify(R"({"by":"mediaxd/self","app_id":1,"grant_id":10})")) << "our own write";
  EXPECT_FALSE(sync_.on_notify("not json"));
  EXPECT_FALSE(sync_.on_notify(R"({"by":"mediaxd/other"})")) << "names no key";
  sync_.resync_pending();
  EXPECT_EQ(feed_.reads(), 0) << "nothing queued: nothing read";

  feed_.put_token(token(a_, "a-other", time_.system()), time_.system());
  feed_.put_schedule(change(a_, GrantStatus::active, time_.system() + 1h), time_.system());
  cache_.put(token(b_, "b-gone", time_.system()));
  scheduled_[b_.pack()] = time_.system();
  EXPECT_TRUE(sync_.on_notify(R"({"by":"mediaxd/other","app_id":1,"grant_id":10})"));
  EXPECT_TRUE(sync_.on_notify(R"({"by":"mediaxd/other","app_id":1,"grant_id":11})"));
  sync_.resync_pending();
  EXPECT_EQ(cached(a_), "a-other");
  EXPECT_EQ(scheduled_[a_.pack()], time_.system() + 1h);
  EXPECT_EQ(cached(b_), std::nullopt) << "deleted elsewhere: no row, no token";
  EXPECT_FALSE(scheduled_.count(b_.pack()));

  const auto reads = feed_.reads();
  sync_.resync_pending();
  EXPECT_EQ(feed_.reads(), reads) << "each notification is read once";
}

// A ticket another instance stored is news for a fetch of the app token in flight here: it is
// told at once, on the LISTEN thread, not when the queue is read (the fetch may be over by then).
TEST_F(ClusterSyncTest, ATicketAnotherInstanceStoredIsToldToTheRefresherAtOnce) {
  const std::string ticket = R"({"op":"ticket","app_id":2,"grant_id":null,"by":"mediaxd/other"})";
  EXPECT_TRUE(sync_.on_notify(ticket));
  ASSERT_EQ(inputs_changed_.size(), 1U);
  EXPECT_EQ(inputs_changed_[0], app_.pack());
  EXPECT_EQ(feed_.reads(), 0) << "before anything is read";
  EXPECT_FALSE(sync_.on_notify(R"({"op":"ticket","app_id":2,"grant_id":null,"by":"mediaxd/self"})"))
      << "our own ticket: the push handler told the refresher";
  EXPECT_TRUE(sync_.on_notify(R"({"op":"update","app_id":2,"grant_id":null,"by":"mediaxd/other"})"));
  EXPECT_EQ(inputs_changed_.size(), 1U) << "a token changed elsewhere is no new input";
}

TEST_F(ClusterSyncTest, ANotifiedKeyTheStoreCannotReadIsLeftToTheSweep) {
  feed_.set_down(true);
  ASSERT_TRUE(sync_.on_notify(R"({"by":"mediaxd/other","app_id":1,"grant_id":10})"));
  EXPECT_NO_THROW(sync_.resync_pending());
  feed_.set_down(false);
  feed_.put_token(token(a_, "a-other", time_.system()), time_.system());
  time_.advance(1s);
  sync_.sweep();
  EXPECT_EQ(cached(a_), "a-other");
}

TEST_F(ClusterSyncTest, OnTheJanitorAStoreThatWasDownIsSweptAgainAtTheNextPeriod) {
  boost::asio::io_context loop;
  boost::asio::io_context pool;  // the blocking pool, run by hand
  Janitor janitor(loop, pool.get_executor(), time_);
  janitor.add("schedule sweep", 30s, Janitor::On::pool, [this] { sync_.sweep(); });
  janitor.start();
  const auto run_period = [&] {
    time_.advance(30s);
    janitor.run_due();
    pool.restart();
    pool.poll();
    loop.restart();
    loop.poll();
  };
  feed_.put_token(token(a_, "a-while-down", time_.system()), time_.system());
  feed_.set_down(true);
  run_period();
  EXPECT_EQ(cached(a_), std::nullopt);
  feed_.set_down(false);
  run_period();
  EXPECT_EQ(cached(a_), "a-while-down");
}

}  // namespace
}  // namespace mediax

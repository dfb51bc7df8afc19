// Scheduler: the timer wheel driven on a hand-run io_context, its due keys refreshed on the worker
// pool. Time is a ManualTimeSource; the timer re-reads it every millisecond of real time
// (set_recheck_period), so advancing the clock and running the io_context makes due keys fire.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "fiber/carriers.hpp"
#include "fiber/condition.hpp"
#include "obs/metrics.hpp"
#include "schedule/scheduler.hpp"
#include "support/manual_time_source.hpp"

namespace mediax {
namespace {

using namespace std::chrono_literals;

const TimePoint kT0 = from_unix(1'800'000'000);

RefreshKey grant(std::int64_t id) { return RefreshKey{0, id}; }

// Records the keys it is asked to refresh, in order. A refresh can be held at a gate, and can
// reschedule its key as the Refresher's listener does in the daemon.
class FakeRefresher final : public DueRefresher {
 public:
  void refresh_due(const RefreshKey& key) override {
    std::unique_lock lk(mu_);
    ++entered_;
    entered_cv_.notify_all();
    gate_cv_.wait(lk, [this] { return open_; });
    done_.push_back(key.grant_id);
    auto after = then_;
    lk.unlock();
    if (after) after(key);
  }

  std::vector<std::int64_t> done() const {
    std::lock_guard lk(mu_);
    return done_;
  }
  int entered() const {
    std::lock_guard lk(mu_);
    return entered_;
  }
  // Refreshes wait until open(true).
  void open(bool o) {
    {
      std::lock_guard lk(mu_);
      open_ = o;
    }
    gate_cv_.notify_all();
  }
  // Runs after each refresh (on the worker), e.g. to reschedule the key.
  void then(std::function<void(const RefreshKey&)> f) {
    std::lock_guard lk(mu_);
    then_ = std::move(f);
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable gate_cv_, entered_cv_;
  bool open_ = true;
  int entered_ = 0;
  std::vector<std::int64_t> done_;
  std::function<void(const RefreshKey&)> then_;
};

// The test's ManualTimeSource, telling when the scheduler reads monotonic time: only stop()
// does (its grace), so a test advances the clock once stop() has measured its deadline.
class WatchedClock final : public TimeSource {
 public:
  explicit WatchedClock(const ManualTimeSource& clock) : clock_(clock) {}
  TimePoint system() const override { return clock_.system(); }
  MonoTime monotonic() const override {
    reads_.fetch_add(1);
    return clock_.monotonic();
  }
  void until_monotonic_read() const {
    while (reads_.load() == 0) std::this_thread::yield();
  }

 private:
  const ManualTimeSource& clock_;
  mutable std::atomic<int> reads_{0};
};

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() : clock_(kT0) {}

  void start(int workers, const std::vector<ScheduleEntry>& entries) {
    scheduler_ = std::make_unique<Scheduler>(io_, refresher_, watched_, workers, metrics_);
    scheduler_->set_recheck_period(1ms);
    scheduler_->load(entries);
    scheduler_->start();
  }
  ~SchedulerTest() override {
    refresher_.open(true);  // lets the pool join
  }

  // Runs the io_context by hand until done() holds; false after 5 s of real time (a failure,
  // not a deadline: the clock the scheduler reads is the manual one).
  bool run_until(const std::function<bool()>& done) {
    const auto give_up = MonoClock::now() + 5s;
    while (!done()) {
      if (MonoClock::now() > give_up) return false;
      if (io_.stopped()) io_.restart();
      io_.run_one_for(10ms);
    }
    return true;
  }
  // Runs the io_context through a number of timer rechecks: what is not due stays undone.
  void run_a_while() {
    for (int i = 0; i < 30; ++i) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(2ms);
    }
  }
  bool done_count(std::size_t n) {
    return run_until([&] { return refresher_.done().size() >= n; });
  }

  ManualTimeSource clock_;
  WatchedClock watched_{clock_};
  boost::asio::io_context io_;
  FakeRefresher refresher_;
  metrics::Registry metrics_;
  std::unique_ptr<Scheduler> scheduler_;
};

using Ids = std::vector<std::int64_t>;

TEST_F(SchedulerTest, DueKeysAreRefreshedEarliestFirstAndNotBeforeTheirTime) {
  start(1, {{grant(3), kT0 + 30s}, {grant(1), kT0 + 10s}, {grant(2), kT0 + 20s}});
  run_a_while();
  EXPECT_EQ(refresher_.done(), Ids{});
  clock_.advance(10s);
  ASSERT_TRUE(done_count(1));
  run_a_while();
  EXPECT_EQ(refresher_.done(), Ids{1}) << "grants 2 and 3 are not due yet";
  clock_.advance(30s);  // both due at once, one worker: earliest first
  ASSERT_TRUE(done_count(3));
  EXPECT_EQ(refresher_.done(), (Ids{1, 2, 3}));
}

TEST_F(SchedulerTest, NoMoreRefreshesRunAtOnceThanThereAreWorkers) {
  refresher_.open(false);
  start(2, {{grant(1), kT0}, {grant(2), kT0}, {grant(3), kT0}});
  ASSERT_TRUE(run_until([&] { return refresher_.entered() == 2; }));
  run_a_while();
  EXPECT_EQ(refresher_.entered(), 2) << "the third waits for a worker";
  refresher_.open(true);
  ASSERT_TRUE(done_count(3));
}

TEST_F(SchedulerTest, ARefreshThatReschedulesItsKeyRunsAgainAtTheNewTime) {
  refresher_.then([this](const RefreshKey& k) { scheduler_->schedule(k, clock_.system() + 60s); });
  start(1, {{grant(7), kT0 + 5s}});
  clock_.advance(5s);
  ASSERT_TRUE(done_count(1));
  clock_.advance(59s);
  run_a_while();
  EXPECT_EQ(refresher_.done().size(), 1u);
  clock_.advance(1s);
  ASSERT_TRUE(done_count(2));
  EXPECT_EQ(refresher_.done(), (Ids{7, 7}));
}

TEST_F(SchedulerTest, AKeyMovedEarlierOrLaterFiresAtItsNewTimeOnly) {
  start(1, {{grant(1), kT0 + 100s}, {grant(2), kT0 + 10s}});
  scheduler_->schedule(grant(1), kT0 + 5s);   // earlier
  scheduler_->schedule(grant(2), kT0 + 50s);  // later
  clock_.advance(5s);
  ASSERT_TRUE(done_count(1));
  EXPECT_EQ(refresher_.done(), Ids{1});
  clock_.advance(10s);  // grant 2's old time
  run_a_while();
  EXPECT_EQ(refresher_.done(), Ids{1});
  clock_.advance(35s);
  ASSERT_TRUE(done_count(2));
  clock_.advance(60s);  // grant 1's old time: it was moved, not copied
  run_a_while();
  EXPECT_EQ(refresher_.done(), (Ids{1, 2}));
}

TEST_F(SchedulerTest, RestrictedToSomePartitionsItSchedulesOnlyTheirKeys) {
  PartitionSet owned;
  owned.set_all(false);
  owned.set(1, true);
  owned.set(2, true);
  scheduler_ = std::make_unique<Scheduler>(io_, refresher_, watched_, 1, metrics_);
  scheduler_->set_recheck_period(1ms);
  scheduler_->restrict_to(&owned);
  scheduler_->load({{grant(1), kT0 + 10s}, {grant(3), kT0 + 10s}, {grant(2 + kPartitionCount), kT0 + 20s}});
  scheduler_->start();
  scheduler_->schedule(grant(4), kT0 + 10s);                        // another instance's partition
  scheduler_->add({{grant(2), kT0 + 30s}, {grant(5), kT0 + 30s}});  // taken over: 2 is ours now, 5 is not
  run_a_while();
  clock_.advance(10s);
  ASSERT_TRUE(done_count(1));
  // Partition 2 is given up: its keys go, before and while they are due.
  owned.set(2, false);
  auto dropped = std::async(std::launch::async, [&] { return scheduler_->drop_partitions({2}); });
  ASSERT_TRUE(run_until([&] { return dropped.wait_for(0s) == std::future_status::ready; }));
  EXPECT_EQ(dropped.get(), 2u) << "grant 258 and grant 2";
  clock_.advance(60s);
  run_a_while();
  EXPECT_EQ(refresher_.done(), Ids{1});
}

TEST_F(SchedulerTest, ACancelledKeyIsNotRefreshedAndAKeyDueNowRunsAtOnce) {
  start(1, {{grant(1), kT0 + 10s}});
  scheduler_->cancel(grant(1));
  scheduler_->schedule(grant(2), kT0 - 5s);  // overdue: as soon as a worker is free
  ASSERT_TRUE(done_count(1));
  clock_.advance(20s);
  run_a_while();
  EXPECT_EQ(refresher_.done(), Ids{2});
}

TEST_F(SchedulerTest, StopWaitsForTheRefreshesInFlightAndTakesNoNewWork) {
  refresher_.open(false);
  start(2, {{grant(1), kT0}});
  ASSERT_TRUE(run_until([&] { return refresher_.entered() == 1; }));
  auto stopped = std::async(std::launch::async, [this] { scheduler_->stop(10s); });
  EXPECT_NE(stopped.wait_for(0s), std::future_status::ready) << "a refresh is in flight";
  refresher_.open(true);
  ASSERT_EQ(stopped.wait_for(5s), std::future_status::ready) << "stop returns when the refresh ends";
  EXPECT_EQ(refresher_.done(), Ids{1});
  scheduler_->schedule(grant(2), kT0);
  run_a_while();
  EXPECT_EQ(refresher_.done(), Ids{1}) << "stopped: no new work";
}

TEST_F(SchedulerTest, StopGivesUpOnAHungRefreshWhenTheGraceRunsOutOnTheClock) {
  refresher_.open(false);
  start(1, {{grant(1), kT0}});
  ASSERT_TRUE(run_until([&] { return refresher_.entered() == 1; }));
  auto stopped = std::async(std::launch::async, [this] { scheduler_->stop(3s); });
  watched_.until_monotonic_read();  // the grace runs from here
  clock_.advance(2s);
  EXPECT_NE(stopped.wait_for(0s), std::future_status::ready);
  clock_.advance(1s);
  ASSERT_EQ(stopped.wait_for(5s), std::future_status::ready) << "the grace is over";
  EXPECT_EQ(refresher_.done(), Ids{}) << "the refresh is still hung";
}

// On carriers each refresh is a fiber: a refresh that waits (its platform call, its batch) parks
// and the carrier runs the others, so one thread has max_concurrent refreshes in flight.
class ParkingRefresher final : public DueRefresher {
 public:
  void refresh_due(const RefreshKey& key) override {
    const int now_in = ++in_flight_;
    int seen = most_.load();
    while (now_in > seen && !most_.compare_exchange_weak(seen, now_in)) {
    }
    if (fiber::on_fiber()) ++on_fibers_;
    fiber::sleep_for(real_time(), 50ms);
    --in_flight_;
    std::lock_guard lk(mu_);
    done_.push_back(key.grant_id);
  }
  std::size_t done() const {
    std::lock_guard lk(mu_);
    return done_.size();
  }
  std::atomic<int> in_flight_{0}, most_{0}, on_fibers_{0};

 private:
  mutable std::mutex mu_;
  std::vector<std::int64_t> done_;
};

TEST_F(SchedulerTest, OnACarrierRefreshesAreFibersThatWaitTogether) {
  fiber::Carriers carriers(1);
  ParkingRefresher parking;
  std::vector<ScheduleEntry> entries;
  for (int i = 1; i <= 100; ++i) entries.push_back({grant(i), kT0});
  Scheduler s(io_, parking, watched_, 40, metrics_);
  s.set_recheck_period(1ms);
  s.run_on(carriers);
  s.load(entries);
  s.start();
  const auto started = MonoClock::now();
  ASSERT_TRUE(run_until([&] { return parking.done() == 100; }));
  EXPECT_LT(MonoClock::now() - started, 3s) << "100 refreshes of 50 ms, 40 at a time, on one thread";
  EXPECT_EQ(parking.on_fibers_.load(), 100);
  EXPECT_EQ(parking.most_.load(), 40) << "max_concurrent still bounds the refreshes in flight";
  s.stop(1s);
}

}  // namespace
}  // namespace mediax

// Janitor: per-task periods, an overrunning task skipped (not queued), pokes, stop. Time is a
// ManualTimeSource; the io_context and the "blocking pool" (a second io_context) are polled by hand.
#include <gtest/gtest.h>

#include <stdexcept>

#include "runtime/janitor.hpp"
#include "support/manual_time_source.hpp"

namespace mediax {
namespace {

using namespace std::chrono_literals;

class JanitorTest : public ::testing::Test {
 protected:
  // Runs what is ready on the loop; the number of handlers run.
  static std::size_t drain(boost::asio::io_context& ctx) {
    ctx.restart();
    return ctx.poll();
  }
  void tick(std::chrono::milliseconds d) {
    time_.advance(d);
    janitor_.run_due();
  }

  ManualTimeSource time_;
  boost::asio::io_context io_;
  boost::asio::io_context pool_;
  Janitor janitor_{io_, pool_.get_executor(), time_};
};

TEST_F(JanitorTest, EachTaskRunsAtItsOwnPeriodAndNotBeforeTheFirst) {
  int fast = 0, slow = 0;
  janitor_.add("fast", 1s, Janitor::On::loop, [&] { ++fast; });
  janitor_.add("slow", 3s, Janitor::On::loop, [&] { ++slow; });
  janitor_.start();
  janitor_.run_due();
  EXPECT_EQ(fast, 0);
  tick(999ms);
  EXPECT_EQ(fast, 0);
  tick(1ms);
  EXPECT_EQ(fast, 1);
  EXPECT_EQ(slow, 0);
  tick(1s);
  tick(1s);
  EXPECT_EQ(fast, 3);
  EXPECT_EQ(slow, 1);
  tick(3s);  // late: one run each, no catching up
  EXPECT_EQ(fast, 4);
  EXPECT_EQ(slow, 2);
}

TEST_F(JanitorTest, PoolTasksRunOnTheBlockingExecutorNotTheLoop) {
  int runs = 0;
  const auto id = janitor_.add("db", 1s, Janitor::On::pool, [&] { ++runs; });
  janitor_.start();
  tick(1s);
  EXPECT_EQ(runs, 0) << "posted to the pool, not run on the loop";
  EXPECT_TRUE(janitor_.running(id));
  EXPECT_EQ(drain(pool_), 1U);
  EXPECT_EQ(runs, 1);
  drain(io_);
  EXPECT_FALSE(janitor_.running(id));
}

TEST_F(JanitorTest, AnOverrunningTaskIsSkippedNotQueued) {
  int runs = 0;
  const auto id = janitor_.add("sweep", 1s, Janitor::On::pool, [&] { ++runs; });
  janitor_.start();
  tick(1s);
  ASSERT_TRUE(janitor_.running(id));
  for (int i = 0; i < 5; ++i) tick(1s);  // five periods pass while it runs
  EXPECT_EQ(drain(pool_), 1U) << "started once";
  drain(io_);  // it ended: the period had passed, so it starts again, once
  EXPECT_EQ(drain(pool_), 1U);
  drain(io_);
  EXPECT_EQ(drain(pool_), 0U) << "no backlog of the skipped periods";
  EXPECT_EQ(runs, 2);
  tick(999ms);
  EXPECT_EQ(drain(pool_), 0U) << "the period counts from the last start";
  tick(1ms);
  EXPECT_EQ(drain(pool_), 1U);
}

TEST_F(JanitorTest, APokeRunsAtOnceWithoutMovingThePeriod) {
  int runs = 0;
  const auto id = janitor_.add("hooks", 10s, Janitor::On::loop, [&] { ++runs; });
  janitor_.start();
  tick(4s);
  janitor_.poke(id);
  EXPECT_EQ(runs, 0) << "a poke is handled on the loop";
  drain(io_);
  EXPECT_EQ(runs, 1);
  tick(6s);
  EXPECT_EQ(runs, 2) << "the periodic run still comes at 10 s";
}

TEST_F(JanitorTest, APokeWithinADelayWaitsForIt) {
  int runs = 0;
  const auto id = janitor_.add("hooks", 60s, Janitor::On::loop, [&] { ++runs; });
  janitor_.start();
  janitor_.poke(id, 5s);
  drain(io_);
  janitor_.poke(id, 20s);  // the earlier request stands
  drain(io_);
  tick(4s);
  EXPECT_EQ(runs, 0);
  tick(1s);
  EXPECT_EQ(runs, 1);
  tick(20s);
  EXPECT_EQ(runs, 1) << "one run served both requests";
}

TEST_F(JanitorTest, PokesWhileRunningGiveOneMoreRunAfterIt) {
  int runs = 0;
  const auto id = janitor_.add("sync", std::nullopt, Janitor::On::pool, [&] { ++runs; });
  janitor_.start();
  tick(1h);
  EXPECT_EQ(drain(pool_), 0U) << "no period: only pokes run it";
  janitor_.poke(id);
  drain(io_);
  janitor_.poke(id);
  janitor_.poke(id);
  drain(io_);
  EXPECT_EQ(drain(pool_), 1U);
  drain(io_);
  EXPECT_EQ(drain(pool_), 1U) << "the pokes that came while it ran: one more run";
  drain(io_);
  EXPECT_EQ(drain(pool_), 0U);
  EXPECT_EQ(runs, 2);
}

TEST_F(JanitorTest, AFailingTaskRunsAgainAtItsNextPeriod) {
  int runs = 0;
  janitor_.add("purge", 1s, Janitor::On::pool, [&] {
    ++runs;
    throw std::runtime_error("database unreachable");
  });
  janitor_.start();
  tick(1s);
  drain(pool_);
  drain(io_);
  tick(1s);
  drain(pool_);
  EXPECT_EQ(runs, 2);
}

TEST_F(JanitorTest, StopStartsNothingMore) {
  int runs = 0;
  const auto id = janitor_.add("ping", 1s, Janitor::On::pool, [&] { ++runs; });
  janitor_.start();
  tick(1s);
  janitor_.stop();
  EXPECT_EQ(drain(pool_), 1U) << "a task already started finishes";
  drain(io_);
  tick(5s);
  janitor_.poke(id);
  drain(io_);
  EXPECT_EQ(drain(pool_), 0U);
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace mediax

// Drives the TimerWheel with one Boost.Asio timer on the io_context thread, which owns the
// wheel and the ready queue; refreshes run on fibers (fiber/fiber.hpp) on the carriers given to
// run_on(), at most max_concurrent at once — or, without carriers (tests), on a pool of
// max_concurrent worker threads.
// Keys due at once are refreshed earliest first with bounded concurrency.
//
// Time: the wheel is advanced to the TimeSource's wall clock, never to the timer's. The Asio
// timer only decides when to look again: it waits until the next due time as the TimeSource
// sees it, but never longer than the recheck period (30 s), after which it reads the TimeSource
// again and re-arms. So a wall-clock jump is noticed within a period, and a test that advances
// a ManualTimeSource makes the due keys fire by setting a short period and running the
// io_context by hand (run_one()/poll()); the timer never needs a clock of its own.
//
// Partitions (core/partitions.hpp): restricted to the partitions this instance owns, the wheel
// holds only their keys; schedule() of another partition's key is ignored (its owner schedules
// it), and a key whose partition was given up while it waited is not dispatched.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "core/partitions.hpp"
#include "fiber/carriers.hpp"
#include "util/time_source.hpp"
#include "obs/metrics.hpp"
#include "schedule/due_refresher.hpp"
#include "schedule/timer_wheel.hpp"
#include "store/records.hpp"

namespace mediax {

struct SchedulerStats {
  std::size_t scheduled = 0;  // entries in the wheel
  std::size_t ready = 0;      // due, waiting for a worker
  int running = 0;            // refreshes in flight
  std::optional<TimePoint> next_due;
};

class Scheduler {
 public:
  Scheduler(boost::asio::io_context& io, DueRefresher& refresher, const TimeSource& clock, int max_concurrent,
            metrics::Registry& metrics);
  ~Scheduler();

  // From now on only keys of these partitions are scheduled (outlives the scheduler; none: all).
  // Call before start().
  void restrict_to(const PartitionSet* owned) { owned_ = owned; }
  // Adds the entries (at start). Call before run(); not thread-safe against itself.
  void load(const std::vector<ScheduleEntry>& entries);
  // Thread-safe: adds the entries of partitions just taken over (on the io thread).
  void add(std::vector<ScheduleEntry> entries);
  // Thread-safe: forgets every key of these partitions (given up); blocks until done on the io
  // thread (at most 5 s) and returns how many entries went.
  std::size_t drop_partitions(const std::vector<int>& partitions);
  // Runs each refresh on a fiber of these carriers (outlive the scheduler's refreshes: stop()
  // them after stop()). Call before start().
  void run_on(fiber::Carriers& carriers) { carriers_ = &carriers; }
  // Arms the timer. Call once, on or before io_context::run.
  void start();
  // Stops taking new work; refreshes in flight finish on their fibers or workers. Blocks until
  // they end or grace (on the TimeSource) runs out.
  void stop(std::chrono::milliseconds grace);
  // The longest the timer waits before it reads the TimeSource again (header). Call before start().
  void set_recheck_period(std::chrono::milliseconds period) { recheck_period_ = period; }

  // Thread-safe: (re)schedules key at `at` (now or in the past: as soon as a worker is free).
  void schedule(const RefreshKey& key, TimePoint at);
  void cancel(const RefreshKey& key);
  // Thread-safe snapshot, taken on the io thread (blocks the caller briefly).
  SchedulerStats stats();

 private:
  void on_timer();
  void dispatch();
  void arm();
  static TimerWheel::Tick tick_of(TimePoint t);
  bool owns(std::uint64_t id) const { return owned_ == nullptr || owned_->owns(RefreshKey::unpack(id)); }

  boost::asio::io_context& io_;
  DueRefresher& refresher_;
  const TimeSource& clock_;
  const int max_concurrent_;
  metrics::Registry& metrics_;
  std::chrono::milliseconds recheck_period_{std::chrono::seconds(30)};
  const PartitionSet* owned_ = nullptr;
  boost::asio::steady_timer timer_;
  fiber::Carriers* carriers_ = nullptr;
  std::optional<boost::asio::thread_pool> pool_;  // without carriers only
  // Owned by the io thread:
  TimerWheel wheel_;
  std::deque<std::uint64_t> ready_;
  int running_ = 0;
  std::atomic<bool> stopping_{false};
  // Refreshes on the workers, counted off by the workers themselves: stop() waits for them
  // without the io thread (which may be stopped by then).
  std::mutex workers_mu_;
  std::condition_variable workers_done_;
  int on_workers_ = 0;
};

}  // namespace mediax

// The daemon's one periodic timer (Redis' serverCron with run_with_period, PgBouncer's janitor.c):
// every housekeeping task is registered here with its own period, and one steady_timer on the
// io_context is armed for the earliest task due. A task runs either on the io_context thread
// (quick work: the watchdog ping) or on the blocking pool (anything that reaches the database or
// the network), never on a thread of its own.
//
// A task that is still running when its period comes round again is skipped, not queued: it runs
// once more when it ends, and the period counts from that start. poke() asks for an extra run
// (a notification arrived, a refresh queued a webhook) without moving the periodic schedule.
//
// The time is read from the TimeSource; the timer only wakes the loop. Tests drive it by hand:
// advance a ManualTimeSource, call run_due(), and poll the io_context and the blocking executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/time_source.hpp"

namespace mediax {

class Janitor {
 public:
  using Task = std::function<void()>;
  using Duration = MonoClock::duration;
  enum class On { loop, pool };  // loop: the io_context thread; pool: the blocking executor
  using TaskId = std::size_t;

  // blocking: where pool tasks run (the daemon's joined thread pool).
  Janitor(boost::asio::io_context& io, boost::asio::any_io_executor blocking, const TimeSource& time);
  Janitor(const Janitor&) = delete;
  Janitor& operator=(const Janitor&) = delete;

  // Registers a task before start(). Its first periodic run is one period after start();
  // without a period it runs only when poked. An exception a task lets out is logged.
  TaskId add(std::string name, std::optional<Duration> period, On on, Task task);
  // Arms the timer. Call once, on or before io_context::run.
  void start();
  // Thread-safe: run the task within `within` (at once by default), besides its period. While it
  // runs, it runs again right after it ends (once, however many pokes came).
  void poke(TaskId id, Duration within = Duration::zero());
  // io_context thread: starts every task that is due and not running, then re-arms the timer.
  void run_due();
  // io_context thread: starts nothing more and cancels the timer. Pool tasks already started
  // finish on the pool (the owner joins it).
  void stop();

  bool running(TaskId id) const { return tasks_.at(id).running; }  // io_context thread

 private:
  struct Entry {
    std::string name;
    std::optional<Duration> period;
    On on = On::pool;
    Task task;
    MonoTime next_due = MonoTime::max();  // the next periodic run
    std::optional<MonoTime> poked;        // an extra run asked for by then
    bool running = false;
  };
  void launch(TaskId id);
  void finished(TaskId id);  // io_context thread
  void arm();

  boost::asio::io_context& io_;
  boost::asio::any_io_executor blocking_;
  const TimeSource& time_;
  boost::asio::steady_timer timer_;
  std::vector<Entry> tasks_;  // fixed after start(); owned by the io_context thread
  bool stopped_ = false;
};

}  // namespace mediax

// Waits that work both on a fiber (it parks; its carrier runs other fibers meanwhile) and on a
// plain thread (it blocks), so code shared by refresh fibers and the admin API's handler threads
// (the store's batches, the refresher's coalescing, the platform guards' slot waits) is written
// once. fiber.hpp says why a fiber must never block its carrier instead.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "fiber/fiber.hpp"
#include "util/time_source.hpp"
#include "util/waits.hpp"  // wait_until(Condition&, ...) serves this Condition too

namespace mediax::fiber {

// As std::condition_variable with a std::mutex: the waiter holds `lock` on entry and on return,
// and may wake spuriously (wait in a loop on the condition).
class Condition {
 public:
  void wait(std::unique_lock<std::mutex>& lock);
  // At most d of real time.
  void wait_for(std::unique_lock<std::mutex>& lock, std::chrono::steady_clock::duration d);
  // Thread-safe, with or without the waiters' mutex held.
  void notify_one();
  void notify_all();

 private:
  struct Parked;
  void park_on(std::unique_lock<std::mutex>& lock, const std::chrono::steady_clock::duration* limit);

  std::condition_variable threads_;  // waiters that are threads
  std::mutex mu_;                    // guards fibers_
  std::deque<std::shared_ptr<Parked>> fibers_;
};

// Sleeps until time.monotonic() reaches deadline: a fiber parks, a thread sleeps.
void sleep_until(const TimeSource& time, MonoTime deadline);
inline void sleep_for(const TimeSource& time, MonoClock::duration d) { fiber::sleep_until(time, time.monotonic() + d); }

// A mutex that may be held across a park (e.g. a key set fetched over HTTP under it): a fiber
// that finds it held parks instead of blocking the carrier its holder needs to go on.
class Mutex {
 public:
  void lock();
  bool try_lock();
  void unlock();

 private:
  std::mutex mu_;
  Condition freed_;
  bool held_ = false;
};

// A value set once and waited for by any number of fibers and threads (a refresh that callers
// for the same key join).
template <class T>
class SharedResult {
 public:
  void set(T value) {
    {
      std::lock_guard lk(mu_);
      value_ = std::move(value);
    }
    ready_.notify_all();
  }
  T get() {
    std::unique_lock lk(mu_);
    while (!value_) ready_.wait(lk);
    return *value_;
  }

 private:
  std::mutex mu_;
  Condition ready_;
  std::optional<T> value_;
};

}  // namespace mediax::fiber

// Blocking waits measured on a TimeSource, for threads that may block (refresh workers, shutdown).
//
// A wait sleeps (or waits on its condition variable) in slices of at most kWaitSlice of real time
// and looks at the TimeSource after each. With the real clock this is an ordinary wait with a few
// spare wakeups; with tests/support/manual_time_source.hpp a test that advances the clock ends the
// wait within one slice, so no test sleeps for the deadline itself. Envoy's SimulatedTimeSystem
// wakes its waiters on advance from a registry instead; the slice needs no registry and no
// TimeSource method beyond the clocks, and a worker that waits is idle anyway.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "util/time_source.hpp"

namespace mediax {

inline constexpr std::chrono::milliseconds kWaitSlice{10};

// Blocks until time.monotonic() reaches deadline.
inline void sleep_until(const TimeSource& time, MonoTime deadline) {
  for (auto now = time.monotonic(); now < deadline; now = time.monotonic()) {
    std::this_thread::sleep_for(std::min<MonoClock::duration>(deadline - now, kWaitSlice));
  }
}

inline void sleep_for(const TimeSource& time, MonoClock::duration d) { sleep_until(time, time.monotonic() + d); }

// Waits on cv (lock held, as std::condition_variable::wait_until) until done() holds or
// time.monotonic() reaches deadline. Returns done(). Condition: std::condition_variable, or any
// with its wait_for(lock, duration) (fiber::Condition, which parks a fiber instead of blocking).
template <class Condition, class Done>
bool wait_until(Condition& cv, std::unique_lock<std::mutex>& lock, const TimeSource& time, MonoTime deadline,
                Done done) {
  while (!done()) {
    const auto now = time.monotonic();
    if (now >= deadline) return false;
    cv.wait_for(lock, std::min<MonoClock::duration>(deadline - now, kWaitSlice));
  }
  return true;
}

}  // namespace mediax

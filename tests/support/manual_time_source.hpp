// A TimeSource the test moves by hand: both clocks stand still until advance(), which moves them
// together (set_system() moves the wall clock alone, as an NTP step would). Thread-safe, so a test
// may advance it while the code under test reads it from another thread.
#pragma once

#include <chrono>
#include <mutex>

#include "util/time_source.hpp"

namespace mediax {

class ManualTimeSource final : public TimeSource {
 public:
  explicit ManualTimeSource(TimePoint system_start = TimePoint{std::chrono::hours(24 * 20000)})
      : system_(system_start) {}

  TimePoint system() const override {
    std::lock_guard lock(mutex_);
    return system_;
  }
  MonoTime monotonic() const override {
    std::lock_guard lock(mutex_);
    return monotonic_;
  }

  // Moves both clocks forward by d.
  template <class Rep, class Period>
  void advance(std::chrono::duration<Rep, Period> d) {
    std::lock_guard lock(mutex_);
    system_ += std::chrono::duration_cast<TimePoint::duration>(d);
    monotonic_ += std::chrono::duration_cast<MonoTime::duration>(d);
  }
  // Sets the wall clock alone (a step of the system clock); monotonic time does not move.
  void set_system(TimePoint t) {
    std::lock_guard lock(mutex_);
    system_ = t;
  }

 private:
  mutable std::mutex mutex_;
  TimePoint system_;
  MonoTime monotonic_{std::chrono::hours(1)};
};

}  // namespace mediax

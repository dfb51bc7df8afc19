// Time as an interface (Envoy's TimeSource): wall-clock time for what is stored, shown or compared
// with a platform's dates, monotonic time for what waits or times out. Everything that reads the
// time takes a TimeSource, so tests drive it with tests/support/manual_time_source.hpp instead of
// sleeping.
#pragma once

#include <chrono>

#include "util/time_format.hpp"  // TimePoint

namespace mediax {

using MonoClock = std::chrono::steady_clock;
using MonoTime = MonoClock::time_point;

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  // Wall-clock time: token expiry, next refresh times, the platform's day. May jump.
  virtual TimePoint system() const = 0;
  // Never goes back: deadlines, timeouts, periods, idle times.
  virtual MonoTime monotonic() const = 0;
};

// The machine's clocks. Stateless: one instance can serve everyone (real_time()).
class RealTimeSource final : public TimeSource {
 public:
  TimePoint system() const override { return std::chrono::system_clock::now(); }
  MonoTime monotonic() const override { return MonoClock::now(); }
};

// The process-wide real time source, for code paths (CLI tools) that have no injected one.
inline const TimeSource& real_time() {
  static const RealTimeSource source;
  return source;
}

}  // namespace mediax

// Wall-clock time as an interface so the refresh logic can be tested with a fake clock.
#pragma once

#include "core/types.hpp"

namespace mediax {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return SysClock::now(); }
};

}  // namespace mediax

// The refresh policy unit tests compute expected times with: refresh when 20% of the lifetime is
// left (at least 60 s before expiry), no jitter, 3600 s assumed when a platform names no lifetime.
#pragma once

#include "schedule/refresh_policy.hpp"

namespace mediax {

inline RefreshPolicy fixed_refresh_policy() {
  RefreshConfig c;
  c.fraction = 0.2;
  c.min_margin_seconds = 60;
  c.jitter_seconds = 0;
  c.default_expires_in = 3600;
  return RefreshPolicy(c, 1);
}

}  // namespace mediax

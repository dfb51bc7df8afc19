// A per-app daily allowance of platform calls. Platforms with a small daily quota (WeChat's
// cgi-bin/token: about 2,000 calls a day; stable_token's forced calls: 20 a day, 30 s apart) ask
// it before each counted call; the daemon keeps the counts in the database so that every instance
// shares them, counted on the platform's own day (core/call_limit.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "core/call_limit.hpp"

namespace mediax {

class CallBudget {
 public:
  virtual ~CallBudget() = default;
  // Counts one call of `kind` for app `app_id` when `limit` allows it now; the verdict says why
  // not otherwise. May throw when the count cannot be kept (database unavailable): callers treat
  // that as "try again later".
  virtual CallSpend try_spend(std::int64_t app_id, const std::string& kind, const CallLimit& limit) = 0;
};

}  // namespace mediax

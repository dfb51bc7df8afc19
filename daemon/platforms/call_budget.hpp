// A per-app daily allowance of platform calls. Platforms with a small daily quota (WeChat's
// cgi-bin/token: about 2,000 calls a day) ask it before each counted call; the daemon keeps the
// counts in the database so that every instance shares them.
#pragma once

#include <cstdint>
#include <string>

namespace mediax {

class CallBudget {
 public:
  virtual ~CallBudget() = default;
  // True and counted when app `app_id` may make one more call of `kind` today (UTC day) within
  // `daily_limit`; false when the budget is spent. May throw when the count cannot be kept
  // (database unavailable): callers treat that as "try again later".
  virtual bool try_spend(std::int64_t app_id, const std::string& kind, int daily_limit) = 0;
};

}  // namespace mediax

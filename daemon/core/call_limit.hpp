// A daily allowance of platform calls with a small quota (WeChat: about 2,000 cgi-bin/token calls a
// day; 20 forced stable_token calls, at least 30 s apart), counted on the platform's own day. The
// store keeps the counts so that every instance shares them; the rule is here, pure.
#pragma once

#include <cstdint>
#include <optional>

#include "core/types.hpp"

namespace mediax {

struct CallLimit {
  int daily_limit = 0;
  // The platform's day starts at midnight at this UTC offset (WeChat: 8, Beijing time): the counts
  // restart when the platform's own quota does.
  int utc_offset_hours = 0;
  // The previous counted call of the kind, on whatever day, must be at least this old (0: no gap).
  Seconds min_gap{0};
};

struct CallSpend {
  enum class Verdict {
    counted,       // the call is counted: make it
    budget_spent,  // daily_limit calls were counted on this day
    too_soon,      // the previous counted call is less than min_gap ago
  };
  Verdict verdict = Verdict::counted;
  int count = 0;                     // calls counted on the day, this one included when counted
  std::optional<TimePoint> last_at;  // the previous counted call of the kind (any day), if any

  bool counted() const { return verdict == Verdict::counted; }
};

// The platform's day of `t`: whole days since 1970-01-01 at UTC+utc_offset_hours.
std::int64_t platform_day(TimePoint t, int utc_offset_hours);

// Whether one more call may be counted now, given the calls counted on the day and the previous
// counted call. A spent budget is reported before a short gap: it lasts longer.
CallSpend::Verdict spend_verdict(int counted_today, std::optional<TimePoint> last_at, const CallLimit& limit,
                                 TimePoint now);

}  // namespace mediax

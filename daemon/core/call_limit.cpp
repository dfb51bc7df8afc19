#include "core/call_limit.hpp"

namespace mediax {

std::int64_t platform_day(TimePoint t, int utc_offset_hours) {
  constexpr std::int64_t kDay = 24 * 3600;
  const std::int64_t local = to_unix(t) + static_cast<std::int64_t>(utc_offset_hours) * 3600;
  // Floor division: times before 1970 (and offsets west of UTC near it) stay on the right day.
  return local >= 0 ? local / kDay : -((-local + kDay - 1) / kDay);
}

CallSpend::Verdict spend_verdict(int counted_today, std::optional<TimePoint> last_at, const CallLimit& limit,
                                 TimePoint now) {
  if (limit.daily_limit <= 0 || counted_today >= limit.daily_limit) return CallSpend::Verdict::budget_spent;
  // A previous call stamped in the future (another instance's clock runs ahead) is treated as just made.
  if (limit.min_gap > Seconds(0) && last_at && now - *last_at < limit.min_gap) return CallSpend::Verdict::too_soon;
  return CallSpend::Verdict::counted;
}

}  // namespace mediax

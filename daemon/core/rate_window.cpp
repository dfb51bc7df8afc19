#include "core/rate_window.hpp"

#include <algorithm>

namespace mediax {

RateWindows::RateWindows(int limit, std::chrono::seconds window, std::size_t max_ids)
    : limit_(std::max(limit, 1)),
      window_(std::max(window, std::chrono::seconds(1))),
      max_ids_(std::max<std::size_t>(max_ids, 1)) {}

std::chrono::seconds RateWindows::wait(std::string_view id, MonoTime now) const {
  const auto it = ids_.find(std::string(id));
  if (it == ids_.end() || over(it->second, now) || it->second.events < limit_) return std::chrono::seconds(0);
  const auto left = it->second.start + window_ - now;
  // Rounded up: a Retry-After of 0 would invite the caller straight back.
  return std::chrono::ceil<std::chrono::seconds>(left);
}

bool RateWindows::count(std::string_view id, MonoTime now) {
  auto it = ids_.find(std::string(id));
  if (it == ids_.end()) {
    make_room(now);
    it = ids_.emplace(std::string(id), Window{now, 0}).first;
  } else if (over(it->second, now)) {
    it->second = Window{now, 0};
  }
  ++it->second.events;
  return it->second.events == limit_;
}

void RateWindows::make_room(MonoTime now) {
  if (ids_.size() < max_ids_) return;
  std::erase_if(ids_, [&](const auto& kv) { return over(kv.second, now); });
  if (ids_.size() < max_ids_) return;
  // Every remembered window is still running (a flood of distinct ids): forget the oldest one, so
  // a flood costs the ids it pushes out their count, never memory.
  const auto oldest = std::min_element(ids_.begin(), ids_.end(),
                                       [](const auto& a, const auto& b) { return a.second.start < b.second.start; });
  ids_.erase(oldest);
}

}  // namespace mediax

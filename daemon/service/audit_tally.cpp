#include "service/audit_tally.hpp"

#include <chrono>
#include <utility>

namespace mediax {

namespace {

std::int64_t minute_number(TimePoint t) {
  return std::chrono::floor<std::chrono::minutes>(t).time_since_epoch().count();
}

}  // namespace

TimePoint AuditTally::minute_of(TimePoint at) { return TimePoint(std::chrono::minutes(minute_number(at))); }

AuditTally::Key AuditTally::key_of(const AuditEntry& e, TimePoint minute) {
  return {minute_number(minute), e.who, e.what, e.app, e.grant, e.result, e.peer};
}

bool AuditTally::add(const AuditEntry& e, TimePoint at) {
  auto key = key_of(e, at);
  std::lock_guard lock(mu_);
  if (auto it = counts_.find(key); it != counts_.end()) {
    ++it->second;
    return true;
  }
  if (counts_.size() >= max_entries_) {
    ++dropped_;
    return false;
  }
  counts_.emplace(std::move(key), 1);
  return true;
}

std::vector<AuditEntry> AuditTally::take(TimePoint now, bool everything) {
  const std::int64_t current = minute_number(now);
  std::vector<AuditEntry> out;
  std::lock_guard lock(mu_);
  auto it = counts_.begin();
  for (; it != counts_.end() && (everything || std::get<0>(it->first) < current); ++it) {
    const auto& [minute, who, what, app, grant, result, peer] = it->first;
    AuditEntry e;
    e.at = TimePoint(std::chrono::minutes(minute));
    e.who = who;
    e.what = what;
    e.app = app;
    e.grant = grant;
    e.result = result;
    e.peer = peer;
    e.count = it->second;
    out.push_back(std::move(e));
  }
  counts_.erase(counts_.begin(), it);
  return out;
}

void AuditTally::give_back(const std::vector<AuditEntry>& rows) {
  std::lock_guard lock(mu_);
  for (const auto& e : rows) counts_[key_of(e, e.at.value_or(TimePoint{}))] += e.count;
  trim_locked();
}

void AuditTally::trim_locked() {
  while (counts_.size() > max_entries_) {
    dropped_ += static_cast<std::uint64_t>(counts_.begin()->second);
    counts_.erase(counts_.begin());
  }
}

std::size_t AuditTally::size() const {
  std::lock_guard lock(mu_);
  return counts_.size();
}

std::uint64_t AuditTally::take_dropped() {
  std::lock_guard lock(mu_);
  return std::exchange(dropped_, 0);
}

}  // namespace mediax

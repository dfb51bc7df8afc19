// An in-memory RefreshStore: one row per key with its job (app, grant, current token), next
// refresh time and lease, answering as PgStore does (a lease held by another owner until later,
// a row not due by due_by, a stored token other than the refused one: no job). Tests put rows with
// put(), hold a lease with lease(), read what the refresher stored with row(), and may make every
// call throw StoreError (set_down).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/interfaces.hpp"

namespace mediax {

class FakeRefreshStore : public RefreshStore {
 public:
  struct Row {
    RefreshJob job;
    GrantStatus status = GrantStatus::active;
    std::optional<TimePoint> next_refresh_at;
    std::string lease_owner;
    TimePoint lease_until{};
    std::vector<RefreshSuccess> completed;  // every complete_refresh, oldest first
    std::vector<RefreshFailure> failed;     // every fail_refresh, oldest first
  };

  void put(const RefreshJob& job, std::optional<TimePoint> next_refresh_at) {
    std::lock_guard lock(mutex_);
    Row r;
    r.job = job;
    r.next_refresh_at = next_refresh_at;
    rows_[job.key.pack()] = r;
  }
  // Another owner holds the lease on key until `until`.
  void lease(const RefreshKey& key, const std::string& owner, TimePoint until) {
    std::lock_guard lock(mutex_);
    auto& r = rows_.at(key.pack());
    r.lease_owner = owner;
    r.lease_until = until;
  }
  Row row(const RefreshKey& key) const {
    std::lock_guard lock(mutex_);
    return rows_.at(key.pack());
  }
  void set_down(bool down) {
    std::lock_guard lock(mutex_);
    down_ = down;
  }

  std::vector<ScheduleEntry> load_schedule() override {
    std::lock_guard lock(mutex_);
    check();
    std::vector<ScheduleEntry> out;
    for (const auto& [k, r] : rows_) {
      if (r.status == GrantStatus::active && r.next_refresh_at) out.push_back({r.job.key, *r.next_refresh_at});
    }
    return out;
  }
  void set_next_refresh(const RefreshKey& key, TimePoint at) override {
    std::lock_guard lock(mutex_);
    check();
    rows_.at(key.pack()).next_refresh_at = at;
  }
  std::optional<RefreshJob> acquire_lease(const RefreshKey& key, const std::string& owner, TimePoint now,
                                          TimePoint lease_until, std::optional<TimePoint> due_by,
                                          const std::optional<std::string>& rejected_token) override {
    std::lock_guard lock(mutex_);
    check();
    auto it = rows_.find(key.pack());
    if (it == rows_.end()) return std::nullopt;
    Row& r = it->second;
    if (r.status != GrantStatus::active) return std::nullopt;
    if (!r.lease_owner.empty() && r.lease_owner != owner && r.lease_until > now) return std::nullopt;
    if (due_by && (!r.next_refresh_at || *r.next_refresh_at > *due_by)) return std::nullopt;
    if (rejected_token && r.job.current && r.job.current->access_token != *rejected_token) return std::nullopt;
    r.lease_owner = owner;
    r.lease_until = lease_until;
    return r.job;
  }
  void complete_refresh(const RefreshKey& key, const std::string& owner, const RefreshSuccess& s) override {
    std::lock_guard lock(mutex_);
    check();
    Row& r = held_by(key, owner);
    r.completed.push_back(s);
    r.job.current = s.token;
    if (s.new_refresh_token && r.job.grant) r.job.grant->refresh_token = *s.new_refresh_token;
    r.job.interrupted = false;
    r.next_refresh_at = s.next_refresh_at;
    r.lease_owner.clear();
  }
  void fail_refresh(const RefreshKey& key, const std::string& owner, const RefreshFailure& f) override {
    std::lock_guard lock(mutex_);
    check();
    Row& r = held_by(key, owner);
    r.failed.push_back(f);
    if (r.job.grant) ++r.job.grant->failure_count;
    if (!r.job.grant) ++r.job.app.failure_count;
    if (f.new_status) r.status = *f.new_status;
    r.next_refresh_at = f.next_refresh_at;
    r.lease_owner.clear();
  }
  void release_leases(const std::string& owner) override {
    std::lock_guard lock(mutex_);
    check();
    for (auto& [k, r] : rows_) {
      if (r.lease_owner == owner) r.lease_owner.clear();
    }
  }
  bool flag_renew_not_permitted(std::int64_t app_id, TimePoint at) override {
    std::lock_guard lock(mutex_);
    check();
    bool first = false;
    for (auto& [k, r] : rows_) {
      if (r.job.app.id != app_id || r.job.app.renew_not_permitted_at) continue;
      r.job.app.renew_not_permitted_at = at;
      first = true;
    }
    return first;
  }

 private:
  void check() const {
    if (down_) throw StoreError("database unavailable (FakeRefreshStore)");
  }
  Row& held_by(const RefreshKey& key, const std::string& owner) {
    Row& r = rows_.at(key.pack());
    if (r.lease_owner != owner) throw StoreError("lease not held by " + owner + " (FakeRefreshStore)");
    return r;
  }

  mutable std::mutex mutex_;
  std::map<std::uint64_t, Row> rows_;
  bool down_ = false;
};

}  // namespace mediax

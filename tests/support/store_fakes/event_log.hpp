// An in-memory EventLog: events kept in order, ids from 1, listed newest first as PgStore does.
#pragma once

#include <algorithm>
#include <mutex>
#include <optional>
#include <vector>

#include "store/interfaces.hpp"

namespace mediax {

class FakeEventLog : public EventLog {
 public:
  void add_event(const Event& e) override {
    std::lock_guard lock(mutex_);
    Event copy = e;
    copy.id = static_cast<std::int64_t>(events_.size()) + 1;
    events_.push_back(std::move(copy));
  }
  std::vector<Event> list_events(std::optional<std::int64_t> app_id, std::optional<std::int64_t> grant_id,
                                 int limit) override {
    std::lock_guard lock(mutex_);
    std::vector<Event> out;
    for (auto it = events_.rbegin(); it != events_.rend() && static_cast<int>(out.size()) < limit; ++it) {
      if (app_id && it->app_id != app_id) continue;
      if (grant_id && it->grant_id != grant_id) continue;
      out.push_back(*it);
    }
    return out;
  }
  // Every event of `kind`, oldest first.
  std::vector<Event> of_kind(const std::string& kind) const {
    std::lock_guard lock(mutex_);
    std::vector<Event> out;
    std::copy_if(events_.begin(), events_.end(), std::back_inserter(out),
                 [&](const Event& e) { return e.kind == kind; });
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Event> events_;
};

}  // namespace mediax

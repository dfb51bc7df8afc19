// An in-memory TokenFeed: the stored tokens and schedule states another instance would have
// written, with the wall-clock time each changed, read back as PgStore answers (changed at or after
// `since`). Tests put rows with put_token / put_schedule and may make a read throw StoreError.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "store/interfaces.hpp"

namespace mediax {

class FakeTokenFeed : public TokenFeed {
 public:
  // Stores (or replaces) the token of its key, as changed at `at`.
  void put_token(const Token& t, TimePoint at) {
    std::lock_guard lock(mutex_);
    tokens_[key_of(t)] = {t, at};
  }
  void erase_token(const RefreshKey& key) {
    std::lock_guard lock(mutex_);
    tokens_.erase(pack(key));
  }
  // Sets (or replaces) the schedule state of c.key, as changed at `at`.
  void put_schedule(const ScheduleChange& c, TimePoint at) {
    std::lock_guard lock(mutex_);
    schedules_[pack(c.key)] = {c, at};
  }
  void erase_schedule(const RefreshKey& key) {
    std::lock_guard lock(mutex_);
    schedules_.erase(pack(key));
  }
  // While set, every read throws StoreError (the database is down).
  void set_down(bool down) {
    std::lock_guard lock(mutex_);
    down_ = down;
  }
  int reads() const {
    std::lock_guard lock(mutex_);
    return reads_;
  }

  std::optional<Token> get_token(const RefreshKey& key) override {
    std::lock_guard lock(mutex_);
    read();
    auto it = tokens_.find(pack(key));
    if (it == tokens_.end()) return std::nullopt;
    return it->second.first;
  }
  std::vector<Token> all_tokens() override {
    std::lock_guard lock(mutex_);
    read();
    std::vector<Token> out;
    for (const auto& [k, v] : tokens_) out.push_back(v.first);
    return out;
  }
  std::vector<ScheduleChange> schedule_changes_since(TimePoint since) override {
    std::lock_guard lock(mutex_);
    read();
    std::vector<ScheduleChange> out;
    for (const auto& [k, v] : schedules_)
      if (v.second >= since) out.push_back(v.first);
    return out;
  }
  std::vector<Token> tokens_refreshed_since(TimePoint since) override {
    std::lock_guard lock(mutex_);
    read();
    std::vector<Token> out;
    for (const auto& [k, v] : tokens_)
      if (v.second >= since) out.push_back(v.first);
    return out;
  }
  std::optional<ScheduleChange> schedule_of(const RefreshKey& key) override {
    std::lock_guard lock(mutex_);
    read();
    auto it = schedules_.find(pack(key));
    if (it == schedules_.end()) return std::nullopt;
    return it->second.first;
  }

 private:
  static std::uint64_t pack(const RefreshKey& k) { return k.pack(); }
  static std::uint64_t key_of(const Token& t) { return RefreshKey{t.app_id, t.grant_id.value_or(0)}.pack(); }
  void read() {
    ++reads_;
    if (down_) throw StoreError("database unavailable (FakeTokenFeed)");
  }

  mutable std::mutex mutex_;
  std::map<std::uint64_t, std::pair<Token, TimePoint>> tokens_;
  std::map<std::uint64_t, std::pair<ScheduleChange, TimePoint>> schedules_;
  bool down_ = false;
  int reads_ = 0;
};

}  // namespace mediax

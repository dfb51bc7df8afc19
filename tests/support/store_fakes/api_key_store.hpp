// An in-memory ApiKeyStore: keys listed by name as PgStore lists them, names unique even after
// revocation, every touch_api_keys call recorded. set_down makes every call throw StoreError.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/interfaces.hpp"

namespace mediax {

class FakeApiKeyStore : public ApiKeyStore {
 public:
  struct Touch {
    std::vector<std::string> names;
    TimePoint at;
  };

  ApiKeyRecord create_api_key(const std::string& name, const std::string& role, const std::string& hash_hex,
                              const std::vector<std::string>& apps = {}) override {
    std::lock_guard lock(mutex_);
    check_up();
    for (const auto& k : keys_) {
      if (k.name == name || k.hash_hex == hash_hex) throw DuplicateError("api key name taken (FakeApiKeyStore)");
    }
    // As the table's CHECK (migrations/0013_api_key_apps.sql): admin keys are never scoped.
    if (!apps.empty() && role != "reader") throw StoreError("only reader keys take apps (FakeApiKeyStore)");
    ApiKeyRecord r;
    r.id = static_cast<std::int64_t>(keys_.size()) + 1;
    r.name = name;
    r.role = role;
    r.hash_hex = hash_hex;
    r.apps = apps;
    keys_.push_back(r);
    std::sort(keys_.begin(), keys_.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return r;
  }
  std::vector<ApiKeyRecord> list_api_keys() override {
    std::unique_lock lock(mutex_);
    check_up();
    ++lists_;
    auto read = keys_;
    if (hold_) {  // the keys are read; the answer waits for hold_lists(false)
      held_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return !hold_; });
      held_ = false;
    }
    return read;
  }
  // While on, list_api_keys reads the keys and then waits before answering (a reload under way).
  void hold_lists(bool on) {
    {
      std::lock_guard lock(mutex_);
      hold_ = on;
    }
    changed_.notify_all();
  }
  // Blocks until a list_api_keys call is held.
  void until_list_held() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return held_; });
  }
  bool revoke_api_key(const std::string& name, TimePoint at) override {
    std::lock_guard lock(mutex_);
    check_up();
    for (auto& k : keys_) {
      if (k.name == name && !k.revoked_at) {
        k.revoked_at = at;
        return true;
      }
    }
    return false;
  }
  void touch_api_keys(const std::vector<std::string>& names, TimePoint at) override {
    std::lock_guard lock(mutex_);
    check_up();
    touches_.push_back(Touch{names, at});
    for (auto& k : keys_) {
      if (std::find(names.begin(), names.end(), k.name) != names.end()) k.last_used_at = at;
    }
  }

  void set_down(bool down) {
    std::lock_guard lock(mutex_);
    down_ = down;
  }
  int lists() const {  // list_api_keys calls that answered
    std::lock_guard lock(mutex_);
    return lists_;
  }
  std::vector<Touch> touches() const {
    std::lock_guard lock(mutex_);
    return touches_;
  }

 private:
  void check_up() const {
    if (down_) throw StoreError("database unavailable (FakeApiKeyStore)");
  }

  mutable std::mutex mutex_;
  std::vector<ApiKeyRecord> keys_;
  std::vector<Touch> touches_;
  bool down_ = false;
  int lists_ = 0;
  std::condition_variable changed_;  // hold_ or held_ changed
  bool hold_ = false;
  bool held_ = false;
};

}  // namespace mediax

// Admin API keys: generation, hashing, and the in-memory registry the HTTP layer checks every
// request against. A key is "mxk_" + base64url(32 random bytes); the database keeps only its
// SHA-256 (hex), see migrations/0003_api_keys.sql.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "util/time_source.hpp"
#include "store/interfaces.hpp"

namespace mediax {

inline constexpr const char* kApiKeyPrefix = "mxk_";

// A new random key (shown once, never stored).
std::string generate_api_key();
// Hex SHA-256 of the whole key, as stored in mediax.api_keys.hash.
std::string hash_api_key(const std::string& key);
// "" when valid, else why not. Names: [a-z0-9][a-z0-9_.-]{0,62}; roles: admin, reader.
std::string check_api_key_name(const std::string& name);
std::string check_api_key_role(const std::string& role);

enum class ApiRole { admin, reader };

struct ApiKeyMatch {
  enum class Kind { ok, unknown, revoked } kind = Kind::unknown;
  std::string name;  // the key's name when known (also for a revoked key)
  ApiRole role = ApiRole::reader;
  std::vector<std::string> apps;  // a reader key's scope (service/api_key_scope.hpp); empty: every app
};

// The keys in memory (hash -> name, role, revoked). The daemon's janitor calls refresh() every
// few seconds (runtime/daemon.cpp), so a revoked key stops working within that period; a key
// that is not in memory makes check() wait for a reload under way, then reload at once, misses
// at most every `miss_reload_min` (so a key created a moment ago works at once, and floods of
// wrong keys do not flood the database). The
// names of the keys used are written (last_used_at) in one batch at the next reload. If the
// store is unreachable the last loaded keys stay in force. Thread-safe.
class ApiKeyRegistry {
 public:
  ApiKeyRegistry(ApiKeyStore& store, const TimeSource& clock,
                 std::chrono::milliseconds miss_reload_min = std::chrono::milliseconds(500));

  // Loads the keys now; throws StoreError when the store fails.
  void load();
  // The periodic reload: as load(), but a failure is logged and the keys loaded before stay.
  void refresh();
  // Checks a presented key. Every stored hash is compared with crypto::constant_time_equals
  // (no early exit), so the time taken does not depend on which key, if any, matched.
  ApiKeyMatch check(const std::string& presented_key);
  // The same answer as check() when it needs no store round trip; std::nullopt when check() would
  // reload the keys first (the key is unknown and a reload may bring it). For callers that must
  // not block (the event-driven token listener, http/token_listener.hpp).
  std::optional<ApiKeyMatch> check_if_loaded(const std::string& presented_key);
  std::size_t size() const;

 private:
  struct Entry {
    std::string hash_hex;
    std::string name;
    ApiRole role;
    bool revoked;
    std::vector<std::string> apps;
  };
  std::optional<ApiKeyMatch> find_locked(const std::string& hash_hex) const;
  // Whether check() must reload the keys before answering a key it did not find (mu_ held).
  bool miss_reload_due_locked() const;
  // Reads the store without holding mu_ (other requests keep using the old keys meanwhile).
  void reload();

  ApiKeyStore& store_;
  const TimeSource& clock_;
  const std::chrono::milliseconds miss_reload_min_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
  std::set<std::string> used_since_flush_;  // names, for last_used_at
  std::optional<MonoTime> miss_reloaded_at_;  // the last reload an unknown key made
  bool reloading_ = false;
  std::condition_variable reloaded_;  // reloading_ went false
  bool refresh_failing_ = false;  // logged once per outage
};

}  // namespace mediax

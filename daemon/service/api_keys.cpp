#include "service/api_keys.hpp"

#include <spdlog/spdlog.h>

#include "crypto/crypto.hpp"

namespace mediax {

std::string generate_api_key() { return kApiKeyPrefix + crypto::random_token(32); }

std::string hash_api_key(const std::string& key) { return crypto::to_hex(crypto::sha256(key)); }

std::string check_api_key_name(const std::string& name) {
  auto ok_first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || name.size() > 63 || !ok_first(name[0])) {
    return "the name must match [a-z0-9][a-z0-9_.-]{0,62}";
  }
  for (char c : name) {
    if (!ok_first(c) && c != '_' && c != '.' && c != '-') return "the name must match [a-z0-9][a-z0-9_.-]{0,62}";
  }
  return "";
}

std::string check_api_key_role(const std::string& role) {
  if (role == "admin" || role == "reader") return "";
  return "the role must be admin or reader";
}

ApiKeyRegistry::ApiKeyRegistry(ApiKeyStore& store, const TimeSource& clock, std::chrono::milliseconds miss_reload_min)
    : store_(store), clock_(clock), miss_reload_min_(miss_reload_min) {}

void ApiKeyRegistry::load() {
  {
    std::lock_guard lk(mu_);
    reloading_ = true;
  }
  reload();
}

void ApiKeyRegistry::refresh() {
  {
    std::lock_guard lk(mu_);
    if (reloading_) return;  // a check() is reading them right now
    reloading_ = true;
  }
  try {
    reload();
    if (refresh_failing_) spdlog::info("api keys: reloaded again");
    refresh_failing_ = false;
  } catch (const std::exception& e) {
    if (!refresh_failing_) spdlog::warn("api keys: reload failed, keeping the keys loaded before: {}", e.what());
    refresh_failing_ = true;
  }
}

void ApiKeyRegistry::reload() {
  // Precondition: reloading_ was set by this thread under mu_.
  std::vector<std::string> used;
  {
    std::lock_guard lk(mu_);
    used.assign(used_since_flush_.begin(), used_since_flush_.end());
    used_since_flush_.clear();
  }
  std::vector<Entry> fresh;
  try {
    if (!used.empty()) store_.touch_api_keys(used, clock_.system());
    for (const auto& r : store_.list_api_keys()) {
      const ApiRole role = r.role == "admin" ? ApiRole::admin : ApiRole::reader;
      // An admin key is never scoped (the table's CHECK says so too): a scope on one would be ignored.
      fresh.push_back(Entry{r.hash_hex, r.name, role, r.revoked_at.has_value(),
                            role == ApiRole::admin ? std::vector<std::string>{} : r.apps});
    }
  } catch (...) {
    {
      std::lock_guard lk(mu_);
      used_since_flush_.insert(used.begin(), used.end());  // written at the next reload that reaches the store
      reloading_ = false;
    }
    reloaded_.notify_all();
    throw;
  }
  {
    std::lock_guard lk(mu_);
    entries_ = std::move(fresh);
    reloading_ = false;
  }
  reloaded_.notify_all();
}

std::optional<ApiKeyMatch> ApiKeyRegistry::find_locked(const std::string& hash_hex) const {
  // Compare against every entry without stopping at a match.
  const Entry* found = nullptr;
  for (const auto& e : entries_) {
    if (crypto::constant_time_equals(e.hash_hex, hash_hex)) found = &e;
  }
  if (found == nullptr) return std::nullopt;
  ApiKeyMatch m;
  m.kind = found->revoked ? ApiKeyMatch::Kind::revoked : ApiKeyMatch::Kind::ok;
  m.name = found->name;
  m.role = found->role;
  m.apps = found->apps;
  return m;
}

bool ApiKeyRegistry::miss_reload_due_locked() const {
  // An unknown key may have just been created, but misses never reload more often than
  // miss_reload_min_. Measured from the last reload a miss made, not from the periodic ones:
  // a key created just after one of those must still work at once.
  return !reloading_ && (!miss_reloaded_at_ || clock_.monotonic() - *miss_reloaded_at_ >= miss_reload_min_);
}

ApiKeyMatch ApiKeyRegistry::check(const std::string& presented_key) {
  const std::string hash = hash_api_key(presented_key);
  bool must_reload = false;
  std::optional<ApiKeyMatch> m;
  {
    std::unique_lock lk(mu_);
    m = find_locked(hash);
    if (!m && reloading_) {
      // The reload under way may have read the keys before this one was created: its result
      // first (one short query), then a reload of this miss's own if still unknown.
      reloaded_.wait(lk, [this] { return !reloading_; });
      m = find_locked(hash);
    }
    if (!m && miss_reload_due_locked()) {
      reloading_ = true;
      miss_reloaded_at_ = clock_.monotonic();
      must_reload = true;
    }
    if (m && m->kind == ApiKeyMatch::Kind::ok) used_since_flush_.insert(m->name);
  }
  if (must_reload) {
    try {
      reload();
    } catch (const std::exception& e) {
      spdlog::warn("api keys: reload failed, keeping the keys loaded before: {}", e.what());
    }
    std::lock_guard lk(mu_);
    m = find_locked(hash);
  }
  return m.value_or(ApiKeyMatch{});
}

std::optional<ApiKeyMatch> ApiKeyRegistry::check_if_loaded(const std::string& presented_key) {
  const std::string hash = hash_api_key(presented_key);
  std::lock_guard lk(mu_);
  auto m = find_locked(hash);
  if (!m && (reloading_ || miss_reload_due_locked())) return std::nullopt;
  if (m && m->kind == ApiKeyMatch::Kind::ok) used_since_flush_.insert(m->name);
  return m.value_or(ApiKeyMatch{});
}

std::size_t ApiKeyRegistry::size() const {
  std::lock_guard lk(mu_);
  return entries_.size();
}

}  // namespace mediax

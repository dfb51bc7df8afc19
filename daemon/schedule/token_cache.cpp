#include "schedule/token_cache.hpp"

#include <mutex>

namespace mediax {

RefreshKey TokenCache::key_of(const Token& t) { return RefreshKey{t.app_id, t.grant_id.value_or(0)}; }

void TokenCache::put(const Token& t) {
  const auto key = key_of(t);
  if (!kept(key)) return;
  std::unique_lock lk(mu_);
  tokens_[key.pack()] = t;
}

bool TokenCache::put_if_newer(const Token& t) {
  const auto key = key_of(t);
  if (!kept(key)) return false;
  std::unique_lock lk(mu_);
  auto [it, inserted] = tokens_.try_emplace(key.pack(), t);
  if (inserted) return true;
  if (it->second.refreshed_at > t.refreshed_at) return false;
  it->second = t;
  return true;
}

void TokenCache::put_all(std::vector<Token>&& tokens) {
  std::unique_lock lk(mu_);
  for (auto& t : tokens) {
    const auto key = key_of(t);
    if (kept(key)) tokens_.insert_or_assign(key.pack(), std::move(t));
  }
}

void TokenCache::put_all_if_newer(std::vector<Token>&& tokens) {
  std::unique_lock lk(mu_);
  for (auto& t : tokens) {
    const auto key = key_of(t);
    if (!kept(key)) continue;
    auto [it, inserted] = tokens_.try_emplace(key.pack());
    if (inserted || it->second.refreshed_at <= t.refreshed_at) it->second = std::move(t);
  }
}

void TokenCache::erase(const RefreshKey& key) {
  std::unique_lock lk(mu_);
  tokens_.erase(key.pack());
}

void TokenCache::erase_app(std::int64_t app_id) {
  std::unique_lock lk(mu_);
  std::erase_if(tokens_, [app_id](const auto& kv) { return kv.second.app_id == app_id; });
}

std::size_t TokenCache::erase_partitions(const std::vector<int>& partitions) {
  const PartitionSet gone(partitions);
  std::unique_lock lk(mu_);
  return std::erase_if(tokens_, [&](const auto& kv) { return gone.owns(RefreshKey::unpack(kv.first)); });
}

std::optional<Token> TokenCache::get(const RefreshKey& key) const {
  std::shared_lock lk(mu_);
  auto it = tokens_.find(key.pack());
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

void TokenCache::replace_all(const std::vector<Token>& tokens) {
  std::unordered_map<std::uint64_t, Token> fresh;
  fresh.reserve(tokens.size());
  for (const auto& t : tokens) {
    if (const auto key = key_of(t); kept(key)) fresh[key.pack()] = t;
  }
  std::unique_lock lk(mu_);
  tokens_.swap(fresh);
}

std::optional<TimePoint> TokenCache::earliest_expiry() const {
  std::shared_lock lk(mu_);
  std::optional<TimePoint> earliest;
  for (const auto& [key, t] : tokens_) {
    if (!earliest || t.expires_at < *earliest) earliest = t.expires_at;
  }
  return earliest;
}

std::size_t TokenCache::size() const {
  std::shared_lock lk(mu_);
  return tokens_.size();
}

}  // namespace mediax

#include "schedule/token_cache.hpp"

#include <mutex>

#include "schedule/partition_tokens.hpp"

namespace mediax {

TokenCache::TokenCache() = default;
TokenCache::~TokenCache() = default;

RefreshKey TokenCache::key_of(const Token& t) { return RefreshKey{t.app_id, t.grant_id.value_or(0)}; }

PartitionTokens& TokenCache::tokens_of(Shelf& s) {
  if (!s.tokens) s.tokens = std::make_unique<PartitionTokens>();
  return *s.tokens;
}

void TokenCache::put(const Token& t) {
  const auto key = key_of(t);
  if (!kept(key)) return;
  Shelf& s = shelf_of(key);
  std::unique_lock lk(s.mu);
  tokens_of(s).put(key.pack(), t);
}

bool TokenCache::put_if_newer(const Token& t) {
  const auto key = key_of(t);
  if (!kept(key)) return false;
  Shelf& s = shelf_of(key);
  std::unique_lock lk(s.mu);
  return tokens_of(s).put_if_newer(key.pack(), t);
}

void TokenCache::erase(const RefreshKey& key) {
  Shelf& s = shelf_of(key);
  std::unique_lock lk(s.mu);
  if (s.tokens) s.tokens->erase(key.pack());
}

void TokenCache::erase_app(std::int64_t app_id) {
  for (auto& s : shelves_) {
    std::unique_lock lk(s.mu);
    if (s.tokens) s.tokens->erase_app(app_id);
  }
}

std::size_t TokenCache::erase_partitions(const std::vector<int>& partitions) {
  std::size_t n = 0;
  for (int p : partitions) {
    if (p < 0 || p >= kPartitionCount) continue;
    std::unique_ptr<PartitionTokens> gone;
    {
      Shelf& s = shelves_[static_cast<std::size_t>(p)];
      std::unique_lock lk(s.mu);
      gone.swap(s.tokens);
    }
    if (gone) n += gone->size();  // unmapped here, outside the lock
  }
  return n;
}

std::optional<Token> TokenCache::get(const RefreshKey& key) const {
  const Shelf& s = shelf_of(key);
  std::shared_lock lk(s.mu);
  if (!s.tokens) return std::nullopt;
  return s.tokens->get(key.pack());
}

std::optional<TimePoint> TokenCache::earliest_expiry() const {
  std::optional<TimePoint> earliest;
  for (const auto& s : shelves_) {
    std::shared_lock lk(s.mu);
    if (!s.tokens) continue;
    const auto e = s.tokens->earliest_expiry();
    if (e && (!earliest || *e < *earliest)) earliest = e;
  }
  return earliest;
}

std::optional<std::int64_t> TokenCache::app_id(const RefreshKey& key) const {
  const Shelf& s = shelf_of(key);
  std::shared_lock lk(s.mu);
  if (!s.tokens) return std::nullopt;
  return s.tokens->app_id(key.pack());
}

template <class F>
std::size_t TokenCache::sum(F of) const {
  std::size_t n = 0;
  for (const auto& s : shelves_) {
    std::shared_lock lk(s.mu);
    if (s.tokens) n += of(*s.tokens);
  }
  return n;
}

std::size_t TokenCache::size() const {
  return sum([](const PartitionTokens& t) { return t.size(); });
}

std::size_t TokenCache::mapped_bytes() const {
  return sum([](const PartitionTokens& t) { return t.mapped_bytes(); });
}

}  // namespace mediax
